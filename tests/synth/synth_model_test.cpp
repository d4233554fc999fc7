// Synthetic models: the tensor plan and llama-quantize-like type mix of every shape, metadata and tokenizer,
// weight statistics of every generated type (checked with the SDK's reference dequantizers), determinism, and
// whole tiny files read back through the GGUF format plugin.
#include <aprhost/abi.h>
#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/metadata.hpp>
#include <aprhost/core/model_shapes.hpp>
#include <aprhost/core/synth_model.hpp>
#include <aprhost/core/tokenizer.hpp>
#include <aprhost/reference/dequant.hpp>

#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace aprhost::core;

namespace {

SynthOptions options(std::string arch, std::string shape, aph_dtype quant, uint64_t seed = 1) {
    SynthOptions o;
    o.arch = std::move(arch);
    o.shape = std::move(shape);
    o.quant = quant;
    o.seed = seed;
    return o;
}

std::map<std::string, SynthTensorPlan> by_name(const std::vector<SynthTensorPlan>& plan) {
    std::map<std::string, SynthTensorPlan> m;
    for (const auto& p : plan) m.emplace(p.name, p);
    return m;
}

std::set<aph_dtype> types_of(const std::vector<SynthTensorPlan>& plan) {
    std::set<aph_dtype> s;
    for (const auto& p : plan) s.insert(p.dtype);
    return s;
}

int64_t elements(const std::vector<int64_t>& ne) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
}

struct Stats {
    double mean = 0, std = 0, min = 0, max = 0;
    bool finite = true;
};

Stats dequant_stats(aph_dtype dtype, const uint8_t* bytes, int64_t n) {
    std::vector<float> f(static_cast<size_t>(n));
    aprhost::ref::dequantize_row(dtype, bytes, f.data(), n);
    Stats s;
    double sum = 0, sq = 0;
    s.min = s.max = f[0];
    for (float x : f) {
        if (!std::isfinite(x)) s.finite = false;
        sum += x;
        sq += static_cast<double>(x) * x;
        s.min = std::min<double>(s.min, x);
        s.max = std::max<double>(s.max, x);
    }
    s.mean = sum / static_cast<double>(n);
    s.std = std::sqrt(sq / static_cast<double>(n) - s.mean * s.mean);
    return s;
}

std::vector<uint8_t> generate(const SynthTensorPlan& p, uint64_t seed, uint64_t index) {
    std::vector<uint8_t> out(p.bytes);
    fill_synthetic_tensor(p, seed, index, out);
    return out;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void expect_usage_error(const SynthOptions& o) {
    try {
        plan_synthetic_model(o);
        FAIL("no error for arch=" << o.arch << " shape=" << o.shape << " quant=" << int(o.quant));
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::USAGE);
    }
}

// The GGUF format plugin, loaded the way the host does: dlopen + aprhost_plugin_entry. Null when not built.
struct GgufPlugin {
    void* lib = nullptr;
    const aph_format_vtable* vt = nullptr;
    GgufPlugin() {
        std::string path = std::string(APRHOST_PLUGIN_DIR) + "/libaprhost-format-gguf.so";
        if (!std::filesystem::exists(path)) return;
        lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        REQUIRE(lib != nullptr);
        auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(lib, APH_ENTRY_SYMBOL));
        REQUIRE(entry != nullptr);
        const aph_plugin_desc* desc = entry();
        REQUIRE(desc->kind == APH_PLUGIN_FORMAT);
        vt = static_cast<const aph_format_vtable*>(desc->vtable);
    }
    ~GgufPlugin() {
        if (lib) dlclose(lib);
    }
};

// Everything the plugin reports about one file, copied out.
struct LoadedFile {
    Metadata meta;
    std::vector<aph_tensor_info> tensors;
    std::vector<std::string> names;
    std::vector<std::vector<uint8_t>> data;
};

