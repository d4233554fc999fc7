// The cpu backend suite's error thresholds, all in one table. Metric: NMSE = Σ(out − ref)² / Σ ref² against the
// SDK reference (aprhost::ref, double accumulation). "exact" = bitwise equality.
//
//   op / case                                               threshold   why
//   MUL_MAT, F32/F16/BF16 weights                            1e-10      f32 accumulation only
//   MUL_MAT, quantized weights, vs ref with f32 activations  5e-4       activations are quantized to 8 bits
//                                                                       (≈ 3e-5 expected), as in ggml;
//                                                                       only with ≥ 16 outputs (fewer make
//                                                                       the ratio heavy-tailed)
//   MUL_MAT, quantized weights, vs ref fed the same 8-bit    1e-10      integer dot must be exact; only f32
//     activations the kernel uses (emulated in the test)                 scale products/sums round
//   GET_ROWS, COPY, KV_STORE                                 exact      pure conversions (RNE both sides)
//   RMS_NORM, ADD, SCALE, ROPE                               1e-10      f32 arithmetic
//   SWIGLU, GEGLU                                            1e-9       vectorised exp (rel. err ≈ 1e-7)
//   ATTENTION, f32 or f16 cache                              1e-9       f32 dots/softmax vs double
//   batch vs single column / query, thread counts 1/2/3      exact      the KV-cache parity invariant
#pragma once

#include <aprhost/abi.h>

namespace cputest {

inline constexpr double kTolFloatMatmul = 1e-10;
inline constexpr double kTolQuantMatmul = 5e-4;
inline constexpr double kTolQuantMatmulEmulated = 1e-10;
inline constexpr double kTolElementwise = 1e-10;
inline constexpr double kTolGatedActivation = 1e-9;
inline constexpr double kTolAttention = 1e-9;

inline bool is_float_weight(uint32_t dtype) {
    return dtype == APH_DTYPE_F32 || dtype == APH_DTYPE_F16 || dtype == APH_DTYPE_BF16;
}

inline bool is_k_quant(uint32_t dtype) {
    return dtype == APH_DTYPE_Q4_K || dtype == APH_DTYPE_Q5_K || dtype == APH_DTYPE_Q6_K;
}

// Every weight dtype MUL_MAT and GET_ROWS accept.
inline constexpr uint32_t kWeightDtypes[] = {APH_DTYPE_F32,  APH_DTYPE_F16,  APH_DTYPE_BF16, APH_DTYPE_Q4_0,
                                             APH_DTYPE_Q4_1, APH_DTYPE_Q5_0, APH_DTYPE_Q5_1, APH_DTYPE_Q8_0,
                                             APH_DTYPE_Q4_K, APH_DTYPE_Q5_K, APH_DTYPE_Q6_K};

}  // namespace cputest
