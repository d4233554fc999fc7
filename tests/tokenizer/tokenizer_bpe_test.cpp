// Byte-level BPE on hand-made vocabularies: merge order, pre-tokenizer presets, special tokens, round trips,
// metadata validation.
#include "tokenizer_test_support.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <catch2/catch.hpp>

using aprhost::core::Error;
using aprhost::core::Metadata;
using aprhost::core::Tokenizer;
using aprhost::test::BpeVocab;
using aprhost::test::gpt2_byte_char;
using Ids = std::vector<int32_t>;

namespace {

std::unique_ptr<Tokenizer> make(const BpeVocab& v, const std::string& pre = "gpt2") {
    return Tokenizer::from_metadata(v.metadata(pre));
}

const std::string G = gpt2_byte_char(' ');  // "Ġ"

}  // namespace

TEST_CASE("bpe: merges are applied in rank order", "[tokenizer][bpe]") {
    SECTION("lower rank first: ab before bc") {
        BpeVocab v;
        int32_t ab = v.merge("a", "b");
        v.merge("b", "c");
        auto tok = make(v);
        CHECK(tok->encode("abc", false, false) == Ids{ab, v.id("c")});
    }
    SECTION("lower rank first: bc before ab") {
        BpeVocab v;
        int32_t bc = v.merge("b", "c");
        v.merge("a", "b");
        auto tok = make(v);
        CHECK(tok->encode("abc", false, false) == Ids{v.id("a"), bc});
    }
    SECTION("a merge result takes part in later merges") {
        BpeVocab v;
        v.merge("b", "c");
        v.merge("a", "b");
        int32_t abc = v.merge("a", "bc");
        auto tok = make(v);
        CHECK(tok->encode("abc", false, false) == Ids{abc});
    }
    SECTION("equal ranks merge leftmost first") {
        BpeVocab v;
        int32_t aa = v.merge("a", "a");
        auto tok = make(v);
        CHECK(tok->encode("aaa", false, false) == Ids{aa, v.id("a")});
        CHECK(tok->encode("aaaa", false, false) == Ids{aa, aa});
    }
    SECTION("multi-byte characters are merged from their bytes") {
        BpeVocab v;
        std::string e = aprhost::test::gpt2_bytes("é");  // two byte tokens
        int32_t e_id = v.merge(e.substr(0, 2), e.substr(2));
        auto tok = make(v);
        CHECK(tok->encode("é", false, false) == Ids{e_id});
        // Without the merge the bytes come out one by one.
        BpeVocab plain;
        CHECK(make(plain)->encode("é", false, false) ==
              Ids{plain.id(gpt2_byte_char(0xC3)), plain.id(gpt2_byte_char(0xA9))});
    }
}

TEST_CASE("bpe: long words merge correctly", "[tokenizer][bpe]") {
    BpeVocab v;
    v.merge("a", "a");
    int32_t a4 = v.merge("aa", "aa");
    auto tok = make(v);
    std::string word(4097, 'a');
    Ids ids = tok->encode(word, false, false);
    REQUIRE(ids.size() == 1025);
    CHECK(std::count(ids.begin(), ids.end(), a4) == 1024);
    CHECK(ids.back() == v.id("a"));
    CHECK(tok->decode(ids) == word);
}

