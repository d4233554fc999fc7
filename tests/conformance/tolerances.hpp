// The conformance suite's error thresholds, ALL in this one table (mirrored in docs/conformance.md). They hold
// for ANY backend; the CPU backend lands far below them and the measured value is printed next to the bound.
// Metric: NMSE = Σ(out − ref)² / Σ ref² against the SDK reference (aprhost::ref, double accumulation), after the
// NaN/Inf check (a non-finite output where the reference is finite fails first). "exact" = bitwise equality.
//
//   op                     dtype / case                        NMSE bound   why
//   GET_ROWS               every weight dtype                  exact        dequantisation is d·q in f32
//   COPY                   f32 ⇄ f16/bf16, same-dtype copy     exact        one round-to-nearest-even
//   KV_STORE               f32 / f16 / bf16 cache              exact        same; untouched slots keep sentinels
//   RMS_NORM, ADD, SCALE   f32                                 1e-9         f32 arithmetic vs double
//   SWIGLU, GEGLU          f32                                 1e-8         vectorised exp/tanh (rel. ≈ 1e-7)
//   ROPE                   NORM, NEOX, partial n_rot           1e-7         angle pos·θ may be formed in f32
//   ATTENTION              f32 / f16 cache, any GQA ratio      1e-6         f32 dots and softmax; f16 P·V allowed
//   MUL_MAT                f32 / f16 / bf16 weights            1e-6         f32 accumulation (TF32-class allowed)
//   MUL_MAT                quantised weights                   5e-4         activations may be quantised to 8 bit
//                                                                           (as ggml does; ≈ 3e-5 measured)
//   model: KV invariant    cpu backends                        1e-5 max abs decode and prefill share accumulation
//   model: KV invariant    other backends                      1e-3 max abs stated bound, printed per run
//   model: KV plugin       vs contiguous (same backend)        exact        same backend, only slots differ
//   model: cross-backend   vs cpu, logits per position         NMSE 2e-2    + same greedy token unless the reference's
//                                                                           top-2 gap < 1.5 logits (8-bit activation
//                                                                           rounding flips compound over 30 layers:
//                                                                           cpu-scalar vs cpu-avx2 on SmolLM2 measures
//                                                                           NMSE 9e-3; same gap bound as the goldens)
//   model: decode cost     step time at ctx 100 / ctx 10       < 15×        O(n) attention (F-PERF-001)
#pragma once

#include <aprhost/abi.h>

#include <string>

namespace aprhost::conformance {

inline constexpr double kExact = 0.0;
inline constexpr double kTolElementwise = 1e-9;
inline constexpr double kTolGated = 1e-8;
inline constexpr double kTolRope = 1e-7;
inline constexpr double kTolAttention = 1e-6;
inline constexpr double kTolFloatMatmul = 1e-6;
inline constexpr double kTolQuantMatmul = 5e-4;

inline constexpr double kKvInvariantCpu = 1e-5;
inline constexpr double kKvInvariantOther = 1e-3;
inline constexpr double kCrossBackendNmse = 2e-2;
// A greedy-token mismatch is excused when the reference's logits of the two tokens are closer than this.
inline constexpr double kCrossBackendTieMargin = 1.5;
inline constexpr double kDecodeCostRatio = 15.0;

inline bool is_float_dtype(uint32_t dtype) {
    return dtype == APH_DTYPE_F32 || dtype == APH_DTYPE_F16 || dtype == APH_DTYPE_BF16;
}

// The NMSE bound of MUL_MAT for a weight dtype.
inline double matmul_tolerance(uint32_t w_dtype) { return is_float_dtype(w_dtype) ? kTolFloatMatmul : kTolQuantMatmul; }

// The KV-invariant bound (max abs logit difference) for a backend plugin name.
inline double kv_invariant_bound(const std::string& backend_name) {
    return backend_name == "cpu" ? kKvInvariantCpu : kKvInvariantOther;
}

}  // namespace aprhost::conformance
