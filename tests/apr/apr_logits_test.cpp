// Same weights, same logits: a GGUF and the APR converted from it (uncompressed, LZ4, zstd) give bit-identical
// logits on the CPU backends — the APR path is the same code on the same bytes after loading. Also the APR-native
// 4-bit / 8-bit types: they run, agree with their f32 dequantization, and keep the batch-vs-decode invariant.
#include "apr_test_support.hpp"

#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

using namespace aprhost;

namespace {

const std::vector<int32_t> kTokens = {17, 300, 5, 999, 42, 7, 123, 64, 1000, 3, 88, 250};

void check_bit_identical(const test::Logits& a, const test::Logits& b) {
    REQUIRE(a.batch.size() == b.batch.size());
    REQUIRE(a.last_decoded.size() == b.last_decoded.size());
    CHECK(std::memcmp(a.batch.data(), b.batch.data(), a.batch.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.last_decoded.data(), b.last_decoded.data(), a.last_decoded.size() * sizeof(float)) == 0);
}

// Writes an APR copy of a GGUF whose 2-D weights are re-quantized to `dtype` (APR_Q4, APR_Q8, or F32 holding
// `dequant_of`'s values), everything else copied.
void write_requantized(const std::string& gguf, const std::string& out, aph_dtype dtype, aph_dtype dequant_of) {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto f = core::ModelFile::open(reg, gguf);
    core::AprWriter w(f->metadata());
    for (auto* t : test::in_file_order(*f)) {
        std::vector<int64_t> ne(t->ne.begin(), t->ne.begin() + t->n_dims);
        if (t->n_dims != 2) {
            w.add_tensor(t->name, t->dtype, ne, [t](std::span<uint8_t> o) { std::memcpy(o.data(), t->data, o.size()); });
            continue;
        }
        const int64_t n = t->elements();
        std::vector<float> x(static_cast<size_t>(n));
        ref::dequantize_row(t->dtype, t->data, x.data(), n);
        // The APR-native encoding of x (APR_Q8: one scale for the whole tensor, repeated per block).
        auto encode = [n, x](aph_dtype q) {
            std::vector<uint8_t> bytes(ref::row_bytes(q, n));
            if (q == APH_DTYPE_APR_Q8) {
                float amax = 0;
                for (float v : x) amax = std::max(amax, std::fabs(v));
                const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
                for (int64_t b = 0; b < n / 32; ++b) {
                    std::memcpy(&bytes[size_t(b) * 36], &d, 4);
                    for (int i = 0; i < 32; ++i)
                        bytes[size_t(b) * 36 + 4 + i] = uint8_t(int8_t(std::lround(x[size_t(b * 32 + i)] * id)));
                }
            } else {
                ref::quantize_row(q, x.data(), bytes.data(), n);
            }
            return bytes;
        };
        std::vector<uint8_t> q = encode(dequant_of);
        if (dtype == APH_DTYPE_F32) {
            std::vector<float> y(static_cast<size_t>(n));
            ref::dequantize_row(dequant_of, q.data(), y.data(), n);
            q.assign(reinterpret_cast<uint8_t*>(y.data()), reinterpret_cast<uint8_t*>(y.data() + n));
        }
        w.add_tensor(t->name, dtype, ne, [q](std::span<uint8_t> o) { std::memcpy(o.data(), q.data(), o.size()); });
    }
    w.write(out);
}

}  // namespace

TEST_CASE("GGUF and APR give bit-identical logits on synthetic models", "[apr][logits]") {
    auto [arch, quant] = GENERATE(table<std::string, std::string>(
        {{"qwen2", "q4_k"}, {"qwen2", "q8_0"}, {"llama", "q4_0"}, {"llama", "f16"}}));
    auto backend = GENERATE(std::string("cpu"), std::string("cpu-scalar"));
    INFO(arch << " " << quant << " on " << backend);
    std::string gguf = test::synth_model(arch, "tiny", quant);
    std::string apr = test::scratch("logits.apr");
    test::convert(gguf, apr, true);
    check_bit_identical(test::model_logits(gguf, kTokens, backend), test::model_logits(apr, kTokens, backend));
    std::filesystem::remove(apr);
}

TEST_CASE("compressed APR files load and give identical logits", "[apr][logits][compress]") {
    auto c = GENERATE(core::AprCompression::LZ4, core::AprCompression::ZSTD);
    INFO(core::apr_compression_name(c));
    std::string gguf = test::synth_model("qwen2", "tiny", "q4_k");
    std::string apr = test::scratch("logits-c.apr");
    test::convert(gguf, apr, true, c);
    check_bit_identical(test::model_logits(gguf, kTokens), test::model_logits(apr, kTokens));
    std::filesystem::remove(apr);
}

TEST_CASE("SmolLM2 GGUF and APR give bit-identical logits", "[apr][logits][smollm2]") {
    auto path = test::smollm2_path();
    if (!path) {
        WARN("SKIPPED: SmolLM2 model not found (run scripts/fetch-models.sh or set APRHOST_SMOLLM2)");
        return;
    }
    std::string apr = test::scratch("smol.apr");
    test::convert(*path, apr, true);
    check_bit_identical(test::model_logits(*path, kTokens), test::model_logits(apr, kTokens));
    std::filesystem::remove(apr);
}

TEST_CASE("APR-native 4-bit and 8-bit weights run and match their f32 dequantization", "[apr][logits][native]") {
    auto q = GENERATE(APH_DTYPE_APR_Q4, APH_DTYPE_APR_Q8);
    INFO("dtype " << q);
    std::string gguf = test::synth_model("qwen2", "tiny", "f16");
    std::string native = test::scratch("native.apr"), f32 = test::scratch("native-f32.apr");
    write_requantized(gguf, native, q, q);
    write_requantized(gguf, f32, APH_DTYPE_F32, q);
    {
        core::PluginRegistry reg(test::build_tree_plugins());
        auto f = core::ModelFile::open(reg, native);
        CHECK(f->find_tensor("blk.0.attn_q.weight")->dtype == q);
    }
    auto a = test::model_logits(native, kTokens);
    auto b = test::model_logits(f32, kTokens);
    REQUIRE(a.batch.size() == b.batch.size());
    double worst = 0, scale = 0;
    for (size_t i = 0; i < a.batch.size(); ++i) {
        REQUIRE(std::isfinite(a.batch[i]));
        worst = std::max(worst, double(std::fabs(a.batch[i] - b.batch[i])));
        scale = std::max(scale, double(std::fabs(b.batch[i])));
    }
    INFO("max abs diff " << worst << " (max |logit| " << scale << ")");
    CHECK(worst <= 1e-3 * std::max(1.0, scale));
    // Batch-vs-decode invariant: the last row of the batch equals the token-by-token decode.
    const size_t V = a.last_decoded.size();
    double kv = 0;
    for (size_t i = 0; i < V; ++i)
        kv = std::max(kv, double(std::fabs(a.last_decoded[i] - a.batch[a.batch.size() - V + i])));
    CHECK(kv <= 1e-5);
    std::filesystem::remove(native);
    std::filesystem::remove(f32);
}
