// The APR v2 format plugin: maps the file read-only, hands the bytes to apr_parse (which decompresses LZ4 / zstd
// payloads once into memory), translates the JSON metadata to GGUF keys, and serves the tensor table normalised
// to GGUF conventions: GGUF names, GGUF dim order (ne[0] = row length), GGML dtype ids. Uncompressed tensors are
// views into the mapping (zero copy), so an APR model runs the very same kernels on the very same bytes as the
// GGUF it came from. The only tensors copied are APR-native 8-bit ones, whose single per-tensor scale is repeated
// per 32-element block so rows become self-contained (aph dtype APR_Q8, see abi.h).
//
// Options: verify=0 skips the header and footer CRC checks (default 1).
#include "apr_metadata.h"
#include "apr_parser.h"

#include <aprhost/graph_rules.hpp>
#include <aprhost/mapped_file.hpp>
#include <aprhost/plugin.hpp>
#include <aprhost/reference/quant_blocks.hpp>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aprhost::apr {
namespace {

using sdk::Error;

[[noreturn]] void fail(const std::string& msg) { throw Error(APH_STATUS_BAD_FORMAT, "APR: " + msg); }
std::string num(uint64_t v) { return std::to_string(v); }

using sdk::MappedFile;

struct DtypeRow {
    uint32_t id;
    const char* name;
    uint32_t block_elems;
    uint32_t block_bytes;
};

// GGML ids an APR file may carry plus the APR-native ones: every dtype of abi.h (layouts from the SDK).
std::optional<DtypeRow> dtype_row(uint32_t id) {
    DtypeRow r{id, sdk::dtype_name(id, "?"), 0, 0};
    if (!sdk::dtype_storage(id, &r.block_elems, &r.block_bytes)) return std::nullopt;
    return r;
}

struct Tensor {
    std::string name;
    uint32_t dtype = 0;
    uint32_t n_dims = 0;
    int64_t ne[APH_MAX_DIMS] = {1, 1, 1, 1};
    uint64_t size = 0;
    const uint8_t* data = nullptr;
};

class AprModel {
public:
    static uint32_t probe(const uint8_t* head, size_t n) { return apr_has_magic(head, n) ? 100 : 0; }

    AprModel(const aph_host_services* host, const char* path, const sdk::Options& opts) : file_(path, "APR") {
        opts.require_known({"verify"});
        const std::string v = opts.get("verify", "1");
        if (v != "0" && v != "1") throw Error(APH_STATUS_INVALID_ARGUMENT, "APR: option verify must be 0 or 1");
        apr_ = apr_parse(file_.bytes(), v == "1");
        meta_ = apr_translate_metadata(apr_.metadata_json);
        build_tensors();
        describe_ = describe_container(v == "1");
        sdk::log(host, APH_LOG_DEBUG, "APR: opened '" + std::string(path) + "': " + describe_);
    }

    uint64_t metadata_count() const { return meta_.entries.size(); }
    aph_metadata_entry metadata_get(uint64_t i) const {
        if (i >= meta_.entries.size())
            throw Error(APH_STATUS_INVALID_ARGUMENT, "APR: metadata index " + num(i) + " out of range");
        return meta_.entries[i].entry();
    }
    uint64_t tensor_count() const { return tensors_.size(); }
    aph_tensor_info tensor_get(uint64_t i) const {
        if (i >= tensors_.size()) throw Error(APH_STATUS_INVALID_ARGUMENT, "APR: tensor index " + num(i) + " out of range");
        const Tensor& t = tensors_[i];
        aph_tensor_info info{};
        info.name = aph_string{t.name.data(), t.name.size()};
        info.dtype = t.dtype;
        info.n_dims = t.n_dims;
        for (int d = 0; d < APH_MAX_DIMS; ++d) info.ne[d] = t.ne[d];
        info.size = t.size;
        info.data = t.data;
        return info;
    }
    const char* describe() const { return describe_.c_str(); }

private:
    // Whether the file lists dims outermost first ([out, in], aprender / PyTorch order) and so must be reversed
    // into GGUF order. Decided once per file from the token embedding against the config, else from which order
    // makes quantized rows whole blocks, else the aprender default (outermost first).
    bool dims_outermost_first(const std::vector<std::string>& names) const {
        const auto& c = meta_.config;
        for (size_t i = 0; i < apr_.index.size(); ++i) {
            const auto& e = apr_.index[i];
            if (names[i] != "token_embd.weight" || e.ndim != 2 || !c.n_vocab || !c.n_embd) continue;
            if (e.dims[0] == *c.n_vocab && e.dims[1] == *c.n_embd) return true;
            if (e.dims[0] == *c.n_embd && e.dims[1] == *c.n_vocab) return false;
            fail("tensor 'token_embd.weight' has dims [" + num(e.dims[0]) + ", " + num(e.dims[1]) +
                 "], which match neither order of the config (vocab " + num(*c.n_vocab) + ", hidden " +
                 num(*c.n_embd) + ")");
        }
        for (const auto& e : apr_.index) {
            const std::optional<DtypeRow> r = dtype_row(e.dtype);
            if (!r || r->block_elems == 1 || e.ndim != 2) continue;
            bool first_ok = e.dims[0] % r->block_elems == 0, last_ok = e.dims[1] % r->block_elems == 0;
            if (last_ok && !first_ok) return true;
            if (first_ok && !last_ok) return false;
        }
        return true;
    }