TEST_CASE("bpe: pre-tokenizer presets split before merging", "[tokenizer][bpe]") {
    BpeVocab v;
    int32_t aG = v.merge("a", G);  // would glue "a " together if the split did not stop it
    int32_t Gb = v.merge(G, "b");
    v.merge("1", "2");
    v.merge("12", "3");
    int32_t n1234 = v.merge("123", "4");
    int32_t dollar_h = v.merge("$", "h");
    int32_t quote_S = v.merge("'", "S");
    int32_t one = v.id("1"), two = v.id("2"), three = v.id("3"), four = v.id("4");
    (void)aG;

    SECTION("gpt2") {
        auto tok = make(v, "gpt2");
        CHECK(tok->encode("a b", false, false) == Ids{v.id("a"), Gb});
        CHECK(tok->encode("1234", false, false) == Ids{n1234});
        CHECK(tok->encode("$h", false, false) == Ids{v.id("$"), v.id("h")});
        CHECK(tok->encode("'S", false, false) == Ids{v.id("'"), v.id("S")});
        CHECK(std::string(tok->model_name()) == "gpt2 (gpt2)");
    }
    SECTION("default is gpt2") {
        Metadata m = v.metadata();
        m.set_string("tokenizer.ggml.pre", "default");
        CHECK(Tokenizer::from_metadata(m)->encode("1234", false, false) == Ids{n1234});
    }
    SECTION("qwen2: single digits, case-insensitive contractions, punctuation glued to words") {
        auto tok = make(v, "qwen2");
        CHECK(tok->encode("1234", false, false) == Ids{one, two, three, four});
        CHECK(tok->encode("$h", false, false) == Ids{dollar_h});
        CHECK(tok->encode("'S", false, false) == Ids{quote_S});
        CHECK(tok->encode("a b", false, false) == Ids{v.id("a"), Gb});
    }
    SECTION("llama-bpe / llama3: digits in groups of three") {
        for (const char* name : {"llama-bpe", "llama3"}) {
            auto tok = make(v, name);
            Ids ids = tok->encode("1234", false, false);
            CHECK(ids == Ids{v.id("123"), four});
            CHECK(tok->encode("$h", false, false) == Ids{dollar_h});
        }
    }
    SECTION("smollm: every digit alone, GPT-2 rules elsewhere") {
        auto tok = make(v, "smollm");
        CHECK(tok->encode("1234", false, false) == Ids{one, two, three, four});
        CHECK(tok->encode("a b", false, false) == Ids{v.id("a"), Gb});
        CHECK(tok->encode("$h", false, false) == Ids{v.id("$"), v.id("h")});
        CHECK(tok->encode("b1b", false, false) == Ids{v.id("b"), one, v.id("b")});
    }
    SECTION("aliases GGUF converters write") {
        CHECK(make(v, "gpt-2")->encode("1234", false, false) == Ids{n1234});
        CHECK(make(v, "deepseek-r1-qwen")->encode("1234", false, false) == Ids{one, two, three, four});
        CHECK(make(v, "llama-v3")->encode("1234", false, false) == Ids{v.id("123"), four});
        CHECK(make(v, "starcoder")->encode("1234", false, false) == Ids{one, two, three, four});
    }
    SECTION("unknown pre-tokenizer names the value") {
        try {
            make(v, "no-such-pre");
            FAIL("expected an error");
        } catch (const Error& e) {
            CHECK(e.kind() == aprhost::core::ErrorKind::BAD_INPUT);
            CHECK_THAT(e.what(), Catch::Contains("no-such-pre") && Catch::Contains("tokenizer.ggml.pre"));
        }
    }
}

TEST_CASE("bpe: llama3 looks a whole chunk up before merging", "[tokenizer][bpe]") {
    // "abc" is a token but no merge path reaches it: HF's ignore_merges (Llama 3) still emits it whole.
    BpeVocab v;
    int32_t abc = v.add("abc");
    v.merge("a", "b");
    CHECK(make(v, "llama3")->encode("abc", false, false) == Ids{abc});
    CHECK(make(v, "gpt2")->encode("abc", false, false) == Ids{v.id("ab"), v.id("c")});
}

TEST_CASE("bpe: special tokens", "[tokenizer][bpe]") {
    BpeVocab v;
    int32_t im_start = v.add("<|im_start|>", 3);
    int32_t im_prefix = v.add("<|im", 3);
    int32_t user_def = v.add("<ud>", 4);
    int32_t hi = v.merge("h", "i");
    auto tok = make(v);

    SECTION("parse_special matches control tokens, longest first") {
        CHECK(tok->encode("hi<|im_start|>hi", false, true) == Ids{hi, im_start, hi});
        CHECK(tok->encode("<|im<|im_start|>", false, true) == Ids{im_prefix, im_start});
        CHECK(tok->encode("<|im_start|><|im_start|>", false, true) == Ids{im_start, im_start});
    }
    SECTION("without parse_special control tokens are plain text") {
        Ids ids = tok->encode("hi<|im_start|>", false, false);
        CHECK(std::find(ids.begin(), ids.end(), im_start) == ids.end());
        CHECK(tok->decode(ids) == "hi<|im_start|>");
    }
    SECTION("user-defined tokens always match") {
        CHECK(tok->encode("hi<ud>hi", false, false) == Ids{hi, user_def, hi});
        CHECK(tok->token_to_piece(user_def) == "<ud>");
    }
    SECTION("control pieces are empty unless rendered") {
        CHECK(tok->token_to_piece(im_start) == "");
        CHECK(tok->token_to_piece(im_start, true) == "<|im_start|>");
        CHECK(tok->decode({hi, im_start, hi}) == "hihi");
        CHECK(tok->decode({hi, im_start, hi}, true) == "hi<|im_start|>hi");
    }
}

TEST_CASE("bpe: decode(encode(s)) == s for arbitrary text", "[tokenizer][bpe]") {
    BpeVocab v;
    v.merge(G, "t");
    v.merge("h", "e");
    v.merge(G + "t", "he");
    std::string e = aprhost::test::gpt2_bytes("你");
    v.merge(e.substr(0, 2), e.substr(2, 2));
    for (const char* pre : {"gpt2", "qwen2", "llama3", "smollm"}) {
        auto tok = make(v, pre);
        std::mt19937 rng(42);
        for (int i = 0; i < 200; ++i) {
            std::string s = aprhost::test::random_utf8(rng, size_t(i % 40));
            INFO("pre " << pre << " case " << i);
            CHECK(tok->decode(tok->encode(s, false, true)) == s);
        }
        // Bytes that are not UTF-8 survive too (they fall into gaps of the pre-tokenizer).
        std::string broken = "a\xFF\xFE b\xC3 \xE4\xBD the\x80";
        CHECK(tok->decode(tok->encode(broken, false, false)) == broken);
    }
}

