// Op-level cases: every op × dtype × shape family against aprhost::ref. Shape families: odd sizes, rows of one
// block and of several blocks, N = 1 (decode) and N > 1 (prefill), GQA ratios 1, 3, 7 and MQA, paged block
// tables. Order of checks in every case: supports() (else SKIP with the reason) → compute → NaN/Inf → sentinel
// guards → metric against the bound from tolerances.hpp.
#include "conformance.hpp"
#include "op_graph.hpp"
#include "tolerances.hpp"

#include <aprhost/reference/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace aprhost::conformance {

namespace {

// Common ending of a float-output case.
Result judge(const OpGraph& g, const std::vector<float>& out, const std::vector<float>& ref, double bound) {
    if (std::string nf = non_finite(out, ref); !nf.empty()) return Result::fail(nf, INFINITY, bound);
    if (std::string sv = g.sentinel_violation(); !sv.empty()) return Result::fail("out-of-bounds write: " + sv, 0, bound);
    const double e = nmse(out, ref);
    if (bound == kExact) {
        for (size_t i = 0; i < out.size(); ++i)
            if (std::memcmp(&out[i], &ref[i], 4) != 0)
                return Result::fail(fmt::format("not bitwise equal at element {}: {} vs reference {}", i, out[i], ref[i]),
                                    e, bound);
        return Result::pass("bitwise equal", e, bound);
    }
    if (!(e <= bound)) return Result::fail(fmt::format("nmse {:.3g} > {:.3g}", e, bound), e, bound);
    return Result::pass(fmt::format("nmse {:.3g}", e), e, bound);
}

// Common ending of a byte-output case (KV_STORE, COPY to half types): exact.
Result judge_bytes(const OpGraph& g, const std::vector<uint8_t>& out, const std::vector<uint8_t>& ref) {
    if (std::string sv = g.sentinel_violation(); !sv.empty()) return Result::fail("out-of-bounds write: " + sv);
    if (out.size() != ref.size()) return Result::fail("output size differs");
    for (size_t i = 0; i < out.size(); ++i)
        if (out[i] != ref[i]) return Result::fail(fmt::format("byte {} differs: {:#04x} vs reference {:#04x}", i, out[i], ref[i]), 1, 0);
    return Result::pass("bitwise equal", 0, 0);
}

// Values encoded to dtype (f32/f16/bf16) and decoded back, so the reference sees exactly what the backend stores.
std::vector<uint8_t> encode(uint32_t dtype, const std::vector<float>& v) {
    std::vector<uint8_t> out(dtype_row_bytes(dtype, int64_t(v.size())));
    ref::quantize_row(dtype, v.data(), out.data(), int64_t(v.size()));
    return out;
}

constexpr uint32_t kWeightDtypes[] = {APH_DTYPE_F32,  APH_DTYPE_F16,  APH_DTYPE_BF16, APH_DTYPE_Q4_0, APH_DTYPE_Q4_1,
                                      APH_DTYPE_Q5_0, APH_DTYPE_Q5_1, APH_DTYPE_Q8_0, APH_DTYPE_Q4_K, APH_DTYPE_Q5_K,
                                      APH_DTYPE_Q6_K, APH_DTYPE_APR_Q4, APH_DTYPE_APR_Q8};

// Row lengths for a weight dtype: one block, and several blocks (an odd count); odd sizes for float types.
std::pair<int64_t, int64_t> row_lengths(uint32_t dtype) {
    const int64_t be = int64_t(ref::block_elems(dtype));
    if (be == 1) return {31, 257};
    return {be, be == 32 ? 7 * be : 3 * be};
}

// ------------------------------------------------------------------------------------------------ MUL_MAT

void add_mul_mat(std::vector<Case>& out) {
    for (uint32_t dt : kWeightDtypes) {
        auto [k1, kn] = row_lengths(dt);
        struct Shape { int64_t k, m, n; bool bias; };
        // N = 1..9 covers GPU decode kernels that take a few columns at once and switch kernels above 8; m = 130,
        // n = 70 spans several 64 × 64 tiles of a tiled prefill kernel, with partial tiles on both edges.
        const Shape shapes[] = {{k1, 16, 1, false}, {kn, 67, 1, false}, {kn, 67, 1, true},  {kn, 67, 3, true},
                                {kn, 67, 5, false}, {kn, 67, 8, false}, {kn, 67, 9, true},  {kn, 33, 19, true},
                                {kn, 130, 70, false}};
        for (const Shape& s : shapes) {
            out.push_back({"op/mul_mat", fmt::format("w={},k={},m={},n={}{}", dtype_label(dt), s.k, s.m, s.n, s.bias ? ",bias" : ""),
                           [dt, s](Env& env) {
                               OpGraph g(env.backend_context());
                               const auto w = make_weights(dt, s.k, s.m, 11);
                               const auto x = randn(size_t(s.k * s.n), 12);
                               const auto b = randn(size_t(s.m), 13, 0.5f);
                               const int tw = g.add(dt, {s.k, s.m}, w.data());
                               const int tx = g.add_f32({s.k, s.n}, x);
                               const int tb = s.bias ? g.add_f32({s.m}, b) : -1;
                               const int ty = g.add(APH_DTYPE_F32, {s.m, s.n});
                               g.node(APH_OP_MUL_MAT, {tw, tx, tb}, ty);
                               if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                               g.compute();
                               std::vector<float> ref(size_t(s.m * s.n));
                               ref::matmul(dt, w.data(), s.k, s.m, x.data(), s.n, s.bias ? b.data() : nullptr, ref.data());
                               return judge(g, g.f32(ty), ref, matmul_tolerance(dt));
                           }});
        }
    }
}

// ------------------------------------------------------------------------------------------------ GET_ROWS

void add_get_rows(std::vector<Case>& out) {
    for (uint32_t dt : kWeightDtypes) {
        auto [d1, dn] = row_lengths(dt);
        for (int64_t d : {d1, dn})
            for (int n : {1, 7}) {
                out.push_back({"op/get_rows", fmt::format("src={},d={},n={}", dtype_label(dt), d, n), [dt, d, n](Env& env) {
                                   const int64_t vocab = 13;
                                   OpGraph g(env.backend_context());
                                   const auto table = make_weights(dt, d, vocab, 21);
                                   std::vector<int32_t> ids = {12, 0, 5, 5, 7, 1, 12};  // repeats and both ends
                                   ids.resize(size_t(n));
                                   const int tt = g.add(dt, {d, vocab}, table.data());
                                   const int ti = g.add_i32(ids);
                                   const int ty = g.add(APH_DTYPE_F32, {d, n});
                                   g.node(APH_OP_GET_ROWS, {tt, ti}, ty);
                                   if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                                   g.compute();
                                   std::vector<float> ref(size_t(d * n));
                                   ref::get_rows(dt, table.data(), d, ids.data(), n, ref.data());
                                   return judge(g, g.f32(ty), ref, kExact);
                               }});
            }
    }
}

// ------------------------------------------------------------------------------------------------ over 128 MiB

// Weights and tables bigger than 128 MiB, the storage-buffer binding limit of lavapipe (and more than a binding on
// many GPUs; a 7B model's output matrix and token embeddings are larger): GPU backends must split them into
// several bindings. The rows repeat a pattern of 37 distinct rows so that data and reference stay cheap; ids and
// outputs land on both sides of every 128 MiB boundary. Decode (n = 1) and GET_ROWS use Q8_0, 33000 rows of 4096
// (143.6 MB; 30840 rows are 128 MiB); prefill (n = 40, past the column counts that GPU backends may still give
// to a matrix-vector kernel) uses F32, 8250 rows of 4096 (135 MB; 8192 rows are 128 MiB), the fewest elements per
// byte, because tiled kernels on a CPU-emulated device are slow.
std::vector<uint8_t> repeated_rows(uint32_t dt, int64_t k, int64_t m) {
    constexpr int64_t distinct = 37;
    const auto base = make_weights(dt, k, distinct, 31);
    const size_t rb = dtype_row_bytes(dt, k);
    std::vector<uint8_t> w(rb * size_t(m));
    for (int64_t r = 0; r < m; ++r) std::memcpy(w.data() + size_t(r) * rb, base.data() + size_t(r % distinct) * rb, rb);
    return w;
}

void add_over_binding_limit(std::vector<Case>& out) {
    struct Shape { uint32_t dt; int64_t k, m, n; };
    for (const Shape s : {Shape{APH_DTYPE_Q8_0, 4096, 33000, 1}, Shape{APH_DTYPE_F32, 4096, 8250, 40}}) {
        out.push_back({"op/mul_mat", fmt::format("w={},k={},m={},n={},bias,over-128MiB", dtype_label(s.dt), s.k, s.m, s.n),
                       [s](Env& env) {
                           constexpr int64_t distinct = 37;
                           OpGraph g(env.backend_context());
                           const auto w = repeated_rows(s.dt, s.k, s.m);
                           const auto x = randn(size_t(s.k * s.n), 32);
                           const auto b = randn(size_t(s.m), 33, 0.5f);
                           const int tw = g.add(s.dt, {s.k, s.m}, w.data());
                           const int tx = g.add_f32({s.k, s.n}, x);
                           const int tb = g.add_f32({s.m}, b);
                           const int ty = g.add(APH_DTYPE_F32, {s.m, s.n});
                           g.node(APH_OP_MUL_MAT, {tw, tx, tb}, ty);
                           if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                           g.compute();
                           // Row r of the product is row r % distinct of the small product, plus bias[r].
                           std::vector<float> small(size_t(distinct * s.n));
                           ref::matmul(s.dt, w.data(), s.k, distinct, x.data(), s.n, nullptr, small.data());
                           std::vector<float> ref(size_t(s.m * s.n));
                           for (int64_t j = 0; j < s.n; ++j)
                               for (int64_t r = 0; r < s.m; ++r)
                                   ref[size_t(j * s.m + r)] = small[size_t(j * distinct + r % distinct)] + b[size_t(r)];
                           return judge(g, g.f32(ty), ref, matmul_tolerance(s.dt));
                       }});
    }
    constexpr uint32_t dt = APH_DTYPE_Q8_0;
    constexpr int64_t k = 4096, m = 33000;
    out.push_back({"op/get_rows", fmt::format("src={},d={},vocab={},n=7,over-128MiB", dtype_label(dt), k, m), [](Env& env) {
                       OpGraph g(env.backend_context());
                       const auto table = repeated_rows(dt, k, m);
                       const std::vector<int32_t> ids = {int32_t(m - 1), 0, 30838, 30839, 30840, 15000, int32_t(m - 1)};
                       const int tt = g.add(dt, {k, m}, table.data());
                       const int ti = g.add_i32(ids);
                       const int ty = g.add(APH_DTYPE_F32, {k, int64_t(ids.size())});
                       g.node(APH_OP_GET_ROWS, {tt, ti}, ty);
                       if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                       g.compute();
                       std::vector<float> ref(size_t(k) * ids.size());
                       ref::get_rows(dt, table.data(), k, ids.data(), int64_t(ids.size()), ref.data());
                       return judge(g, g.f32(ty), ref, kExact);
                   }});
}

// ------------------------------------------------------------------------------------------------ RMS_NORM, elementwise

void add_elementwise(std::vector<Case>& out) {
    for (int64_t d : {1, 7, 896, 4099})
        for (int64_t n : {1, 5})
            for (bool weight : {true, false}) {
                out.push_back({"op/rms_norm", fmt::format("d={},n={}{}", d, n, weight ? ",weight" : ""), [d, n, weight](Env& env) {
                                   OpGraph g(env.backend_context());
                                   const auto x = randn(size_t(d * n), 31, 3.0f);
                                   const auto w = randn(size_t(d), 32);
                                   const int tx = g.add_f32({d, n}, x);
                                   const int tw = weight ? g.add_f32({d}, w) : -1;
                                   const int ty = g.add(APH_DTYPE_F32, {d, n});
                                   g.node(APH_OP_RMS_NORM, {tx, tw}, ty, {}, {1e-6f});
                                   if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                                   g.compute();
                                   std::vector<float> ref(x.size());
                                   ref::rms_norm(x.data(), weight ? w.data() : nullptr, ref.data(), d, n, 1e-6f);
                                   return judge(g, g.f32(ty), ref, kTolElementwise);
                               }});
            }
    for (aph_op op : {APH_OP_SWIGLU, APH_OP_GEGLU})
        for (int64_t d : {1, 7, 4099})
            for (int64_t n : {1, 3}) {
                out.push_back({op == APH_OP_SWIGLU ? "op/swiglu" : "op/geglu", fmt::format("d={},n={}", d, n), [op, d, n](Env& env) {
                                   OpGraph g(env.backend_context());
                                   const auto a = randn(size_t(d * n), 41, 4.0f), b = randn(size_t(d * n), 42);
                                   const int ta = g.add_f32({d, n}, a), tb = g.add_f32({d, n}, b);
                                   const int ty = g.add(APH_DTYPE_F32, {d, n});
                                   g.node(op, {ta, tb}, ty);
                                   if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                                   g.compute();
                                   std::vector<float> ref(a.size());
                                   if (op == APH_OP_SWIGLU) ref::swiglu(a.data(), b.data(), ref.data(), d * n);
                                   else ref::geglu(a.data(), b.data(), ref.data(), d * n);
                                   return judge(g, g.f32(ty), ref, kTolGated);
                               }});
            }
    for (int64_t d : {1, 7, 4099})
        for (int64_t n : {1, 5})
            for (bool broadcast : {false, true}) {
                out.push_back({"op/add", fmt::format("d={},n={}{}", d, n, broadcast ? ",broadcast" : ""), [d, n, broadcast](Env& env) {
                                   OpGraph g(env.backend_context());
                                   const int64_t rows_b = broadcast ? 1 : n;
                                   const auto a = randn(size_t(d * n), 51), b = randn(size_t(d * rows_b), 52);
                                   const int ta = g.add_f32({d, n}, a), tb = g.add_f32({d, rows_b}, b);
                                   const int ty = g.add(APH_DTYPE_F32, {d, n});
                                   g.node(APH_OP_ADD, {ta, tb}, ty);
                                   if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                                   g.compute();
                                   std::vector<float> ref(a.size());
                                   ref::add(a.data(), b.data(), ref.data(), d, n, rows_b);
                                   return judge(g, g.f32(ty), ref, kTolElementwise);
                               }});
            }
    for (int64_t d : {1, 7, 4099}) {
        out.push_back({"op/scale", fmt::format("d={},n=3", d), [d](Env& env) {
                           OpGraph g(env.backend_context());
                           const auto a = randn(size_t(d * 3), 61);
                           const int ta = g.add_f32({d, 3}, a), ty = g.add(APH_DTYPE_F32, {d, 3});
                           g.node(APH_OP_SCALE, {ta}, ty, {}, {-0.37f});
                           if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                           g.compute();
                           std::vector<float> ref(a.size());
                           ref::scale(a.data(), ref.data(), int64_t(a.size()), -0.37f);
                           return judge(g, g.f32(ty), ref, kTolElementwise);
                       }});
    }
}

// ------------------------------------------------------------------------------------------------ COPY

void add_copy(std::vector<Case>& out) {
    const std::pair<uint32_t, uint32_t> pairs[] = {{APH_DTYPE_F32, APH_DTYPE_F32},  {APH_DTYPE_F32, APH_DTYPE_F16},
                                                   {APH_DTYPE_F32, APH_DTYPE_BF16}, {APH_DTYPE_F16, APH_DTYPE_F32},
                                                   {APH_DTYPE_BF16, APH_DTYPE_F32}, {APH_DTYPE_F16, APH_DTYPE_F16}};
    for (auto [from, to] : pairs)
        for (int64_t d : {1, 7, 4099}) {
            out.push_back({"op/copy", fmt::format("{}->{},d={},n=3", dtype_label(from), dtype_label(to), d), [from, to, d](Env& env) {
                               OpGraph g(env.backend_context());
                               auto v = randn(size_t(d * 3), 71, 100.0f);
                               v[0] = 65504.0f * 1.5f;  // overflows f16: must become Inf in both
                               const auto src = encode(from, v);
                               const int ts = g.add(from, {d, 3}, src.data()), td = g.add(to, {d, 3});
                               g.node(APH_OP_COPY, {ts}, td);
                               if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                               g.compute();
                               std::vector<uint8_t> ref(dtype_row_bytes(to, d * 3));
                               ref::copy(from, src.data(), to, ref.data(), d * 3);
                               return judge_bytes(g, g.bytes(td), ref);
                           }});
        }
}

// ------------------------------------------------------------------------------------------------ ROPE

void add_rope(std::vector<Case>& out) {
    for (int mode : {APH_ROPE_NORM, APH_ROPE_NEOX})
        for (int64_t n_rot : {64, 32})
            for (int64_t n : {1, 5})
                for (bool in_place : {false, true}) {
                    const float base = mode == APH_ROPE_NEOX ? 1e6f : 1e4f;
                    const float fscale = n_rot == 32 ? 0.5f : 1.0f;
                    out.push_back({"op/rope", fmt::format("mode={},hd=64,n_rot={},heads=3,n={},base={:g},scale={:g}{}",
                                                          mode == APH_ROPE_NEOX ? "neox" : "norm", n_rot, n, base, fscale,
                                                          in_place ? ",in_place" : ""),
                                   [=](Env& env) {
                                       const int64_t hd = 64, heads = 3;
                                       OpGraph g(env.backend_context());
                                       const auto x = randn(size_t(hd * heads * n), 81);
                                       std::vector<int32_t> pos = {4095, 0, 1, 17, 300};
                                       pos.resize(size_t(n));
                                       const int tx = g.add_f32({hd, heads, n}, x);
                                       const int tp = g.add_i32(pos);
                                       const int ty = in_place ? tx : g.add(APH_DTYPE_F32, {hd, heads, n});
                                       g.node(APH_OP_ROPE, {tx, tp}, ty, {mode, int32_t(n_rot)}, {base, fscale});
                                       if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                                       g.compute();
                                       std::vector<float> ref = x;
                                       ref::rope(ref.data(), hd, heads, n, pos.data(), mode, n_rot, base, fscale);
                                       return judge(g, g.f32(ty), ref, kTolRope);
                                   }});
                }
}

// ------------------------------------------------------------------------------------------------ KV_STORE

void add_kv_store(std::vector<Case>& out) {
    for (uint32_t dt : {APH_DTYPE_F32, APH_DTYPE_F16, APH_DTYPE_BF16})
        for (int64_t n : {1, 5}) {
            out.push_back({"op/kv_store", fmt::format("cache={},hd=64,kv_heads=2,slots=37,n={}", dtype_label(dt), n), [dt, n](Env& env) {
                               const int64_t hd = 64, kvh = 2, slots = 37, row = hd * kvh;
                               OpGraph g(env.backend_context());
                               const auto src = randn(size_t(row * n), 91);
                               std::vector<int32_t> where = {36, 0, 17, 18, 5};  // both ends, adjacent, unordered
                               where.resize(size_t(n));
                               auto cache = encode(dt, randn(size_t(row * slots), 92));  // earlier contents stay
                               const int ts = g.add_f32({hd, kvh, n}, src);
                               const int tw = g.add_i32(where);
                               const int tc = g.add(dt, {row, slots}, cache.data());
                               g.node(APH_OP_KV_STORE, {ts, tw}, tc);
                               if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                               g.compute();
                               ref::kv_store(src.data(), row, n, where.data(), dt, cache.data());
                               return judge_bytes(g, g.bytes(tc), cache);
                           }});
        }
}

// ------------------------------------------------------------------------------------------------ ATTENTION

void add_attention(std::vector<Case>& out) {
    struct Heads { int64_t heads, kv_heads; };
    const Heads ratios[] = {{4, 4}, {6, 2}, {14, 2}, {8, 1}};  // GQA 1, 3, 7 (Qwen2.5-0.5B), MQA
    struct Len { int64_t n_kv, n_q; };
    const Len lens[] = {{1, 1}, {37, 1}, {37, 5}, {19, 19}};
    for (uint32_t dt : {APH_DTYPE_F32, APH_DTYPE_F16})
        for (Heads h : ratios)
            for (Len l : lens)
                for (bool paged : {false, true}) {
                    out.push_back({"op/attention", fmt::format("cache={},hd=64,heads={},kv_heads={},n_kv={},n={},{}",
                                                               dtype_label(dt), h.heads, h.kv_heads, l.n_kv, l.n_q,
                                                               paged ? "paged16" : "contiguous"),
                                   [=](Env& env) {
                                       const int64_t hd = 64, row = hd * h.kv_heads;
                                       const int64_t bs = paged ? 16 : 64;
                                       const int64_t n_blocks_total = paged ? 5 : 1;  // 80 / 64 slots
                                       const int64_t slots = bs * n_blocks_total;
                                       // Blocks in a scrambled order; slots outside the sequence hold NaN so a
                                       // backend that reads past n_kv (or outside the table) is caught.
                                       std::vector<int32_t> table;
                                       if (paged) table = {3, 0, 4};
                                       else table = {0};
                                       table.resize(size_t((l.n_kv + bs - 1) / bs));
                                       std::vector<float> kf(size_t(row * slots), NAN), vf(size_t(row * slots), NAN);
                                       const auto kr = randn(size_t(row * l.n_kv), 101), vr = randn(size_t(row * l.n_kv), 102);
                                       for (int64_t i = 0; i < l.n_kv; ++i) {
                                           const int64_t s = ref::kv_slot(table.data(), bs, i);
                                           std::copy_n(kr.begin() + i * row, row, kf.begin() + s * row);
                                           std::copy_n(vr.begin() + i * row, row, vf.begin() + s * row);
                                       }
                                       const auto kc = encode(dt, kf), vc = encode(dt, vf);
                                       const auto q = randn(size_t(hd * h.heads * l.n_q), 103);
                                       const float scale = 1.0f / std::sqrt(float(hd));
                                       OpGraph g(env.backend_context());
                                       const int tq = g.add_f32({hd, h.heads, l.n_q}, q);
                                       const int tk = g.add(dt, {row, slots}, kc.data());
                                       const int tv = g.add(dt, {row, slots}, vc.data());
                                       const int tt = g.add_i32(table);
                                       const int ty = g.add(APH_DTYPE_F32, {hd, h.heads, l.n_q});
                                       g.node(APH_OP_ATTENTION, {tq, tk, tv, tt}, ty, {int32_t(l.n_kv), int32_t(bs)}, {scale});
                                       if (auto why = g.unsupported(); !why.empty()) return Result::skip(why);
                                       g.compute();
                                       std::vector<float> kd(size_t(row * l.n_kv)), vd(kd.size());
                                       ref::gather_kv_rows(dt, kc.data(), row, table.data(), bs, l.n_kv, kd.data());
                                       ref::gather_kv_rows(dt, vc.data(), row, table.data(), bs, l.n_kv, vd.data());
                                       std::vector<float> ref(q.size());
                                       ref::attention(q.data(), kd.data(), vd.data(), hd, h.heads, h.kv_heads, l.n_q,
                                                      l.n_kv, scale, ref.data());
                                       return judge(g, g.f32(ty), ref, kTolAttention);
                                   }});
                }
}

}  // namespace

std::vector<Case> op_cases() {
    std::vector<Case> out;
    add_get_rows(out);
    add_mul_mat(out);
    add_over_binding_limit(out);
    add_elementwise(out);
    add_copy(out);
    add_rope(out);
    add_kv_store(out);
    add_attention(out);
    return out;
}

}  // namespace aprhost::conformance
