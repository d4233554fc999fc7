// Tests of aprhost/graph_rules.hpp: the dtype/shape helpers, the bounds and layout checks, and every op's rules
// (each rule refuses a malformed node with a reason naming the problem and accepts the well-formed one).
// Compiled as C++17 (see CMakeLists.txt): the header promises that to CUDA sources.
#include <aprhost/graph_rules.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

namespace sdk = aprhost::sdk;
using Catch::Matchers::Contains;

namespace {

// Buffer handles are only compared and tested for NULL by the rules, never dereferenced.
aph_buffer_t fake_buffer(int which = 0) {
    static int storage[2];
    return reinterpret_cast<aph_buffer_t>(&storage[which]);
}

// A contiguous tensor of dtype dt with extents ne (missing dims are 1) at offset 0 of the fake buffer.
aph_tensor tensor(uint32_t dt, std::initializer_list<int64_t> ne) {
    aph_tensor t{};
    t.dtype = dt;
    t.n_dims = static_cast<uint32_t>(ne.size());
    int i = 0;
    for (int64_t v : ne) t.ne[i++] = v;
    for (; i < APH_MAX_DIMS; ++i) t.ne[i] = 1;
    sdk::set_packed_strides(t);
    t.buffer = fake_buffer();
    return t;
}

// One node over its own tensors; reason() runs the whole node check (indices, layouts, op rules).
struct Node {
    std::vector<aph_tensor> ts;
    aph_node node{};
    aph_graph graph{};

    Node(uint32_t op, std::vector<aph_tensor> tensors, std::initializer_list<int32_t> srcs, int32_t dst)
        : ts(std::move(tensors)) {
        node.op = op;
        for (auto& s : node.src) s = -1;
        int i = 0;
        for (int32_t s : srcs) node.src[i++] = s;
        node.dst = dst;
    }
    std::string reason(const sdk::OpRules& rules = sdk::OpRules{},
                       const sdk::LayoutRules& layout = sdk::LayoutRules{}) {
        graph.struct_size = sizeof(aph_graph);
        graph.n_tensors = static_cast<uint32_t>(ts.size());
        graph.tensors = ts.data();
        graph.n_nodes = 1;
        graph.nodes = &node;
        return sdk::node_reason(graph, 0, layout, rules);
    }
};

// Dst last: tensors {src0, src1, ..., dst}.
Node get_rows() {
    return Node(APH_OP_GET_ROWS,
                {tensor(APH_DTYPE_Q4_0, {64, 10}), tensor(APH_DTYPE_I32, {3}), tensor(APH_DTYPE_F32, {64, 3})}, {0, 1},
                2);
}
Node rms_norm() {
    Node n(APH_OP_RMS_NORM,
           {tensor(APH_DTYPE_F32, {16, 3}), tensor(APH_DTYPE_F32, {16}), tensor(APH_DTYPE_F32, {16, 3})}, {0, 1}, 2);
    n.node.fparams[0] = 1e-6f;
    return n;
}
Node mul_mat() {
    return Node(APH_OP_MUL_MAT,
                {tensor(APH_DTYPE_Q4_K, {256, 8}), tensor(APH_DTYPE_F32, {256, 5, 2}), tensor(APH_DTYPE_F32, {8}),
                 tensor(APH_DTYPE_F32, {8, 5, 2})},
                {0, 1, 2}, 3);
}
Node rope() {
    Node n(APH_OP_ROPE,
           {tensor(APH_DTYPE_F32, {8, 4, 3}), tensor(APH_DTYPE_I32, {3}), tensor(APH_DTYPE_F32, {8, 4, 3})}, {0, 1}, 2);
    n.ts[2].buffer = fake_buffer(1);
    n.node.iparams[0] = APH_ROPE_NEOX;
    n.node.iparams[1] = 8;
    n.node.fparams[0] = 10000.0f;
    n.node.fparams[1] = 1.0f;
    return n;
}
// K of 3 tokens, 2 kv heads of head_dim 8, into a 10-slot f16 cache.
Node kv_store() {
    return Node(APH_OP_KV_STORE,
                {tensor(APH_DTYPE_F32, {8, 2, 3}), tensor(APH_DTYPE_I32, {3}), tensor(APH_DTYPE_F16, {16, 10})}, {0, 1},
                2);
}
// 4 query heads over 2 kv heads (GQA), head_dim 8, 2 queries, 5 kv entries in blocks of 4.
Node attention() {
    Node n(APH_OP_ATTENTION,
           {tensor(APH_DTYPE_F32, {8, 4, 2}), tensor(APH_DTYPE_F32, {16, 12}), tensor(APH_DTYPE_F32, {16, 12}),
            tensor(APH_DTYPE_I32, {2}), tensor(APH_DTYPE_F32, {8, 4, 2})},
           {0, 1, 2, 3}, 4);
    n.node.iparams[0] = 5;
    n.node.iparams[1] = 4;
    n.node.fparams[0] = 0.35f;
    return n;
}
Node binary(uint32_t op, std::initializer_list<int64_t> b_shape) {
    return Node(op,
                {tensor(APH_DTYPE_F32, {16, 3, 2}), tensor(APH_DTYPE_F32, b_shape), tensor(APH_DTYPE_F32, {16, 3, 2})},
                {0, 1}, 2);
}
Node scale() {
    Node n(APH_OP_SCALE, {tensor(APH_DTYPE_F32, {16, 3}), tensor(APH_DTYPE_F32, {16, 3})}, {0}, 1);
    n.node.fparams[0] = 0.5f;
    return n;
}
Node copy(uint32_t from, uint32_t to) {
    return Node(APH_OP_COPY, {tensor(from, {32, 3}), tensor(to, {32, 3})}, {0}, 1);
}

}  // namespace