LoadedFile load_with_plugin(const GgufPlugin& plugin, const std::string& path) {
    aph_host_services host{};
    host.struct_size = sizeof(host);
    aph_error err{};
    void* model = nullptr;
    aph_status st = plugin.vt->open(&host, path.c_str(), nullptr, 0, &model, &err);
    INFO(err.message);
    REQUIRE(st == APH_OK);
    LoadedFile out;
    for (uint64_t i = 0; i < plugin.vt->metadata_count(model); ++i) {
        aph_metadata_entry e{};
        REQUIRE(plugin.vt->metadata_get(model, i, &e, &err) == APH_OK);
        out.meta.add_entry(e);
    }
    for (uint64_t i = 0; i < plugin.vt->tensor_count(model); ++i) {
        aph_tensor_info t{};
        REQUIRE(plugin.vt->tensor_get(model, i, &t, &err) == APH_OK);
        out.names.emplace_back(t.name.data, t.name.size);
        auto bytes = static_cast<const uint8_t*>(t.data);
        out.data.emplace_back(bytes, bytes + t.size);
        t.name = {};
        t.data = nullptr;
        out.tensors.push_back(t);
    }
    plugin.vt->close(model);
    return out;
}

}  // namespace

// --------------------------------------------------------------------------------------------------------------
// Plans and type mixes
// --------------------------------------------------------------------------------------------------------------

TEST_CASE("use_more_bits matches llama-quantize's layer rule", "[synth]") {
    // 24 layers: first eighth (0..2), last eighth (21..23), and every third from n/8 + 2.
    std::vector<int64_t> more;
    for (int64_t l = 0; l < 24; ++l)
        if (quant_use_more_bits(l, 24)) more.push_back(l);
    CHECK(more == std::vector<int64_t>{0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23});
    CHECK_FALSE(quant_use_more_bits(0, 2));
    CHECK(quant_use_more_bits(1, 2));
}

TEST_CASE("tiny qwen2 Q4_K_M: tied, biases, two K-quant types", "[synth]") {
    auto plan = plan_synthetic_model(options("qwen2", "tiny", APH_DTYPE_Q4_K));
    CHECK(plan.size() == 1 + 2 * 12 + 1);
    auto t = by_name(plan);
    CHECK(t.count("output.weight") == 0);
    CHECK(t.at("token_embd.weight").dtype == APH_DTYPE_Q6_K);  // tied: typed as the output head
    CHECK(t.at("token_embd.weight").ne == std::vector<int64_t>{256, 1024});
    CHECK(t.at("blk.0.attn_q.weight").ne == std::vector<int64_t>{256, 256});
    CHECK(t.at("blk.0.attn_k.weight").ne == std::vector<int64_t>{256, 128});
    CHECK(t.at("blk.0.attn_k.bias").ne == std::vector<int64_t>{128});
    CHECK(t.at("blk.0.attn_k.bias").dtype == APH_DTYPE_F32);
    CHECK(t.at("blk.0.ffn_down.weight").ne == std::vector<int64_t>{512, 256});
    CHECK(t.at("blk.0.ffn_gate.weight").ne == std::vector<int64_t>{256, 512});
    CHECK(t.at("blk.0.attn_v.weight").dtype == APH_DTYPE_Q4_K);
    CHECK(t.at("blk.1.attn_v.weight").dtype == APH_DTYPE_Q6_K);
    CHECK(t.at("blk.1.ffn_down.weight").dtype == APH_DTYPE_Q6_K);
    CHECK(t.at("blk.1.ffn_norm.weight").dtype == APH_DTYPE_F32);
    CHECK(t.at("output_norm.weight").init == SynthInit::NORM);
    CHECK(types_of(plan) == std::set<aph_dtype>{APH_DTYPE_F32, APH_DTYPE_Q4_K, APH_DTYPE_Q6_K});
    for (const auto& p : plan) CHECK(p.bytes == *dtype_row_bytes(p.dtype, p.ne[0]) * (p.ne.size() > 1 ? p.ne[1] : 1));
}

