// Links the installed libaprhost-core and calls into it once.
#include <aprhost/core/dtype.hpp>

#include <cstdio>
#include <cstring>

int main() {
    const char* name = aprhost::core::dtype_name(APH_DTYPE_Q4_K);
    auto row = aprhost::core::dtype_row_bytes(APH_DTYPE_Q4_K, 512);
    if (!name || std::strcmp(name, "q4_K") != 0 || !row || *row != 288) {
        std::fprintf(stderr, "core_probe: unexpected answers from libaprhost-core (name '%s')\n", name ? name : "");
        return 1;
    }
    std::printf("core_probe: libaprhost-core says %s rows of 512 take %llu bytes\n", name,
                static_cast<unsigned long long>(*row));
    return 0;
}