TEST_CASE("graph_rules: dtype names and sizes", "[sdk][graph_rules]") {
    CHECK(std::string(sdk::dtype_name(APH_DTYPE_F32)) == "f32");
    CHECK(std::string(sdk::dtype_name(APH_DTYPE_Q4_K)) == "q4_K");
    CHECK(std::string(sdk::dtype_name(APH_DTYPE_APR_Q8)) == "apr_q8");
    CHECK(std::string(sdk::dtype_name(APH_DTYPE_I32)) == "i32");
    CHECK(sdk::dtype_name(77) == nullptr);
    CHECK(std::string(sdk::dtype_name(77, "?")) == "?");
    CHECK(sdk::dtype_str(APH_DTYPE_BF16) == "bf16");
    CHECK(sdk::dtype_str(77) == "dtype 77");

    CHECK(sdk::dtype_block_elems(APH_DTYPE_Q4_0) == 32);
    CHECK(sdk::dtype_block_bytes(APH_DTYPE_Q4_0) == 18);
    CHECK(sdk::dtype_block_elems(APH_DTYPE_Q6_K) == 256);
    CHECK(sdk::dtype_block_bytes(APH_DTYPE_Q6_K) == 210);
    CHECK(sdk::dtype_block_elems(APH_DTYPE_I32) == 1);
    CHECK(sdk::dtype_block_bytes(APH_DTYPE_I32) == 4);
    CHECK(sdk::dtype_block_bytes(APH_DTYPE_F16) == 2);
    CHECK(sdk::dtype_block_bytes(APH_DTYPE_I64) == 0);  // no op carries it
    CHECK(sdk::dtype_row_bytes(APH_DTYPE_Q4_0, 64) == 36);
    CHECK(sdk::dtype_row_bytes(APH_DTYPE_Q4_0, 33) == 0);
    CHECK(sdk::dtype_row_bytes(APH_DTYPE_I32, 3) == 12);
    CHECK(sdk::dtype_row_bytes(APH_DTYPE_I32, -1) == 0);

    CHECK(sdk::is_weight_dtype(APH_DTYPE_Q6_K));
    CHECK(sdk::is_weight_dtype(APH_DTYPE_APR_Q4));
    CHECK(sdk::is_weight_dtype(APH_DTYPE_BF16));
    CHECK_FALSE(sdk::is_weight_dtype(APH_DTYPE_Q8_K));
    CHECK_FALSE(sdk::is_weight_dtype(APH_DTYPE_I32));
    CHECK(sdk::is_float_dtype(APH_DTYPE_F16));
    CHECK_FALSE(sdk::is_float_dtype(APH_DTYPE_Q8_0));
    CHECK(sdk::view_alignment(APH_DTYPE_F32) == 4);
    CHECK(sdk::view_alignment(APH_DTYPE_Q4_K) == 2);
}