TEST_CASE("tiny llama: untied output head, no biases", "[synth]") {
    auto plan = plan_synthetic_model(options("llama", "tiny", APH_DTYPE_Q4_K));
    auto t = by_name(plan);
    CHECK(plan.size() == 1 + 2 * 9 + 2);
    CHECK(t.count("blk.0.attn_q.bias") == 0);
    CHECK(t.at("output.weight").dtype == APH_DTYPE_Q6_K);
    CHECK(t.at("output.weight").ne == std::vector<int64_t>{256, 1024});
    CHECK(t.at("token_embd.weight").dtype == APH_DTYPE_Q4_K);
    auto o = options("llama", "tiny", APH_DTYPE_Q4_K);
    o.tied_embeddings = true;
    CHECK(by_name(plan_synthetic_model(o)).count("output.weight") == 0);
}

TEST_CASE("0.5b Q4_K_M mixes types like a real file: 896-wide rows fall back to Q5_0 / Q8_0", "[synth]") {
    auto plan = plan_synthetic_model(options("qwen2", "0.5b", APH_DTYPE_Q4_K));
    auto t = by_name(plan);
    CHECK(plan.size() == 1 + 24 * 12 + 1);
    CHECK(t.at("token_embd.weight").ne == std::vector<int64_t>{896, 151936});
    CHECK(t.at("token_embd.weight").dtype == APH_DTYPE_Q8_0);   // tied output head, 896 % 256 != 0
    CHECK(t.at("blk.0.attn_q.weight").dtype == APH_DTYPE_Q5_0);
    CHECK(t.at("blk.0.attn_k.weight").ne == std::vector<int64_t>{896, 128});
    CHECK(t.at("blk.0.attn_v.weight").dtype == APH_DTYPE_Q8_0);  // more bits: Q6_K → Q8_0
    CHECK(t.at("blk.3.attn_v.weight").dtype == APH_DTYPE_Q5_0);
    CHECK(t.at("blk.5.attn_v.weight").dtype == APH_DTYPE_Q8_0);
    CHECK(t.at("blk.0.ffn_down.weight").ne == std::vector<int64_t>{4864, 896});
    CHECK(t.at("blk.0.ffn_down.weight").dtype == APH_DTYPE_Q6_K);  // 4864 = 19 · 256
    CHECK(t.at("blk.3.ffn_down.weight").dtype == APH_DTYPE_Q4_K);
    CHECK(t.at("blk.23.ffn_up.weight").dtype == APH_DTYPE_Q5_0);
    CHECK(types_of(plan) == std::set<aph_dtype>{APH_DTYPE_F32, APH_DTYPE_Q5_0, APH_DTYPE_Q8_0, APH_DTYPE_Q4_K,
                                                 APH_DTYPE_Q6_K});
    uint64_t total = 0;
    for (const auto& p : plan) total += p.bytes;
    INFO("0.5b Q4_K_M tensor bytes: " << total);
    CHECK(total > 350'000'000);  // real Qwen2.5-0.5B Q4_K_M files are ~400 MB
    CHECK(total < 450'000'000);
}

