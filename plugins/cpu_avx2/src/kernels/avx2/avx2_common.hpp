// Small AVX2/FMA/F16C helpers shared by the avx2 kernel files. Include only from translation units compiled with
// -mavx2 -mfma -mf16c. Everything here is `static inline` (internal linkage), so no AVX2 code can be merged into
// the portable translation units by the linker.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace aprhost::cpu::avx2 {

// f16 bits → f32 (F16C).
static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// Sum of the 8 lanes of x (fixed order).
static inline float hsum_f32x8(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// Sum of the 4 lanes of x (fixed order).
static inline float hsum_f32x4(__m128 r) {
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// 16 bytes of packed nibbles → 32 bytes: low nibbles in bytes 0..15, high nibbles in bytes 16..31.
static inline __m256i bytes_from_nibbles_32(const uint8_t* p) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

// 32 bits (little-endian at p) → 32 bytes, byte i = 0xFF if bit i is set, else 0.
static inline __m256i bytes_from_bits_32(const uint8_t* p) {
    uint32_t x32;
    std::memcpy(&x32, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x32)), shuf);
    b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1));
}

// Pairwise int16 sums of unsigned(ux) · signed(sy) bytes, widened to 8 × int32.
static inline __m256i dot_u8i8_i32(__m256i ux, __m256i sy) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ux, sy), _mm256_set1_epi16(1));
}

// 8 × int32 of Σ x·y for signed bytes x, y (sign trick: |x| · (y with x's sign)).
static inline __m256i dot_i8i8_i32(__m256i x, __m256i y) {
    return dot_u8i8_i32(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

static inline __m256i loadu256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 8 f16 → 8 f32.
static inline __m256 load_f16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// 8 bf16 → 8 f32 (bf16 is the upper half of an f32).
static inline __m256 load_bf16x8(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

}  // namespace aprhost::cpu::avx2