TEST_CASE("graph_rules: storage layout of every abi.h dtype (the GGML block table)", "[sdk][graph_rules]") {
    struct Row { uint32_t id; uint32_t elems, bytes; };
    // The GGML type table (ggml.c type traits) plus the APR-native layouts of abi.h.
    const Row rows[] = {{APH_DTYPE_F32, 1, 4},      {APH_DTYPE_F16, 1, 2},      {APH_DTYPE_Q4_0, 32, 18},
                        {APH_DTYPE_Q4_1, 32, 20},   {APH_DTYPE_Q5_0, 32, 22},   {APH_DTYPE_Q5_1, 32, 24},
                        {APH_DTYPE_Q8_0, 32, 34},   {APH_DTYPE_Q8_1, 32, 36},   {APH_DTYPE_Q2_K, 256, 84},
                        {APH_DTYPE_Q3_K, 256, 110}, {APH_DTYPE_Q4_K, 256, 144}, {APH_DTYPE_Q5_K, 256, 176},
                        {APH_DTYPE_Q6_K, 256, 210}, {APH_DTYPE_Q8_K, 256, 292}, {APH_DTYPE_I8, 1, 1},
                        {APH_DTYPE_I16, 1, 2},      {APH_DTYPE_I32, 1, 4},      {APH_DTYPE_I64, 1, 8},
                        {APH_DTYPE_F64, 1, 8},      {APH_DTYPE_BF16, 1, 2},     {APH_DTYPE_APR_Q4, 32, 18},
                        {APH_DTYPE_APR_Q8, 32, 36}};
    for (const Row& r : rows) {
        INFO("dtype " << r.id << " " << sdk::dtype_str(r.id));
        uint32_t e = 0, b = 0;
        REQUIRE(sdk::dtype_storage(r.id, &e, &b));
        CHECK(e == r.elems);
        CHECK(b == r.bytes);
        CHECK(sdk::dtype_name(r.id) != nullptr);
    }
    uint32_t e = 7, b = 7;
    for (uint32_t unknown : {4u, 5u, 16u, 23u, 29u, 31u, 127u, 130u}) {
        CHECK_FALSE(sdk::dtype_storage(unknown, &e, &b));
        CHECK(sdk::dtype_name(unknown) == nullptr);
    }
    CHECK((e == 7 && b == 7));  // outputs untouched on failure
}

TEST_CASE("graph_rules: shape helpers", "[sdk][graph_rules]") {
    aph_tensor t = tensor(APH_DTYPE_F32, {4, 3, 2});
    CHECK(sdk::shape_str(t) == "[4, 3, 2, 1]");
    CHECK(sdk::tensor_elements(t) == 24);
    CHECK(sdk::tensor_rows(t) == 6);
    CHECK(sdk::tensor_row_bytes(t) == 16);
    CHECK(sdk::is_contiguous(t));
    CHECK(sdk::same_shape(t, tensor(APH_DTYPE_F16, {4, 3, 2})));
    CHECK_FALSE(sdk::same_shape(t, tensor(APH_DTYPE_F32, {4, 6})));
    CHECK(sdk::tensor_span(t) == 96);
    CHECK(t.nb[0] == 4);
    CHECK(t.nb[1] == 16);
    CHECK(t.nb[2] == 48);
    CHECK(t.nb[3] == 96);
    aph_tensor q = t;
    q.dtype = APH_DTYPE_Q4_K;
    q.ne[0] = 512;
    sdk::set_packed_strides(q);
    CHECK(q.nb[0] == 144);
    CHECK(q.nb[1] == 288);
    CHECK(q.nb[3] == 288 * 6);
    t.nb[1] = 32;  // a strided view: every other row of a wider tensor
    t.nb[2] = 96;
    CHECK_FALSE(sdk::is_contiguous(t));
    CHECK(sdk::tensor_span(t) == 16 + 2 * 32 + 96);
    t.ne[1] = 0;
    CHECK(sdk::tensor_span(t) == 0);
    CHECK(std::string(sdk::kSrcRoles[3]) == "src3");
}

