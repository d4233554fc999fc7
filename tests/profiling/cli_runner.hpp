// Runs the real aprhost binary of the build tree (no plugin path from the environment) and captures its output.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace profiling_test {

struct CliResult {
    int rc;
    std::string out, err;
};

inline std::string slurp(const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline CliResult run_cli(const std::string& args) {
    static int counter = 0;  // unique names: ctest runs test cases in parallel processes
    const std::string tag = std::string(APRHOST_TEST_DATA_DIR) + "/prof-" + std::to_string(getpid()) + "-" +
                            std::to_string(counter++);
    const std::string cmd = std::string("env -u APRHOST_PLUGIN_PATH ") + APRHOST_BINARY_DIR + "/bin/aprhost " + args +
                            " >" + tag + ".out 2>" + tag + ".err </dev/null";
    const int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(tag + ".out"), slurp(tag + ".err")};
}

}  // namespace profiling_test