TEST_CASE("bpe: special ids, BOS and end of generation", "[tokenizer][bpe]") {
    BpeVocab v;
    int32_t bos = v.add("<|begin|>", 3);
    int32_t eos = v.add("<|end|>", 3);
    int32_t im_end = v.add("<|im_end|>", 3);
    int32_t eot = v.add("<|my_eot|>", 3);
    Metadata m = v.metadata();
    m.set_u32("tokenizer.ggml.bos_token_id", uint32_t(bos));
    m.set_u32("tokenizer.ggml.eos_token_id", uint32_t(eos));
    m.set_u32("tokenizer.ggml.eot_token_id", uint32_t(eot));

    SECTION("add_bos follows the model") {
        auto no_bos = Tokenizer::from_metadata(m);
        CHECK(no_bos->bos_id() == bos);
        CHECK(no_bos->eos_id() == eos);
        CHECK_FALSE(no_bos->add_bos_default());  // gpt2 default
        CHECK(no_bos->encode("a", true, false) == Ids{v.id("a")});
        m.set_bool("tokenizer.ggml.add_bos_token", true);
        auto with_bos = Tokenizer::from_metadata(m);
        CHECK(with_bos->add_bos_default());
        CHECK(with_bos->encode("a", true, false) == Ids{bos, v.id("a")});
        CHECK(with_bos->encode("a", false, false) == Ids{v.id("a")});
    }
    SECTION("llama3 preset wants BOS unless the key says otherwise") {
        m.set_string("tokenizer.ggml.pre", "llama-bpe");
        CHECK(Tokenizer::from_metadata(m)->add_bos_default());
        m.set_bool("tokenizer.ggml.add_bos_token", false);
        CHECK_FALSE(Tokenizer::from_metadata(m)->add_bos_default());
    }
    SECTION("end of generation: eos, eot key, known end-of-turn texts") {
        auto tok = Tokenizer::from_metadata(m);
        CHECK(tok->is_end_of_generation(eos));
        CHECK(tok->is_end_of_generation(eot));
        CHECK(tok->is_end_of_generation(im_end));
        CHECK_FALSE(tok->is_end_of_generation(bos));
        CHECK_FALSE(tok->is_end_of_generation(v.id("a")));
        CHECK_FALSE(tok->is_end_of_generation(-1));
    }
    SECTION("lookups") {
        auto tok = Tokenizer::from_metadata(m);
        CHECK(tok->vocab_size() == int32_t(v.tokens.size()));
        CHECK(tok->token_id("<|im_end|>") == im_end);
        CHECK(tok->token_id("nope") == -1);
        CHECK(tok->token_text(eos) == "<|end|>");
        CHECK_THROWS_AS(tok->token_to_piece(tok->vocab_size()), Error);
        CHECK_THROWS_AS(tok->token_to_piece(-1), Error);
    }
}

TEST_CASE("bpe: inconsistent metadata is refused with the key named", "[tokenizer][bpe]") {
    BpeVocab v;
    v.merge("a", "b");
    auto expect_error = [](const Metadata& m, const char* needle) {
        try {
            Tokenizer::from_metadata(m);
            FAIL("expected an error mentioning " << needle);
        } catch (const Error& e) {
            CHECK(e.kind() == aprhost::core::ErrorKind::BAD_INPUT);
            CHECK_THAT(e.what(), Catch::Contains(needle));
        }
    };
    SECTION("no model") { expect_error(Metadata{}, "tokenizer.ggml.model"); }
    SECTION("unknown model") {
        Metadata m = v.metadata();
        m.set_string("tokenizer.ggml.model", "wordpiece");
        expect_error(m, "wordpiece");
    }
    SECTION("no tokens") {
        Metadata m;
        m.set_string("tokenizer.ggml.model", "gpt2");
        expect_error(m, "tokenizer.ggml.tokens");
    }
    SECTION("token types of the wrong length") {
        Metadata m = v.metadata();
        m.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1});
        expect_error(m, "tokenizer.ggml.token_type");
    }
    SECTION("BOS outside the vocabulary") {
        Metadata m = v.metadata();
        m.set_u32("tokenizer.ggml.bos_token_id", 100000);
        expect_error(m, "tokenizer.ggml.bos_token_id");
    }
    SECTION("merge without a separator") {
        BpeVocab bad = v;
        bad.merges.push_back("abc");
        expect_error(bad.metadata(), "tokenizer.ggml.merges");
    }
}