TEST_CASE("graph_rules: tensor bounds against a buffer size", "[sdk][graph_rules]") {
    aph_tensor t = tensor(APH_DTYPE_F32, {4, 3});  // 48 bytes
    t.offset = 16;
    CHECK(sdk::tensor_bounds_reason(t, 64, "src0").empty());  // ends exactly at the buffer's end
    const std::string past = sdk::tensor_bounds_reason(t, 63, "src0");
    CHECK(past == "src0 [4, 3, 1, 1] at offset 16 ends at byte 64, past its buffer of 63 bytes");

    aph_tensor empty = t;
    empty.ne[1] = 0;
    empty.offset = 1000;
    CHECK(sdk::tensor_bounds_reason(empty, 8, "dst").empty());

    aph_tensor huge = t;
    huge.ne[1] = int64_t{1} << 40;
    huge.nb[1] = int64_t{1} << 40;
    CHECK_THAT(sdk::tensor_bounds_reason(huge, 64, "dst"), Contains("dst") && Contains("overflows"));
    aph_tensor far = t;
    far.offset = std::numeric_limits<uint64_t>::max() - 8;
    CHECK_THAT(sdk::tensor_bounds_reason(far, 64, "src1"), Contains("overflows"));
    aph_tensor negative = t;
    negative.nb[1] = -16;
    CHECK_THAT(sdk::tensor_bounds_reason(negative, 64, "src1"), Contains("overflows"));
}

TEST_CASE("graph_rules: tensor layout", "[sdk][graph_rules]") {
    const aph_tensor good = tensor(APH_DTYPE_Q4_0, {64, 2});
    CHECK(sdk::tensor_layout_reason(good, "src0").empty());

    aph_tensor t = good;
    t.dtype = 77;
    CHECK(sdk::tensor_layout_reason(t, "src0") == "src0 has unsupported dtype 77");
    const sdk::LayoutRules weights_only{int64_t{1} << 48, false, [](uint32_t dt) { return sdk::is_weight_dtype(dt); }};
    aph_tensor q8k = tensor(APH_DTYPE_Q8_K, {256});
    CHECK(sdk::tensor_layout_reason(q8k, "src0").empty());
    CHECK(sdk::tensor_layout_reason(q8k, "src0", weights_only) == "src0 has unsupported q8_K");

    t = good;
    t.ne[1] = -1;
    CHECK_THAT(sdk::tensor_layout_reason(t, "dst"), Contains("negative extent or stride"));
    t = good;
    t.nb[2] = -4;
    CHECK_THAT(sdk::tensor_layout_reason(t, "dst"), Contains("negative extent or stride"));

    sdk::LayoutRules small;
    small.max_elements = 100;
    CHECK(sdk::tensor_layout_reason(good, "src0", small) == "src0 [64, 2, 1, 1] has too many elements");

    t = good;
    t.nb[0] = 36;
    CHECK(sdk::tensor_layout_reason(t, "src1") == "src1 rows are not contiguous (nb[0] = 36, need 18)");

    aph_tensor f = tensor(APH_DTYPE_F32, {8, 2});
    f.offset = 2;
    CHECK(sdk::tensor_layout_reason(f, "src0").empty());  // the ABI itself does not ask for aligned views
    sdk::LayoutRules aligned;
    aligned.aligned_views = true;
    CHECK(sdk::tensor_layout_reason(f, "src0", aligned) == "src0 offset/strides are not multiples of 4 bytes");
    f.offset = 4;
    CHECK(sdk::tensor_layout_reason(f, "src0", aligned).empty());

    t = good;
    t.ne[0] = 48;
    CHECK(sdk::tensor_layout_reason(t, "src0") ==
          "src0 row of 48 q4_0 elements is not a whole number of blocks of 32");
    t = good;
    t.buffer = nullptr;
    CHECK(sdk::tensor_layout_reason(t, "src0") == "src0 has no buffer");
}

