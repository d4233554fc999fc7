// Index arithmetic the CUDA kernels use, checked on the host (the same inline functions compile for both).
#include "cuda_index_math.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace aprhost::cuda;

TEST_CASE("cuda index math: rows of strided views", "[cuda][index]") {
    View v;
    v.ne[0] = 8, v.ne[1] = 3, v.ne[2] = 2, v.ne[3] = 2;
    v.nb[0] = 4, v.nb[1] = 40, v.nb[2] = 200, v.nb[3] = 1000;  // padded rows and planes
    CHECK(view_rows(v) == 12);
    CHECK(view_row_offset(v, 0) == 0);
    CHECK(view_row_offset(v, 2) == 80);
    CHECK(view_row_offset(v, 3) == 200);
    CHECK(view_row_offset(v, 7) == 1000 + 40);
    CHECK(view_row_offset(v, 11) == 1000 + 200 + 80);
    CHECK(view_elem_offset(v, 8 * 7 + 5, 4) == 1040 + 20);
}

TEST_CASE("cuda index math: ADD broadcast row", "[cuda][index]") {
    View a, b;
    a.ne[0] = 4, a.ne[1] = 5, a.ne[2] = 3;
    a.nb[1] = 16, a.nb[2] = 80, a.nb[3] = 240;
    b.ne[0] = 4, b.ne[1] = 1, b.ne[2] = 3;
    b.nb[1] = 16, b.nb[2] = 16, b.nb[3] = 48;
    for (int64_t r = 0; r < 15; ++r) CHECK(broadcast_row_offset(a, b, r) == (r / 5) * 16);
    b.ne[2] = 1;
    for (int64_t r = 0; r < 15; ++r) CHECK(broadcast_row_offset(a, b, r) == 0);
}

TEST_CASE("cuda index math: kv slots match the reference", "[cuda][index]") {
    const std::vector<int32_t> table = {7, 2, 9, 0};
    for (int64_t bs : {1, 4, 16})
        for (int64_t i = 0; i < bs * 4; ++i) CHECK(kv_slot(table.data(), bs, i) == aprhost::ref::kv_slot(table.data(), bs, i));
}

TEST_CASE("cuda index math: rope pairs", "[cuda][index]") {
    const RopePair n = rope_pair(APH_ROPE_NORM, 64, 5);
    CHECK(n.i0 == 10);
    CHECK(n.i1 == 11);
    const RopePair x = rope_pair(APH_ROPE_NEOX, 64, 5);
    CHECK(x.i0 == 5);
    CHECK(x.i1 == 37);
    CHECK(rope_exponent(16, 64) == Approx(-0.5));
}

TEST_CASE("cuda index math: flash-decoding splits cover each visible entry once", "[cuda][index]") {
    for (int64_t visible : {1, 2, 31, 32, 33, 100, 1000, 4097})
        for (int64_t splits : {1, 2, 3, 7, 16, 64}) {
            std::vector<int> seen(static_cast<size_t>(visible), 0);
            int64_t prev_end = 0;
            for (int64_t s = 0; s < splits; ++s) {
                const SplitRange r = split_range(visible, splits, s);
                if (r.begin >= r.end) continue;
                CHECK(r.begin == prev_end);
                prev_end = r.end;
                for (int64_t i = r.begin; i < r.end; ++i) ++seen[static_cast<size_t>(i)];
            }
            CHECK(prev_end == visible);
            for (int c : seen) REQUIRE(c == 1);
        }
    CHECK(attention_visible(10, 3, 0) == 8);
    CHECK(attention_visible(10, 3, 2) == 10);
}

TEST_CASE("cuda index math: split count", "[cuda][index]") {
    CHECK(attention_split_count(132, 28, 1, 4096) == 10);  // 28 heads · 10 ≥ 264 blocks
    CHECK(attention_split_count(132, 28, 1, 64) == 2);     // bounded by the cache: one split per 32 slots
    CHECK(attention_split_count(132, 1, 1, 1 << 20) == 64);
    CHECK(attention_split_count(132, 512, 1, 4096) == 1);
    CHECK(attention_split_count(0, 0, 0, 0) == 1);
}
