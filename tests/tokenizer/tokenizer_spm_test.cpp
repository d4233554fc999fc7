// SentencePiece (scores-based merges) on hand-made vocabularies: merge order by score, the "▁" space prefix,
// byte fallback, unknown tokens, special tokens, round trips.
#include "tokenizer_test_support.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <catch2/catch.hpp>

using aprhost::core::Error;
using aprhost::core::Metadata;
using aprhost::core::Tokenizer;
using aprhost::test::SpmVocab;
using Ids = std::vector<int32_t>;

namespace {
const std::string S = "\xE2\x96\x81";  // "▁"

std::unique_ptr<Tokenizer> make(const SpmVocab& v, bool space_prefix = true) {
    Metadata m = v.metadata();
    m.set_bool("tokenizer.ggml.add_space_prefix", space_prefix);
    return Tokenizer::from_metadata(m);
}
}  // namespace

TEST_CASE("spm: the pair forming the best-scored token merges first", "[tokenizer][spm]") {
    SECTION("bc scores higher than ab") {
        SpmVocab v;
        int32_t a = v.add("a", -1), c = v.add("c", -1);
        v.add("b", -1);
        int32_t ab = v.add("ab", -5), bc = v.add("bc", -2);
        auto tok = make(v, false);
        CHECK(tok->encode("abc", false, false) == Ids{a, bc});
        (void)ab;
        (void)c;
    }
    SECTION("ab scores higher than bc") {
        SpmVocab v;
        int32_t c = v.add("c", -1);
        v.add("a", -1);
        v.add("b", -1);
        int32_t ab = v.add("ab", -2);
        v.add("bc", -5);
        CHECK(make(v, false)->encode("abc", false, false) == Ids{ab, c});
    }
    SECTION("merged symbols keep merging; equal scores go leftmost") {
        SpmVocab v;
        v.add("a", -1);
        int32_t aa = v.add("aa", -3);
        int32_t aaaa = v.add("aaaa", -4);
        CHECK(make(v, false)->encode("aaaa", false, false) == Ids{aaaa});
        CHECK(make(v, false)->encode("aaaaa", false, false) == Ids{aaaa, v.id("a")});
        CHECK(make(v, false)->encode("aaa", false, false) == Ids{aa, v.id("a")});
    }
    SECTION("model name") { CHECK(std::string(make(SpmVocab{})->model_name()) == "llama (sentencepiece)"); }
}

TEST_CASE("spm: spaces become ▁ and a ▁ is prepended", "[tokenizer][spm]") {
    SpmVocab v;
    int32_t sp = v.add(S, -1);
    int32_t a = v.add("a", -2);
    int32_t sa = v.add(S + "a", -1.5f);
    int32_t b = v.add("b", -2);
    int32_t sb = v.add(S + "b", -1.5f);
    SECTION("default: prefix on") {
        auto tok = make(v);
        CHECK(tok->encode("a b", false, false) == Ids{sa, sb});
        CHECK(tok->encode(" a", false, false) == Ids{sp, sa});
        CHECK(tok->decode({sa, sb}) == "a b");  // the prefix space is dropped again
        CHECK(tok->token_to_piece(sa) == " a");
    }
    SECTION("key honoured: prefix off") {
        auto tok = make(v, false);
        CHECK(tok->encode("a b", false, false) == Ids{a, sb});
        CHECK(tok->decode({a, sb}) == "a b");
        CHECK(tok->decode({sa}) == " a");
    }
    SECTION("metadata without the key defaults to a prefix") {
        auto tok = Tokenizer::from_metadata(v.metadata());
        CHECK(tok->encode("b", false, false) == Ids{sb});
    }
    (void)b;
}

TEST_CASE("spm: byte fallback and unknown characters", "[tokenizer][spm]") {
    SpmVocab v;
    v.add(S, -1);
    int32_t x = v.add("x", -1);
    SECTION("missing characters fall back to <0xNN> tokens") {
        v.add_byte_tokens();
        auto tok = make(v, false);
        Ids ids = tok->encode("x\xC3\xA9", false, false);  // "xé"
        CHECK(ids == Ids{x, v.id("<0xC3>"), v.id("<0xA9>")});
        CHECK(tok->decode(ids) == "x\xC3\xA9");
        CHECK(tok->token_to_piece(v.id("<0x41>")) == "A");
    }
    SECTION("without byte tokens they become <unk>") {
        auto tok = make(v, false);
        CHECK(tok->encode("x\xC3\xA9x", false, false) == Ids{x, 0, x});
        CHECK(tok->token_to_piece(0) == "");
        CHECK(tok->token_to_piece(0, true) == "<unk>");
    }
}

TEST_CASE("spm: special tokens, BOS, and the prefix after specials", "[tokenizer][spm]") {
    SpmVocab v;
    int32_t sp = v.add(S, -1);
    int32_t sa = v.add(S + "a", -1);
    v.add("a", -2);
    v.add_byte_tokens();
    auto tok = make(v);
    CHECK(tok->bos_id() == 1);
    CHECK(tok->eos_id() == 2);
    CHECK(tok->add_bos_default());  // SentencePiece default
    CHECK(tok->encode("a", true, false) == Ids{1, sa});
    CHECK(tok->encode("<s>a</s>a", false, true) == Ids{1, sa, 2, sa});
    Ids plain = tok->encode("<s>a", false, false);
    CHECK(plain.front() == sp);
    CHECK(std::find(plain.begin(), plain.end(), 1) == plain.end());
    CHECK(tok->decode(plain) == "<s>a");
    CHECK(tok->is_end_of_generation(2));
    CHECK_FALSE(tok->is_end_of_generation(sa));
}

TEST_CASE("spm: decode(encode(s)) == s for arbitrary text", "[tokenizer][spm]") {
    SpmVocab v;
    v.add(S, -1);
    v.add(S + "t", -2);
    v.add("h", -3);
    v.add("e", -3);
    v.add("t", -3);
    v.add("he", -2);
    v.add(S + "the", -1);
    v.add("\xE4\xBD\xA0", -2);  // 你
    v.add_byte_tokens();
    for (bool prefix : {true, false}) {
        auto tok = make(v, prefix);
        std::mt19937 rng(7);
        for (int i = 0; i < 200; ++i) {
            std::string s = aprhost::test::random_utf8(rng, size_t(i % 40));
            INFO("prefix " << prefix << " case " << i);
            CHECK(tok->decode(tok->encode(s, false, false)) == s);
        }
    }
}

TEST_CASE("spm: inconsistent metadata is refused", "[tokenizer][spm]") {
    SpmVocab v;
    Metadata m = v.metadata();
    m.set_f32_array("tokenizer.ggml.scores", {0.0f});
    try {
        Tokenizer::from_metadata(m);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("tokenizer.ggml.scores"));
    }
}