TEST_CASE("graph_rules: node indices", "[sdk][graph_rules]") {
    Node n = scale();
    CHECK(n.reason().empty());
    n.reason();
    CHECK(sdk::node_reason(n.graph, 1) == "node index 1 out of range");
    n.node.dst = 5;
    CHECK(n.reason() == "node has no valid dst tensor");
    n = scale();
    n.node.src[2] = 9;
    CHECK(n.reason() == "src2 index 9 out of range");
    // The per-op rules check indices themselves, so a backend may call them alone.
    n.reason();
    CHECK(sdk::scale_reason(n.graph, n.node) == "src2 index 9 out of range");
}

TEST_CASE("graph_rules: the layout of every tensor of a node is checked", "[sdk][graph_rules]") {
    Node n = mul_mat();
    n.ts[2].nb[0] = 8;
    CHECK(n.reason() == "src2 rows are not contiguous (nb[0] = 8, need 4)");
    n = mul_mat();
    n.ts[3].buffer = nullptr;
    CHECK(n.reason() == "dst has no buffer");
}

TEST_CASE("graph_rules: GET_ROWS", "[sdk][graph_rules]") {
    CHECK(get_rows().reason().empty());
    Node n = get_rows();
    n.node.src[1] = -1;
    CHECK(n.reason() == "GET_ROWS needs src0 (table) and src1 (ids)");
    n = get_rows();
    n.ts[0] = tensor(APH_DTYPE_Q8_K, {256, 10});
    n.ts[2] = tensor(APH_DTYPE_F32, {256, 3});
    CHECK(n.reason() == "GET_ROWS table dtype q8_K is not supported");
    n = get_rows();
    n.ts[1] = tensor(APH_DTYPE_F32, {3});
    CHECK(n.reason() == "GET_ROWS ids must be i32, got f32");
    n = get_rows();
    n.ts[2] = tensor(APH_DTYPE_F16, {64, 3});
    CHECK(n.reason() == "GET_ROWS dst must be f32, got f16");
    n = get_rows();
    n.ts[0] = tensor(APH_DTYPE_Q4_0, {64, 5, 2});
    CHECK_THAT(n.reason(), Contains("GET_ROWS table must be 2-D"));
    n = get_rows();
    n.ts[1] = tensor(APH_DTYPE_I32, {3, 2});
    CHECK(n.reason() == "GET_ROWS ids must be 1-D");
    n = get_rows();
    n.ts[2] = tensor(APH_DTYPE_F32, {64, 4});
    CHECK(n.reason() == "GET_ROWS dst must be [64, 3], got [64, 4, 1, 1]");
}

TEST_CASE("graph_rules: RMS_NORM", "[sdk][graph_rules]") {
    CHECK(rms_norm().reason().empty());
    Node n = rms_norm();
    n.node.src[1] = -1;  // the weight is optional
    CHECK(n.reason().empty());
    n.node.src[0] = -1;
    CHECK(n.reason() == "RMS_NORM needs src0");
    n = rms_norm();
    n.ts[0] = tensor(APH_DTYPE_F16, {16, 3});
    CHECK(n.reason() == "RMS_NORM src0 must be f32, got f16");
    n = rms_norm();
    n.ts[2] = tensor(APH_DTYPE_F32, {16, 4});
    CHECK_THAT(n.reason(), Contains("RMS_NORM src0/dst shapes differ"));
    n = rms_norm();
    n.ts[1] = tensor(APH_DTYPE_F32, {8});
    CHECK(n.reason() == "RMS_NORM weight length differs from the row length");
    n = rms_norm();
    n.node.fparams[0] = -1.0f;
    CHECK(n.reason() == "RMS_NORM eps must be >= 0");
    n.node.fparams[0] = std::numeric_limits<float>::quiet_NaN();
    CHECK(n.reason() == "RMS_NORM eps must be >= 0");
}

