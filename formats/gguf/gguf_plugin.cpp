// The GGUF format plugin: maps the file read-only, hands the bytes to gguf_parse, and serves the metadata and
// tensor tables as views into the mapping. Nothing is copied except the per-string-array aph_string tables.
#include "gguf_parser.h"

#include <aprhost/mapped_file.hpp>
#include <aprhost/plugin.hpp>

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aprhost::gguf {
namespace {

using sdk::Error;

using sdk::MappedFile;

class GgufModel {
public:
    static uint32_t probe(const uint8_t* head, size_t n) { return gguf_has_magic(head, n) ? 100 : 0; }

    GgufModel(const aph_host_services* host, const char* path, const sdk::Options& opts) : file_(path, "GGUF") {
        // "verify" is the host's generic checksum switch (--no-verify); GGUF has no checksums and its structural
        // validation is never skipped, so the option is accepted and has no effect.
        opts.require_known({"verify"});
        file_info_ = gguf_parse(file_.bytes());
        description_ = "GGUF v" + std::to_string(file_info_.version) + ", " +
                       std::to_string(file_info_.tensors.size()) + " tensors, alignment " +
                       std::to_string(file_info_.alignment);
        sdk::log(host, APH_LOG_DEBUG, "GGUF: opened '" + std::string(path) + "': " + description_);
    }

    uint64_t metadata_count() const { return file_info_.kvs.size(); }

    aph_metadata_entry metadata_get(uint64_t index) const {
        if (index >= file_info_.kvs.size())
            throw Error(APH_STATUS_INVALID_ARGUMENT, "GGUF: metadata index " + std::to_string(index) +
                                                         " out of range (" + std::to_string(file_info_.kvs.size()) +
                                                         " entries)");
        const GgufKeyValue& kv = file_info_.kvs[index];
        aph_metadata_entry e{};
        e.key = aph_string{kv.key.data(), kv.key.size()};
        e.type = kv.type;
        e.elem_type = kv.elem_type;
        e.count = kv.count;
        e.scalar.u64 = kv.scalar.u64;
        if (kv.type == APH_VALUE_STRING) e.str = aph_string{kv.str.data(), kv.str.size()};
        if (kv.type == APH_VALUE_ARRAY) {
            if (kv.elem_type == APH_VALUE_STRING) e.strings = kv.strings.data();
            else e.data = kv.data;
        }
        return e;
    }

    uint64_t tensor_count() const { return file_info_.tensors.size(); }

    aph_tensor_info tensor_get(uint64_t index) const {
        if (index >= file_info_.tensors.size())
            throw Error(APH_STATUS_INVALID_ARGUMENT, "GGUF: tensor index " + std::to_string(index) +
                                                         " out of range (" +
                                                         std::to_string(file_info_.tensors.size()) + " tensors)");
        const GgufTensor& t = file_info_.tensors[index];
        aph_tensor_info info{};
        info.name = aph_string{t.name.data(), t.name.size()};
        info.dtype = t.dtype;
        info.n_dims = t.n_dims;
        for (int d = 0; d < APH_MAX_DIMS; ++d) info.ne[d] = t.ne[d];
        info.size = t.size;
        // In range: gguf_parse checked data_offset + offset + size <= file size.
        info.data = file_.bytes().data() + file_info_.data_offset + t.offset;
        return info;
    }

    const char* describe() const { return description_.c_str(); }

private:
    MappedFile file_;
    GgufFile file_info_;
    std::string description_;
};

}  // namespace
}  // namespace aprhost::gguf

APRHOST_DECLARE_PLUGIN(FORMAT, aprhost::gguf::GgufModel, "gguf", "", "0.1.0",
                       "GGUF v2/v3 model files (llama.cpp), memory-mapped, fully validated")
