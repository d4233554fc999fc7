// The CUDA attention kernels' arithmetic replayed on the host, against aprhost::ref::attention:
//   flash-decoding with the same shared functions (split_range, kv_slot, softmax_step, softmax_merge_weight) and
//   the kernel's order of work — splits × 4 warps, entries strided over warps, warps merged per block, blocks merged
//   per head; and the tiled several-query kernel's tile order, causal limits and per-tile rescaling.
// They check the decomposition and the merge math, not the device code generation.
#include "cuda_index_math.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

using namespace aprhost::cuda;

namespace {

struct Partial {
    float m = -INFINITY, l = 0.0f;
    std::vector<float> acc;
};

// One query (the decode case): q [heads][hd]; cache rows [slots][kv_heads·hd]; returns out [heads][hd].
std::vector<float> flash_decode(const std::vector<float>& q, const std::vector<float>& kc, const std::vector<float>& vc,
                                const std::vector<int32_t>& table, int64_t block_size, int64_t n_kv, int64_t hd,
                                int64_t heads, int64_t kv_heads, int64_t n_splits, float scale) {
    constexpr int kWarps = 4;
    const int64_t row = kv_heads * hd;
    std::vector<float> out(static_cast<size_t>(heads * hd));
    for (int64_t h = 0; h < heads; ++h) {
        const int64_t g = h / (heads / kv_heads);
        std::vector<Partial> splits;
        for (int64_t s = 0; s < n_splits; ++s) {
            const SplitRange r = split_range(attention_visible(n_kv, 1, 0), n_splits, s);
            Partial warp[kWarps];
            for (int w = 0; w < kWarps; ++w) {
                warp[w].acc.assign(static_cast<size_t>(hd), 0.0f);
                for (int64_t i = r.begin + w; i < r.end; i += kWarps) {
                    const int64_t slot = kv_slot(table.data(), block_size, i);
                    const float* k = kc.data() + slot * row + g * hd;
                    const float* v = vc.data() + slot * row + g * hd;
                    float dot = 0.0f;
                    for (int64_t c = 0; c < hd; ++c) dot += q[static_cast<size_t>(h * hd + c)] * k[c];
                    const SoftmaxStep st = softmax_step(warp[w].m, warp[w].l, dot * scale);
                    for (int64_t c = 0; c < hd; ++c)
                        warp[w].acc[static_cast<size_t>(c)] = warp[w].acc[static_cast<size_t>(c)] * st.corr + st.p * v[c];
                }
            }
            Partial block;
            for (auto& w : warp) block.m = std::fmax(block.m, w.m);
            block.acc.assign(static_cast<size_t>(hd), 0.0f);
            for (auto& w : warp) {
                const float ws = softmax_merge_weight(w.m, block.m);
                block.l += w.l * ws;
                for (int64_t c = 0; c < hd; ++c) block.acc[static_cast<size_t>(c)] += w.acc[static_cast<size_t>(c)] * ws;
            }
            splits.push_back(block);
        }
        float gm = -INFINITY, gl = 0.0f;
        for (auto& p : splits) gm = std::fmax(gm, p.m);
        for (auto& p : splits) gl += p.l * softmax_merge_weight(p.m, gm);
        for (int64_t c = 0; c < hd; ++c) {
            float v = 0.0f;
            for (auto& p : splits) v += p.acc[static_cast<size_t>(c)] * softmax_merge_weight(p.m, gm);
            out[static_cast<size_t>(h * hd + c)] = v / gl;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("cuda flash-decoding: split/warp decomposition matches the reference", "[cuda][attention]") {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t hd = 64, heads = 8, kv_heads = 2, block_size = 16, slots = 256;
    const int64_t row = kv_heads * hd;
    std::vector<float> kc(static_cast<size_t>(slots * row)), vc(kc.size()), q(static_cast<size_t>(heads * hd));
    for (auto& x : kc) x = nd(rng);
    for (auto& x : vc) x = nd(rng);
    for (auto& x : q) x = nd(rng);
    const std::vector<int32_t> table = {9, 3, 14, 0, 7, 12, 1, 5, 2, 11, 4, 6, 8, 10, 13, 15};  // paged, shuffled
    const float scale = 0.125f;
    for (int64_t n_kv : {1, 5, 33, 100, 256})
        for (int64_t n_splits : {1, 3, 8, 64}) {
            const auto got = flash_decode(q, kc, vc, table, block_size, n_kv, hd, heads, kv_heads, n_splits, scale);
            std::vector<float> k_rows(static_cast<size_t>(n_kv * row)), v_rows(k_rows.size());
            aprhost::ref::gather_kv_rows(APH_DTYPE_F32, kc.data(), row, table.data(), block_size, n_kv, k_rows.data());
            aprhost::ref::gather_kv_rows(APH_DTYPE_F32, vc.data(), row, table.data(), block_size, n_kv, v_rows.data());
            std::vector<float> want(got.size());
            aprhost::ref::attention(q.data(), k_rows.data(), v_rows.data(), hd, heads, kv_heads, 1, n_kv, scale,
                                    want.data());
            double err = 0.0, ref = 0.0;
            for (size_t i = 0; i < got.size(); ++i) {
                err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
                ref += double(want[i]) * want[i];
            }
            INFO("n_kv " << n_kv << ", splits " << n_splits);
            CHECK(err / ref < 1e-10);  // the conformance bound for ATTENTION is 1e-6
        }
}

namespace {

// The tiled (several-query) kernel's order of work on the host: query tiles of 16, kv tiles of 32 up to the last
// query's causal limit, a tile-wide max per row, rescaling by exp(m_old − m_new).
std::vector<float> tiled(const std::vector<float>& q, const std::vector<float>& kc, const std::vector<float>& vc,
                         const std::vector<int32_t>& table, int64_t block_size, int64_t n_kv, int64_t n, int64_t hd,
                         int64_t heads, int64_t kv_heads, float scale) {
    constexpr int64_t TQ = 16, TK = 32;
    const int64_t row = kv_heads * hd;
    std::vector<float> out(static_cast<size_t>(n * heads * hd), 0.0f);
    for (int64_t h = 0; h < heads; ++h) {
        const int64_t g = h / (heads / kv_heads);
        for (int64_t j0 = 0; j0 < n; j0 += TQ) {
            float m[TQ], l[TQ];
            std::vector<float> acc(static_cast<size_t>(TQ * hd), 0.0f);
            for (int64_t qi = 0; qi < TQ; ++qi) m[qi] = -INFINITY, l[qi] = 0.0f;
            const int64_t j_last = std::min(j0 + TQ, n) - 1;
            const int64_t kv_end = attention_visible(n_kv, n, j_last);
            for (int64_t t0 = 0; t0 < kv_end; t0 += TK) {
                for (int64_t qi = 0; qi < TQ; ++qi) {
                    const int64_t j = j0 + qi;
                    float s[TK];
                    float mx = -INFINITY;
                    for (int64_t kj = 0; kj < TK; ++kj) {
                        const int64_t i = t0 + kj;
                        s[kj] = -INFINITY;
                        if (j < n && i < attention_visible(n_kv, n, j)) {
                            const int64_t slot = kv_slot(table.data(), block_size, i);
                            float dot = 0.0f;
                            for (int64_t c = 0; c < hd; ++c)
                                dot += q[static_cast<size_t>((j * heads + h) * hd + c)] * kc[static_cast<size_t>(slot * row + g * hd + c)];
                            s[kj] = dot * scale;
                        }
                        mx = std::fmax(mx, s[kj]);
                    }
                    const float m_new = std::fmax(m[qi], mx);
                    float corr = 1.0f, sum = 0.0f, p[TK];
                    for (int64_t kj = 0; kj < TK; ++kj) p[kj] = 0.0f;
                    if (m_new != -INFINITY) {
                        corr = std::exp(m[qi] - m_new);
                        for (int64_t kj = 0; kj < TK; ++kj) p[kj] = std::exp(s[kj] - m_new), sum += p[kj];
                    }
                    l[qi] = l[qi] * corr + sum;
                    m[qi] = m_new;
                    for (int64_t c = 0; c < hd; ++c) {
                        float v = acc[static_cast<size_t>(qi * hd + c)] * corr;
                        for (int64_t kj = 0; kj < TK; ++kj) {
                            const int64_t i = t0 + kj;
                            if (i >= kv_end) continue;  // the kernel loads zeros there (and p is 0)
                            const int64_t slot = kv_slot(table.data(), block_size, i);
                            v += p[kj] * vc[static_cast<size_t>(slot * row + g * hd + c)];
                        }
                        acc[static_cast<size_t>(qi * hd + c)] = v;
                    }
                }
            }
            for (int64_t qi = 0; qi < TQ && j0 + qi < n; ++qi)
                for (int64_t c = 0; c < hd; ++c)
                    out[static_cast<size_t>(((j0 + qi) * heads + h) * hd + c)] = acc[static_cast<size_t>(qi * hd + c)] / l[qi];
        }
    }
    return out;
}

}  // namespace

TEST_CASE("cuda tiled attention: tile order and causal limits match the reference", "[cuda][attention]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t hd = 32, heads = 4, kv_heads = 2, block_size = 8, slots = 128;
    const int64_t row = kv_heads * hd;
    std::vector<float> kc(static_cast<size_t>(slots * row)), vc(kc.size());
    for (auto& x : kc) x = nd(rng);
    for (auto& x : vc) x = nd(rng);
    std::vector<int32_t> table(16);
    for (int32_t i = 0; i < 16; ++i) table[static_cast<size_t>(i)] = (i * 5 + 3) % 16;  // a permutation: paged
    for (auto [n, n_kv] : std::vector<std::pair<int64_t, int64_t>>{{2, 2}, {17, 17}, {16, 40}, {33, 100}, {91, 91}, {5, 128}}) {
        std::vector<float> q(static_cast<size_t>(n * heads * hd));
        for (auto& x : q) x = nd(rng);
        const auto got = tiled(q, kc, vc, table, block_size, n_kv, n, hd, heads, kv_heads, 0.17f);
        std::vector<float> k_rows(static_cast<size_t>(n_kv * row)), v_rows(k_rows.size()), want(got.size());
        aprhost::ref::gather_kv_rows(APH_DTYPE_F32, kc.data(), row, table.data(), block_size, n_kv, k_rows.data());
        aprhost::ref::gather_kv_rows(APH_DTYPE_F32, vc.data(), row, table.data(), block_size, n_kv, v_rows.data());
        aprhost::ref::attention(q.data(), k_rows.data(), v_rows.data(), hd, heads, kv_heads, n, n_kv, 0.17f, want.data());
        double err = 0.0, ref = 0.0;
        for (size_t i = 0; i < got.size(); ++i) {
            err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
            ref += double(want[i]) * want[i];
        }
        INFO("n " << n << ", n_kv " << n_kv);
        CHECK(err / ref < 1e-10);
    }
}
