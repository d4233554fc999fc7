// SHA-256 against the FIPS 180-4 / NIST example vectors, incremental updates across block boundaries, and files.
#include <aprhost/core/error.hpp>
#include <aprhost/core/sha256.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <unistd.h>

using aprhost::core::Sha256;
using aprhost::core::sha256_hex;

TEST_CASE("SHA-256 known vectors", "[sha256]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                     "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(sha256_hex("The quick brown fox jumps over the lazy dog") ==
          "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
}

TEST_CASE("SHA-256 of a million 'a' fed in uneven pieces", "[sha256]") {
    Sha256 h;
    std::string chunk(997, 'a');  // prime-sized pieces cross every block boundary offset
    size_t left = 1000000;
    while (left > 0) {
        size_t n = std::min(left, chunk.size());
        h.update(chunk.data(), n);
        left -= n;
    }
    CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 of lengths around the padding boundary match one-shot hashing", "[sha256]") {
    // 55, 56 and 64 bytes need one or two padding blocks; byte-at-a-time must agree with one update.
    for (size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u}) {
        std::string s(len, 'x');
        Sha256 h;
        for (char c : s) h.update(&c, 1);
        CHECK(h.hex_digest() == sha256_hex(s));
    }
    CHECK(sha256_hex(std::string(56, 'x')) != sha256_hex(std::string(55, 'x')));
}

TEST_CASE("sha256_file hashes the bytes of a file and rejects a missing one", "[sha256]") {
    std::string p = std::string(APRHOST_TEST_DATA_DIR) + "/sha-" + std::to_string(getpid()) + ".txt";
    { std::ofstream(p, std::ios::binary) << "abc"; }
    CHECK(aprhost::core::sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::remove(p.c_str());
    CHECK_THROWS_AS(aprhost::core::sha256_file(p), aprhost::core::Error);
}