    void build_tensors() {
        std::vector<std::string> names;
        names.reserve(apr_.index.size());
        std::unordered_set<std::string> seen;
        for (const auto& e : apr_.index) {
            names.push_back(apr_gguf_tensor_name(e.name));
            if (!seen.insert(names.back()).second)
                fail("tensor " + apr_quote(e.name) + " maps to '" + names.back() +
                     "', which another tensor already uses (HF and GGUF names mixed?)");
        }
        const bool reverse = dims_outermost_first(names);
        reversed_ = reverse;
        tensors_.reserve(apr_.index.size());
        for (size_t i = 0; i < apr_.index.size(); ++i) tensors_.push_back(make_tensor(apr_.index[i], names[i], reverse));
    }

    Tensor make_tensor(const AprIndexEntry& e, const std::string& name, bool reverse) {
        const std::string where = "tensor " + apr_quote(e.name);
        Tensor t;
        t.name = name;
        // GGUF order: ne[0] innermost.
        int64_t ne[kMaxDims];
        for (uint32_t d = 0; d < e.ndim; ++d)
            ne[d] = static_cast<int64_t>(reverse ? e.dims[e.ndim - 1 - d] : e.dims[d]);
        uint32_t nd = e.ndim;
        while (nd > APH_MAX_DIMS && ne[nd - 1] == 1) --nd;  // outer unit dims carry nothing
        if (nd > APH_MAX_DIMS) fail(where + " has " + num(e.ndim) + " non-unit dims (aprhost supports 4)");
        t.n_dims = nd;
        for (uint32_t d = 0; d < nd; ++d) t.ne[d] = ne[d];
        const uint8_t* src = apr_.logical.data() + apr_.header.data_offset + e.offset;
        const uint64_t n = e.elements;

        uint32_t dtype = e.dtype;
        // Id 8 is ambiguous in old files: Q8_0 when the size fits its blocks, else the APR 8-bit layout.
        if (dtype == APH_DTYPE_Q8_0 && e.size == n + 4 && n % 32 == 0 && e.size != n / 32 * 34)
            dtype = APH_DTYPE_APR_Q8;
        const std::optional<DtypeRow> r = dtype_row(dtype);
        if (!r) fail(where + " has unknown dtype " + num(e.dtype));
        if (uint64_t(t.ne[0]) % r->block_elems != 0)
            fail(where + " of type " + r->name + " has row length " + num(uint64_t(t.ne[0])) +
                 ", not a multiple of the block size " + num(r->block_elems));
        t.dtype = dtype;

        if (dtype == APH_DTYPE_APR_Q8) {
            // File layout: one f32 scale, then n i8 values. Expanded to blocks of (f32 scale, 32 × i8).
            if (e.size != n + 4)
                fail(where + " of type apr_q8 has size " + num(e.size) + ", expected " + num(n + 4) +
                     " (f32 scale + one byte per element)");
            t.size = n / 32 * 36;
            owned_.emplace_back(t.size);
            uint8_t* dst = owned_.back().data();
            for (uint64_t b = 0; b < n / 32; ++b) {
                std::memcpy(dst + b * 36, src, 4);
                std::memcpy(dst + b * 36 + 4, src + 4 + b * 32, 32);
            }
            t.data = dst;
            return t;
        }
        const uint64_t want = n / r->block_elems * r->block_bytes;  // n < 2^63, block_bytes < 2^9: no overflow
        if (e.size != want)
            fail(where + " has size " + num(e.size) + " but its dims and type " + r->name + " need " + num(want) +
                 " bytes");
        t.size = e.size;
        t.data = src;
        return t;
    }

    std::string describe_container(bool verified) const {
        const AprHeader& h = apr_.header;
        std::string magic = std::memcmp(h.magic, "APR2", 4) == 0 ? "APR2" : "APR\\0";
        std::string s = "APR v" + num(h.version_major) + "." + num(h.version_minor) + " (magic '" + magic +
                        "'), flags " + apr_flags_string(h.flags) + ", " + num(h.tensor_count) + " tensors, metadata " +
                        num(h.metadata_size) + " bytes at " + num(h.metadata_offset) + ", index at " +
                        num(h.tensor_index_offset) + ", data at " + num(h.data_offset);
        if (apr_.compressed_bytes)
            s += ", payload " + num(apr_.compressed_bytes) + " -> " + num(apr_.logical.size() - kHeaderSize) + " bytes";
        s += verified ? ", header CRC ok" : ", CRC not verified";
        s += apr_.footer_crc ? (verified ? ", footer CRC ok" : ", footer CRC present") : ", no footer CRC";
        s += reversed_ ? ", dims [out, in]" : ", dims GGUF order";
        return s;
    }

    MappedFile file_;
    AprFile apr_;
    AprMetadata meta_;
    std::vector<Tensor> tensors_;
    std::vector<std::vector<uint8_t>> owned_;  // expanded apr_q8 tensors
    bool reversed_ = false;
    std::string describe_;
};

}  // namespace
}  // namespace aprhost::apr

APRHOST_DECLARE_PLUGIN(FORMAT, aprhost::apr::AprModel, "apr", "", "0.1.0",
                       "APR v2 model files (aprender): mmap zero-copy, LZ4/zstd payloads, CRC-checked")