TEST_CASE("graph_rules: MUL_MAT", "[sdk][graph_rules]") {
    CHECK(mul_mat().reason().empty());
    Node n = mul_mat();
    n.node.src[2] = -1;  // the bias is optional
    CHECK(n.reason().empty());
    n.node.src[1] = -1;
    CHECK(n.reason() == "MUL_MAT needs src0 (weights) and src1 (activations)");
    n = mul_mat();
    n.ts[0].dtype = APH_DTYPE_Q8_K;  // same block count and size class: an activation format, not a weight dtype
    n.ts[0].nb[0] = sdk::dtype_block_bytes(APH_DTYPE_Q8_K);
    n.ts[0].nb[1] = n.ts[0].nb[0];
    CHECK(n.reason() == "MUL_MAT weight dtype q8_K is not supported");
    n = mul_mat();
    n.ts[1] = tensor(APH_DTYPE_F16, {256, 5, 2});
    CHECK(n.reason() == "MUL_MAT src1 must be f32, got f16");
    n = mul_mat();
    n.ts[0] = tensor(APH_DTYPE_Q4_K, {256, 8, 2});
    CHECK_THAT(n.reason(), Contains("MUL_MAT weights must be 2-D"));
    n = mul_mat();
    n.ts[1] = tensor(APH_DTYPE_F32, {128, 5, 2});
    CHECK_THAT(n.reason(), Contains("MUL_MAT inner sizes differ"));
    n = mul_mat();
    n.ts[3] = tensor(APH_DTYPE_F32, {8, 10});
    CHECK_THAT(n.reason(), Contains("MUL_MAT dst shape [8, 10, 1, 1] does not match"));
    n = mul_mat();
    n.ts[2] = tensor(APH_DTYPE_F32, {7});
    CHECK(n.reason() == "MUL_MAT bias length differs from the output rows");
    n = mul_mat();
    n.ts[2] = tensor(APH_DTYPE_F16, {8});
    CHECK(n.reason() == "MUL_MAT bias must be f32, got f16");
}

TEST_CASE("graph_rules: ROPE", "[sdk][graph_rules]") {
    CHECK(rope().reason().empty());
    Node n = rope();
    n.ts[2].buffer = n.ts[0].buffer;  // exactly in place is allowed
    CHECK(n.reason().empty());
    n.ts[2].offset = 4;  // partially overlapping is not
    CHECK(n.reason() == "ROPE dst partially overlaps src0");
    n = rope();
    n.node.src[1] = -1;
    CHECK(n.reason() == "ROPE needs src0 and src1 (positions)");
    n = rope();
    n.ts[1] = tensor(APH_DTYPE_F32, {3});
    CHECK(n.reason() == "ROPE positions must be i32, got f32");
    n = rope();
    n.ts[1] = tensor(APH_DTYPE_I32, {2});
    CHECK(n.reason() == "ROPE needs one position per token");
    n = rope();
    n.ts[0] = tensor(APH_DTYPE_F32, {8, 4, 3, 2});
    n.ts[2] = tensor(APH_DTYPE_F32, {8, 4, 3, 2});
    CHECK_THAT(n.reason(), Contains("ROPE src0 must be [head_dim, heads, n]"));
    n = rope();
    n.node.iparams[0] = 1;
    CHECK(n.reason() == "ROPE mode 1 is not supported");
    n = rope();
    n.node.iparams[1] = 3;
    CHECK(n.reason() == "ROPE n_rot 3 must be even and in 1..8");
    n.node.iparams[1] = 10;
    CHECK(n.reason() == "ROPE n_rot 10 must be even and in 1..8");
    n.node.iparams[1] = 4;  // partial rotation is fine
    CHECK(n.reason().empty());
    n.node.fparams[0] = 0.0f;
    CHECK(n.reason() == "ROPE freq_base must be > 0");
}

TEST_CASE("graph_rules: KV_STORE", "[sdk][graph_rules]") {
    CHECK(kv_store().reason().empty());
    Node n = kv_store();
    n.ts[0] = tensor(APH_DTYPE_F32, {16, 3});  // rows that are whole cache rows
    CHECK(n.reason().empty());
    n = kv_store();
    n.node.src[1] = -1;
    CHECK(n.reason() == "KV_STORE needs src0 (k or v) and src1 (slots)");
    n = kv_store();
    n.ts[1] = tensor(APH_DTYPE_F32, {3});
    CHECK(n.reason() == "KV_STORE slots must be i32, got f32");
    n = kv_store();
    n.ts[2] = tensor(APH_DTYPE_BF16, {16, 10});
    CHECK(n.reason() == "KV_STORE cache dtype must be f32 or f16, got bf16");
    sdk::OpRules bf16;
    bf16.bf16_kv_cache = true;
    CHECK(n.reason(bf16).empty());
    n.ts[2] = tensor(APH_DTYPE_Q8_0, {32, 10});
    CHECK(n.reason(bf16) == "KV_STORE cache dtype must be f32, f16 or bf16, got q8_0");
    n = kv_store();
    n.ts[2] = tensor(APH_DTYPE_F16, {16, 10, 2});
    CHECK(n.reason() == "KV_STORE cache must be 2-D [head_dim*kv_heads, slots]");
    n = kv_store();
    n.ts[0] = tensor(APH_DTYPE_F32, {8, 3, 3});
    CHECK(n.reason() == "KV_STORE src0 [8, 3, 3, 1] does not fit cache rows of 16");
    n = kv_store();
    n.ts[1] = tensor(APH_DTYPE_I32, {4});
    CHECK(n.reason() == "KV_STORE needs one slot per token");
}

