// SHA-256 (FIPS 180-4), for recording which exact model file a benchmark or evaluation ran on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aprhost::core {

// Incremental hasher: update() any number of times, then hex_digest() (the object is then spent).
class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    std::array<uint8_t, 32> digest();
    std::string hex_digest();  // 64 lowercase hex characters

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t buf_len_ = 0;
    uint64_t total_ = 0;  // bytes fed so far
};

std::string sha256_hex(std::string_view data);
// Hash of a whole file, read in chunks. Throws core::Error(BAD_INPUT) when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace aprhost::core
