// Utf8Stream: releases only complete UTF-8, replaces broken sequences with U+FFFD.
#include "tokenizer_test_support.hpp"

#include <aprhost/core/tokenizer.hpp>

#include <catch2/catch.hpp>

using aprhost::core::Utf8Stream;

namespace {
const std::string R = "\xEF\xBF\xBD";  // U+FFFD
}

TEST_CASE("utf8 stream: multi-byte characters split across pushes", "[tokenizer][utf8]") {
    Utf8Stream s;
    CHECK(s.push("h") == "h");
    CHECK(s.push("\xC3") == "");
    CHECK(s.push("\xA9!") == "\xC3\xA9!");
    // A 4-byte emoji fed one byte at a time appears only when complete.
    const std::string wave = "\xF0\x9F\x91\x8B";
    CHECK(s.push(wave.substr(0, 1)) == "");
    CHECK(s.push(wave.substr(1, 1)) == "");
    CHECK(s.push(wave.substr(2, 1)) == "");
    CHECK(s.push(wave.substr(3, 1)) == wave);
    // Two characters whose bytes straddle pushes.
    CHECK(s.push("\xE4\xBD\xA0\xE5") == "\xE4\xBD\xA0");
    CHECK(s.push("\xA5\xBD") == "\xE5\xA5\xBD");
    CHECK(s.flush() == "");
}

TEST_CASE("utf8 stream: invalid input becomes U+FFFD", "[tokenizer][utf8]") {
    Utf8Stream s;
    CHECK(s.push("\xFF") == R);
    CHECK(s.push("a\x80" "b") == "a" + R + "b");
    // Encoded surrogate: ED is a lead byte, A0 is outside its allowed second-byte range -> three replacements.
    CHECK(s.push("\xED\xA0\x80") == R + R + R);
    // Overlong "/" (C0 AF): C0 is never a lead byte.
    CHECK(s.push("\xC0\xAF") == R + R);
    // An incomplete sequence followed by a non-continuation: one replacement for the broken prefix.
    CHECK(s.push("\xE4\xBD") == "");
    CHECK(s.push("x") == R + "x");
    // flush() replaces an incomplete tail.
    CHECK(s.push("\xF0\x9F") == "");
    CHECK(s.flush() == R);
    CHECK(s.flush() == "");
}

TEST_CASE("utf8 stream: arbitrary splits reproduce the text", "[tokenizer][utf8]") {
    std::mt19937 rng(3);
    for (int i = 0; i < 100; ++i) {
        std::string text = aprhost::test::random_utf8(rng, 30);
        Utf8Stream s;
        std::string out;
        size_t pos = 0;
        while (pos < text.size()) {
            size_t n = std::uniform_int_distribution<size_t>(1, 5)(rng);
            out += s.push(std::string_view(text).substr(pos, n));
            pos += n;
        }
        out += s.flush();
        CHECK(out == text);
    }
}