TEST_CASE("graph_rules: ATTENTION", "[sdk][graph_rules]") {
    CHECK(attention().reason().empty());
    Node n = attention();
    n.node.src[3] = -1;
    CHECK_THAT(n.reason(), Contains("ATTENTION needs src0 (q)"));
    n = attention();
    n.ts[4] = tensor(APH_DTYPE_F32, {8, 4, 3});
    CHECK_THAT(n.reason(), Contains("ATTENTION q/dst shapes differ"));
    n = attention();
    n.ts[3] = tensor(APH_DTYPE_F32, {2});
    CHECK(n.reason() == "ATTENTION block table must be i32, got f32");
    n = attention();
    n.ts[2] = tensor(APH_DTYPE_BF16, {16, 12});
    CHECK(n.reason() == "ATTENTION cache dtype must be f32 or f16, got bf16");
    sdk::OpRules bf16;
    bf16.bf16_kv_cache = true;
    CHECK(n.reason(bf16).empty());
    n = attention();
    n.ts[0] = tensor(APH_DTYPE_F32, {8, 4, 2, 2});
    n.ts[4] = tensor(APH_DTYPE_F32, {8, 4, 2, 2});
    CHECK_THAT(n.reason(), Contains("ATTENTION q must be [head_dim, heads, n]"));
    n = attention();
    n.ts[1] = tensor(APH_DTYPE_F32, {12, 12});
    n.ts[2] = tensor(APH_DTYPE_F32, {12, 12});
    CHECK(n.reason() == "ATTENTION K rows are not a multiple of head_dim");
    n = attention();
    n.ts[2] = tensor(APH_DTYPE_F32, {8, 12});
    CHECK(n.reason() == "ATTENTION K and V rows differ");
    n = attention();
    n.ts[1] = tensor(APH_DTYPE_F32, {16, 12, 2});
    CHECK(n.reason() == "ATTENTION caches must be 2-D");
    n = attention();
    n.ts[2] = tensor(APH_DTYPE_F32, {16, 11});
    CHECK(n.reason() == "ATTENTION K and V caches have different slot counts");
    n = attention();
    n.ts[0] = tensor(APH_DTYPE_F32, {8, 3, 2});
    n.ts[4] = tensor(APH_DTYPE_F32, {8, 3, 2});
    CHECK(n.reason() == "ATTENTION heads (3) are not a multiple of kv heads (2)");
    n = attention();
    n.node.iparams[1] = 0;
    CHECK(n.reason() == "ATTENTION block_size must be > 0");
    n = attention();
    n.node.iparams[0] = 1;
    CHECK(n.reason() == "ATTENTION n_kv (1) is smaller than the query count");
    n = attention();
    n.node.iparams[0] = 9;  // needs 3 blocks of 4
    CHECK(n.reason() == "ATTENTION block table is shorter than n_kv needs");
    n = attention();
    n.ts[3] = tensor(APH_DTYPE_I32, {2, 2});
    n.ts[3].nb[1] = 16;  // two rows with a gap between them
    n.ts[3].nb[2] = n.ts[3].nb[3] = 32;
    CHECK(n.reason() == "ATTENTION block table must be contiguous");
}