TEST_CASE("1.5b and 7b shapes", "[synth]") {
    auto p15 = by_name(plan_synthetic_model(options("qwen2", "1.5b", APH_DTYPE_Q4_K)));
    CHECK(p15.count("blk.27.ffn_down.weight") == 1);
    CHECK(p15.count("blk.28.ffn_down.weight") == 0);
    CHECK(p15.count("output.weight") == 0);
    CHECK(p15.at("token_embd.weight").dtype == APH_DTYPE_Q6_K);  // 1536 = 6 · 256
    CHECK(p15.at("blk.0.attn_q.weight").dtype == APH_DTYPE_Q4_K);
    CHECK(p15.at("blk.0.attn_k.weight").ne == std::vector<int64_t>{1536, 256});
    CHECK(p15.at("blk.0.ffn_down.weight").ne == std::vector<int64_t>{8960, 1536});

    auto plan7 = plan_synthetic_model(options("qwen2", "7b", APH_DTYPE_Q4_K));
    auto p7 = by_name(plan7);
    CHECK(p7.at("output.weight").ne == std::vector<int64_t>{3584, 152064});
    CHECK(p7.at("output.weight").dtype == APH_DTYPE_Q6_K);
    CHECK(p7.at("token_embd.weight").dtype == APH_DTYPE_Q4_K);
    CHECK(p7.at("blk.0.attn_k.weight").ne == std::vector<int64_t>{3584, 512});
    CHECK(p7.at("blk.0.ffn_gate.weight").ne == std::vector<int64_t>{3584, 18944});
    uint64_t total = 0;
    for (const auto& p : plan7) total += p.bytes;
    CHECK(total > 4'000'000'000ull);  // real Qwen2.5-7B Q4_K_M: ~4.7 GB
    CHECK(total < 5'000'000'000ull);
}

TEST_CASE("the plain targets: Q4_0 keeps a Q6_K/Q8_0 output head, Q8_0 and F16 are uniform", "[synth]") {
    auto q40 = by_name(plan_synthetic_model(options("qwen2", "0.5b", APH_DTYPE_Q4_0)));
    CHECK(q40.at("blk.0.attn_q.weight").dtype == APH_DTYPE_Q4_0);
    CHECK(q40.at("blk.0.ffn_down.weight").dtype == APH_DTYPE_Q4_0);
    CHECK(q40.at("token_embd.weight").dtype == APH_DTYPE_Q8_0);
    auto q40t = by_name(plan_synthetic_model(options("qwen2", "tiny", APH_DTYPE_Q4_0)));
    CHECK(q40t.at("token_embd.weight").dtype == APH_DTYPE_Q6_K);
    CHECK(types_of(plan_synthetic_model(options("qwen2", "tiny", APH_DTYPE_Q8_0))) ==
          std::set<aph_dtype>{APH_DTYPE_F32, APH_DTYPE_Q8_0});
    CHECK(types_of(plan_synthetic_model(options("llama", "tiny", APH_DTYPE_F16))) ==
          std::set<aph_dtype>{APH_DTYPE_F32, APH_DTYPE_F16});
}

TEST_CASE("unknown arch, shape or quant is a usage error", "[synth]") {
    expect_usage_error(options("gemma3", "tiny", APH_DTYPE_Q4_K));
    expect_usage_error(options("qwen2", "3b", APH_DTYPE_Q4_K));
    expect_usage_error(options("qwen2", "tiny", APH_DTYPE_Q5_K));
    expect_usage_error(options("qwen2", "tiny", APH_DTYPE_BF16));
    CHECK_THROWS_AS(write_synthetic_model(options("qwen2", "huge", APH_DTYPE_Q4_K), "/nonexistent/x.gguf"), Error);
}

// --------------------------------------------------------------------------------------------------------------
// Metadata and tokenizer
// --------------------------------------------------------------------------------------------------------------

TEST_CASE("metadata: llama.cpp key names and the real hyper-parameters", "[synth]") {
    Metadata m = synthetic_model_metadata(options("qwen2", "1.5b", APH_DTYPE_Q4_K));
    CHECK(m.get_string("general.architecture") == "qwen2");
    CHECK(m.get_string("general.name").has_value());
    CHECK(m.get_int("general.file_type") == 15);
    CHECK(m.get_int("general.alignment") == 32);
    CHECK(m.get_int("qwen2.context_length") == 32768);
    CHECK(m.get_int("qwen2.embedding_length") == 1536);
    CHECK(m.get_int("qwen2.block_count") == 28);
    CHECK(m.get_int("qwen2.feed_forward_length") == 8960);
    CHECK(m.get_int("qwen2.attention.head_count") == 12);
    CHECK(m.get_int("qwen2.attention.head_count_kv") == 2);
    CHECK(*m.get_float("qwen2.attention.layer_norm_rms_epsilon") == Approx(1e-6));
    CHECK(*m.get_float("qwen2.rope.freq_base") == Approx(1e6));
    CHECK(m.get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(m.get_string("tokenizer.ggml.pre") == "qwen2");
    CHECK(m.get_string_array("tokenizer.ggml.tokens").size() == 151936);
    CHECK(m.get_i32_array("tokenizer.ggml.token_type").size() == 151936);
    CHECK(m.get_bool("tokenizer.ggml.add_bos_token") == false);
    CHECK(m.get_string("tokenizer.chat_template")->find("<|im_start|>") != std::string::npos);

    Metadata l = synthetic_model_metadata(options("llama", "7b", APH_DTYPE_F16));
    CHECK(l.get_string("general.architecture") == "llama");
    CHECK(l.get_int("llama.embedding_length") == 3584);
    CHECK(l.get_int("llama.attention.head_count") == 28);
    CHECK(l.get_int("llama.attention.head_count_kv") == 4);
    CHECK(l.get_int("general.file_type") == 1);
    CHECK(l.get_string_array("tokenizer.ggml.tokens").size() == 152064);
}

TEST_CASE("vocabulary: byte tokens, merges whose parts and results are tokens, specials last", "[synth]") {
    Metadata m = synthetic_model_metadata(options("qwen2", "tiny", APH_DTYPE_Q4_K));
    const auto& tokens = m.get_string_array("tokenizer.ggml.tokens");
    const auto types = m.get_i32_array("tokenizer.ggml.token_type");
    const auto& merges = m.get_string_array("tokenizer.ggml.merges");
    REQUIRE(tokens.size() == 1024);
    REQUIRE(types.size() == 1024);
    CHECK(tokens[65] == "A");
    CHECK(tokens[32] == "\xC4\xA0");   // ' ' → 'Ġ' (U+0120)
    CHECK(tokens[10] == "\xC4\x8A");   // '\n' → 'Ċ' (U+010A)
    CHECK(tokens[0] == "\xC4\x80");    // 0x00 → U+0100
    CHECK(tokens[255] == "\xC3\xBF");  // 0xFF maps to itself (ÿ)
    std::set<std::string> vocab(tokens.begin(), tokens.end());
    CHECK(vocab.size() == tokens.size());  // no duplicates
    CHECK(vocab.count("\xC4\xA0the") == 1);  // "Ġthe"
    CHECK(merges.size() > 200);
    for (const auto& mg : merges) {
        auto sp = mg.find(' ');
        REQUIRE(sp != std::string::npos);
        std::string a = mg.substr(0, sp), b = mg.substr(sp + 1);
        CHECK(vocab.count(a) == 1);
        CHECK(vocab.count(b) == 1);
        CHECK(vocab.count(a + b) == 1);
    }
    CHECK(tokens[1021] == "<|endoftext|>");
    CHECK(tokens[1022] == "<|im_start|>");
    CHECK(tokens[1023] == "<|im_end|>");
    CHECK(types[1021] == 3);
    CHECK(types[1023] == 3);
    CHECK(types[100] == 1);
    CHECK(types[1000] == 1);
    CHECK(m.get_int("tokenizer.ggml.eos_token_id") == 1023);
    CHECK(m.get_int("tokenizer.ggml.bos_token_id") == 1021);
}

TEST_CASE("the core tokenizer loads the synthetic vocabulary and uses its merges", "[synth]") {
    Metadata m = synthetic_model_metadata(options("qwen2", "tiny", APH_DTYPE_Q4_K));
    auto tok = Tokenizer::from_metadata(m);
    REQUIRE(tok);
    CHECK(tok->eos_id() == 1023);
    const std::string text = "Hello world, the quick brown fox jumps over the lazy dog.\n\nOnce upon a time";
    auto ids = tok->encode(text, false, false);
    CHECK(tok->decode(ids) == text);
    CHECK(ids.size() < 25);  // merges at work: far fewer tokens than bytes
    auto the = tok->encode(" the", false, false);
    REQUIRE(the.size() == 1);
    CHECK(tok->token_text(the[0]) == "\xC4\xA0the");
    auto chat = tok->encode("<|im_start|>user\nhi<|im_end|>", false, true);
    REQUIRE(chat.size() >= 2);
    CHECK(chat.front() == 1022);
    CHECK(chat.back() == 1023);
    CHECK(tok->is_end_of_generation(1023));
}

// --------------------------------------------------------------------------------------------------------------
// Weights
// --------------------------------------------------------------------------------------------------------------

TEST_CASE("dequantised weights are zero-mean with std 1/sqrt(in) for every generated type", "[synth]") {
    const aph_dtype types[] = {APH_DTYPE_Q4_K, APH_DTYPE_Q6_K, APH_DTYPE_Q5_0, APH_DTYPE_Q4_0,
                               APH_DTYPE_Q8_0, APH_DTYPE_F16,  APH_DTYPE_F32};
    for (int64_t in : {int64_t{1024}, int64_t{4864}}) {
        for (aph_dtype t : types) {
            SynthTensorPlan p{"w", t, {in, 256}, SynthInit::WEIGHT, static_cast<float>(1.0 / std::sqrt(double(in))),
                              *dtype_row_bytes(t, in) * 256};
            auto bytes = generate(p, 7, 3);
            Stats s = dequant_stats(t, bytes.data(), elements(p.ne));
            INFO(dtype_name(t) << " in=" << in << " mean=" << s.mean << " std=" << s.std << " target=" << p.scale);
            CHECK(s.finite);
            CHECK(std::abs(s.mean) < 0.02 * p.scale);
            CHECK(s.std == Approx(p.scale).epsilon(0.03));
            CHECK(s.max < 10 * p.scale);  // bounded like real quantised weights
        }
    }
}

TEST_CASE("the 7B's smallest scales (Q6_K ffn_down, in = 18944) still give the intended std", "[synth]") {
    const int64_t in = 18944;
    SynthTensorPlan p{"w", APH_DTYPE_Q6_K, {in, 32}, SynthInit::WEIGHT, static_cast<float>(1.0 / std::sqrt(double(in))),
                      *dtype_row_bytes(APH_DTYPE_Q6_K, in) * 32};
    auto bytes = generate(p, 1, 0);
    Stats s = dequant_stats(p.dtype, bytes.data(), elements(p.ne));
    CHECK(s.std == Approx(p.scale).epsilon(0.05));
}

TEST_CASE("norms are 1 plus small noise, biases small", "[synth]") {
    SynthTensorPlan norm{"n", APH_DTYPE_F32, {4096}, SynthInit::NORM, 0.05f, 4096 * 4};
    Stats s = dequant_stats(APH_DTYPE_F32, generate(norm, 1, 0).data(), 4096);
    CHECK(s.mean == Approx(1.0).margin(0.01));
    CHECK(s.min >= 0.95 - 1e-6);
    CHECK(s.max <= 1.05 + 1e-6);
    CHECK(s.std > 0.01);
    SynthTensorPlan bias{"b", APH_DTYPE_F32, {4096}, SynthInit::BIAS, 0.05f, 4096 * 4};
    Stats b = dequant_stats(APH_DTYPE_F32, generate(bias, 1, 1).data(), 4096);
    CHECK(std::abs(b.mean) < 0.005);
    CHECK(b.max <= 0.05 + 1e-6);
    CHECK(b.min >= -0.05 - 1e-6);
}

TEST_CASE("tensor bytes are deterministic per seed and tensor, and differ otherwise", "[synth]") {
    // Big enough for several 1 MiB chunks, so the multi-threaded path runs too.
    SynthTensorPlan p{"w", APH_DTYPE_Q4_K, {4096, 2048}, SynthInit::WEIGHT, 1.0f / 64, *dtype_row_bytes(APH_DTYPE_Q4_K, 4096) * 2048};
    auto a = generate(p, 5, 2);
    CHECK(a == generate(p, 5, 2));
    CHECK(a != generate(p, 6, 2));
    CHECK(a != generate(p, 5, 3));
    std::vector<uint8_t> wrong(p.bytes - 1);
    CHECK_THROWS_AS(fill_synthetic_tensor(p, 5, 2, wrong), Error);
}

// --------------------------------------------------------------------------------------------------------------
// Whole files
// --------------------------------------------------------------------------------------------------------------

TEST_CASE("tiny files for every quant write, read back through the GGUF plugin and match the plan", "[synth]") {
    GgufPlugin plugin;
    const std::string dir = std::string(APRHOST_TEST_DATA_DIR) + "/synth";
    std::filesystem::create_directories(dir);
    for (auto [arch, quant] : {std::pair{"qwen2", APH_DTYPE_Q4_K}, std::pair{"qwen2", APH_DTYPE_Q4_0},
                               std::pair{"llama", APH_DTYPE_Q8_0}, std::pair{"qwen2", APH_DTYPE_F16}}) {
        auto opts = options(arch, "tiny", quant, 11);
        const std::string path = dir + "/tiny-" + arch + "-" + dtype_name(quant) + ".gguf";
        uint64_t last_done = 0, last_total = 0, calls = 0;
        write_synthetic_model(opts, path, [&](uint64_t done, uint64_t total) {
            CHECK(done >= last_done);
            last_done = done;
            last_total = total;
            ++calls;
        });
        INFO(path);
        auto plan = plan_synthetic_model(opts);
        uint64_t plan_bytes = 0;
        for (const auto& p : plan) plan_bytes += p.bytes;
        CHECK(calls >= 1);
        CHECK(last_done == last_total);
        auto file = read_file(path);
        REQUIRE(file.size() > plan_bytes);
        CHECK(std::memcmp(file.data(), "GGUF", 4) == 0);
        uint32_t version = 0;
        uint64_t n_tensors = 0;
        std::memcpy(&version, file.data() + 4, 4);
        std::memcpy(&n_tensors, file.data() + 8, 8);
        CHECK(version == 3);
        CHECK(n_tensors == plan.size());

        if (!plugin.vt) {
            WARN("GGUF plugin not built: checked the header only");
            continue;
        }
        LoadedFile f = load_with_plugin(plugin, path);
        CHECK(f.meta.get_string("general.architecture") == arch);
        CHECK(f.meta.get_int(std::string(arch) + ".embedding_length") == 256);
        CHECK(f.meta.get_string_array("tokenizer.ggml.tokens").size() == 1024);
        CHECK(f.meta.get_string_array("tokenizer.ggml.merges") ==
              synthetic_model_metadata(opts).get_string_array("tokenizer.ggml.merges"));
        REQUIRE(f.tensors.size() == plan.size());
        for (size_t i = 0; i < plan.size(); ++i) {
            INFO(plan[i].name);
            CHECK(f.names[i] == plan[i].name);
            CHECK(f.tensors[i].dtype == static_cast<uint32_t>(plan[i].dtype));
            REQUIRE(f.tensors[i].n_dims == plan[i].ne.size());
            for (size_t d = 0; d < plan[i].ne.size(); ++d) CHECK(f.tensors[i].ne[d] == plan[i].ne[d]);
            CHECK(f.tensors[i].size == plan[i].bytes);
            CHECK(f.data[i] == generate(plan[i], opts.seed, i));
            Stats s = dequant_stats(plan[i].dtype, f.data[i].data(), elements(plan[i].ne));
            CHECK(s.finite);
            if (plan[i].init == SynthInit::WEIGHT) CHECK(s.std == Approx(plan[i].scale).epsilon(0.1));
        }
    }
}

TEST_CASE("same seed writes the same file, another seed a different one", "[synth]") {
    const std::string dir = std::string(APRHOST_TEST_DATA_DIR) + "/synth";
    std::filesystem::create_directories(dir);
    write_synthetic_model(options("qwen2", "tiny", APH_DTYPE_Q4_K, 3), dir + "/det-a.gguf");
    write_synthetic_model(options("qwen2", "tiny", APH_DTYPE_Q4_K, 3), dir + "/det-b.gguf");
    write_synthetic_model(options("qwen2", "tiny", APH_DTYPE_Q4_K, 4), dir + "/det-c.gguf");
    auto a = read_file(dir + "/det-a.gguf");
    auto b = read_file(dir + "/det-b.gguf");
    auto c = read_file(dir + "/det-c.gguf");
    REQUIRE(!a.empty());
    CHECK(a == b);
    CHECK(a.size() == c.size());  // only general.name's seed digit and the weights differ
    CHECK(a != c);
}
