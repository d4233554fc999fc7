// aprhost SDK helper for format plugins (POSIX): a read-only, private memory mapping of a whole model file, so
// weights can be handed to backends in place (zero copy). Errors are sdk::Error with one-line messages that start
// with the plugin's prefix ("GGUF", "APR", ...).
#pragma once

#include <aprhost/plugin.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aprhost::sdk {

class MappedFile {
public:
    // Maps path; empty files are BAD_FORMAT, missing/unreadable/non-regular ones IO.
    MappedFile(const char* path, const std::string& prefix) {
        if (!path || !*path) throw Error(APH_STATUS_INVALID_ARGUMENT, prefix + ": empty path");
        int fd = ::open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error(APH_STATUS_IO, io_error(prefix, "open", path, errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            int e = errno;
            ::close(fd);
            throw Error(APH_STATUS_IO, io_error(prefix, "stat", path, e));
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            throw Error(APH_STATUS_IO, prefix + ": '" + std::string(path) + "' is not a regular file");
        }
        size_ = static_cast<size_t>(st.st_size);
        if (size_ == 0) {
            ::close(fd);
            throw Error(APH_STATUS_BAD_FORMAT, prefix + ": '" + std::string(path) + "' is empty");
        }
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        int e = errno;
        ::close(fd);  // the mapping keeps the file alive
        if (p == MAP_FAILED) throw Error(APH_STATUS_IO, io_error(prefix, "mmap", path, e));
        data_ = static_cast<const uint8_t*>(p);
    }
    ~MappedFile() {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return {data_, size_}; }

private:
    static std::string io_error(const std::string& prefix, const char* what, const char* path, int err) {
        return prefix + ": cannot " + what + " '" + std::string(path) + "': " + std::strerror(err);
    }
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace aprhost::sdk