TEST_CASE("graph_rules: ADD broadcasts, SWIGLU and GEGLU do not", "[sdk][graph_rules]") {
    CHECK(binary(APH_OP_ADD, {16, 3, 2}).reason().empty());
    CHECK(binary(APH_OP_ADD, {16}).reason().empty());        // one row over every column
    CHECK(binary(APH_OP_ADD, {16, 1, 2}).reason().empty());  // extents of 1 broadcast in any outer dim
    CHECK(binary(APH_OP_ADD, {8, 3, 2}).reason() == "ADD rows differ in length");
    CHECK(binary(APH_OP_ADD, {16, 2, 2}).reason() == "ADD src1 [16, 2, 2, 1] does not broadcast to [16, 3, 2, 1]");
    Node n = binary(APH_OP_ADD, {16, 3, 2});
    n.node.src[1] = -1;
    CHECK(n.reason() == "binary op needs src0 and src1");
    n = binary(APH_OP_ADD, {16, 3, 2});
    n.ts[2] = tensor(APH_DTYPE_F32, {16, 6});
    CHECK_THAT(n.reason(), Contains("src0/dst shapes differ"));
    n = binary(APH_OP_ADD, {16, 3, 2});
    n.ts[1] = tensor(APH_DTYPE_F16, {16, 3, 2});
    CHECK(n.reason() == "src1 must be f32, got f16");

    for (uint32_t op : {uint32_t(APH_OP_SWIGLU), uint32_t(APH_OP_GEGLU)}) {
        CHECK(binary(op, {16, 3, 2}).reason().empty());
        CHECK(binary(op, {16}).reason() == "src0/src1 shapes differ: [16, 3, 2, 1] vs [16, 1, 1, 1]");
    }
}

TEST_CASE("graph_rules: SCALE", "[sdk][graph_rules]") {
    CHECK(scale().reason().empty());
    Node n = scale();
    n.node.src[0] = -1;
    CHECK(n.reason() == "SCALE needs src0");
    n = scale();
    n.ts[1] = tensor(APH_DTYPE_F16, {16, 3});
    CHECK(n.reason() == "SCALE dst must be f32, got f16");
    n = scale();
    n.ts[1] = tensor(APH_DTYPE_F32, {48});
    CHECK_THAT(n.reason(), Contains("SCALE src0/dst shapes differ"));
}

TEST_CASE("graph_rules: COPY", "[sdk][graph_rules]") {
    CHECK(copy(APH_DTYPE_F32, APH_DTYPE_F16).reason().empty());
    CHECK(copy(APH_DTYPE_BF16, APH_DTYPE_F32).reason().empty());
    CHECK(copy(APH_DTYPE_Q8_0, APH_DTYPE_Q8_0).reason().empty());  // same dtype: a plain copy
    CHECK(copy(APH_DTYPE_Q8_0, APH_DTYPE_F32).reason() == "COPY q8_0 -> f32 is not supported");
    Node n = copy(APH_DTYPE_F32, APH_DTYPE_F32);
    n.node.src[0] = -1;
    CHECK(n.reason() == "COPY needs src0");
    n = copy(APH_DTYPE_F32, APH_DTYPE_F32);
    n.ts[1] = tensor(APH_DTYPE_F32, {96});  // a reshape of contiguous tensors
    CHECK(n.reason().empty());
    n.ts[1] = tensor(APH_DTYPE_F32, {64});
    CHECK(n.reason() == "COPY element counts differ");
    n = copy(APH_DTYPE_F32, APH_DTYPE_F32);
    n.ts[1] = tensor(APH_DTYPE_F32, {96});
    n.ts[0].nb[1] = 256;  // a strided view: rows are not packed
    n.ts[0].nb[2] = n.ts[0].nb[3] = 768;
    CHECK(n.reason() == "COPY between different shapes needs contiguous tensors");
}

TEST_CASE("graph_rules: an op the ABI does not define is refused", "[sdk][graph_rules]") {
    Node n = scale();
    n.node.op = 99;
    CHECK(n.reason() == "op 99 is not an op of ABI " + std::to_string(APH_ABI_MAJOR) + "." +
                            std::to_string(APH_ABI_MINOR));
    sdk::OpRules named;
    named.backend_name = "cpu";
    CHECK(n.reason(named) == "op 99 is not supported by the cpu backend");
    n.node.op = APH_OP_NONE;
    CHECK_THAT(n.reason(named), Contains("op 0 is not supported"));
}
