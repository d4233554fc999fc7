// The CUDA plugin's score policy: every reason a machine cannot run it, and the description when it can.
#include "cuda_probe.hpp"

#include <catch2/catch.hpp>

using namespace aprhost::cuda;

namespace {

ProbeFacts failing(int code, const char* name, int driver) {
    ProbeFacts f;
    f.driver_version = driver;
    f.runtime_version = 13000;
    f.count_error = code;
    f.count_error_name = name;
    return f;
}

}  // namespace

TEST_CASE("cuda score: no driver", "[cuda][probe]") {
    std::string why;
    CHECK(score_from_facts(failing(35, "cudaErrorInsufficientDriver", 0), why) == 0);
    CHECK(why.find("no NVIDIA driver") != std::string::npos);
    CHECK(why.find("cudaErrorInsufficientDriver (35)") != std::string::npos);
}

TEST_CASE("cuda score: driver too old", "[cuda][probe]") {
    std::string why;
    CHECK(score_from_facts(failing(35, "cudaErrorInsufficientDriver", 12040), why) == 0);
    CHECK(why.find("driver too old") != std::string::npos);
    CHECK(why.find("CUDA 12.4") != std::string::npos);
    CHECK(why.find("CUDA 13.0") != std::string::npos);
}

TEST_CASE("cuda score: no device", "[cuda][probe]") {
    std::string why;
    CHECK(score_from_facts(failing(100, "cudaErrorNoDevice", 13000), why) == 0);
    CHECK(why.find("no CUDA device") != std::string::npos);
    CHECK(why.find("(100)") != std::string::npos);
    ProbeFacts zero = failing(0, "cudaSuccess", 13000);
    zero.device_count = 0;
    CHECK(score_from_facts(zero, why) == 0);
    CHECK(why.find("0 devices") != std::string::npos);
}

TEST_CASE("cuda score: stub library and other errors", "[cuda][probe]") {
    std::string why;
    CHECK(score_from_facts(failing(34, "cudaErrorStubLibrary", 0), why) == 0);
    CHECK(why.find("stub") != std::string::npos);
    CHECK(score_from_facts(failing(999, "cudaErrorUnknown", 13000), why) == 0);
    CHECK(why.find("cudaErrorUnknown (999)") != std::string::npos);
}

TEST_CASE("cuda score: old GPU and a usable GPU", "[cuda][probe]") {
    ProbeFacts f = failing(0, "cudaSuccess", 13000);
    f.device_count = 1;
    f.name = "Tesla V100";
    f.cc_major = 7;
    f.cc_minor = 0;
    f.memory_total = uint64_t(16) << 30;
    std::string why;
    CHECK(score_from_facts(f, why) == 0);
    CHECK(why.find("compute capability 7.0") != std::string::npos);
    f.name = "NVIDIA H100 80GB HBM3";
    f.cc_major = 9;
    CHECK(score_from_facts(f, why) == kCudaScore);
    CHECK(why.find("NVIDIA H100 80GB HBM3, compute capability 9.0, 16384 MiB") == 0);
    CHECK(cuda_version_string(12080) == "12.8");
}
