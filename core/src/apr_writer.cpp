// APR v2 writer. The header, metadata and index are small and built in memory first, so every offset (and the
// header CRC) is known before the first byte is written; tensors are then streamed one at a time, through an
// LZ4 / zstd streaming compressor when asked (the frame records the payload size, which the reader needs to
// bound its allocation). The footer CRC is accumulated over exactly the bytes written to the file.
#include <aprhost/core/apr_writer.hpp>

#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>

#include <lz4frame.h>
#include <nlohmann/json.hpp>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

namespace aprhost::core {
namespace {

using json = nlohmann::json;

constexpr uint64_t kAlign = 64;
constexpr uint16_t kFlagLz4 = 0x1, kFlagZstd = 0x2, kFlagQuantized = 0x20, kFlagHasVocab = 0x200,
                   kFlagRowMajor = 0x400;

[[noreturn]] void usage(const std::string& msg) { throw Error(ErrorKind::USAGE, "APR writer: " + msg); }

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// GGUF config key suffix (after "{arch}.") → canonical APR name.
const std::pair<const char*, const char*> kConfigKeys[] = {
    {"embedding_length", "hidden_size"},
    {"block_count", "num_layers"},
    {"attention.head_count", "num_heads"},
    {"attention.head_count_kv", "num_kv_heads"},
    {"vocab_size", "vocab_size"},
    {"feed_forward_length", "intermediate_size"},
    {"context_length", "max_position_embeddings"},
    {"attention.key_length", "head_dim"},
    {"rope.freq_base", "rope_theta"},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps"},
};
const std::pair<const char*, const char*> kTokenizerKeys[] = {
    {"tokenizer.ggml.tokens", "tokenizer.vocabulary"},
    {"tokenizer.ggml.merges", "tokenizer.merges"},
    {"tokenizer.ggml.scores", "tokenizer.scores"},
    {"tokenizer.ggml.token_type", "tokenizer.token_type"},
    {"tokenizer.ggml.bos_token_id", "tokenizer.bos_token_id"},
    {"tokenizer.ggml.eos_token_id", "tokenizer.eos_token_id"},
    {"tokenizer.ggml.model", "tokenizer.model"},
    {"tokenizer.chat_template", "chat_template"},
};

json scalar_json(aph_value_type t, const MetaValue& v) {
    switch (t) {
    case APH_VALUE_BOOL: return v.i != 0;
    case APH_VALUE_F32: return static_cast<double>(static_cast<float>(v.f));
    case APH_VALUE_F64: return v.f;
    case APH_VALUE_STRING: return v.s;
    default: return value_type_is_unsigned(t) ? json(v.u) : json(v.i);
    }
}

json value_json(const MetaValue& v) {
    if (!v.is_array()) return scalar_json(v.type, v);
    json a = json::array();
    if (v.elem_type == APH_VALUE_STRING) {
        for (const auto& s : v.strings) a.push_back(s);
    } else if (v.elem_type == APH_VALUE_F32) {
        for (double d : v.floats) a.push_back(static_cast<double>(static_cast<float>(d)));
    } else if (v.elem_type == APH_VALUE_F64) {
        for (double d : v.floats) a.push_back(d);
    } else if (v.elem_type == APH_VALUE_BOOL) {
        for (int64_t x : v.ints) a.push_back(x != 0);
    } else if (v.elem_type == APH_VALUE_U64) {
        for (int64_t x : v.ints) a.push_back(static_cast<uint64_t>(x));
    } else {
        for (int64_t x : v.ints) a.push_back(x);
    }
    return a;
}

std::string type_string(const MetaValue& v) {
    if (v.is_array()) return std::string("array:") + value_type_name(v.elem_type);
    return value_type_name(v.type);
}

// Owns the FILE* of the temporary file; removes it unless committed. Accumulates the CRC of what it writes.
class TmpFile {
public:
    explicit TmpFile(std::string path) : path_(std::move(path)) {
        f_ = std::fopen(path_.c_str(), "wb");
        if (!f_) fail("cannot create");
        std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
        crc_ = crc32(0L, Z_NULL, 0);
    }
    ~TmpFile() {
        if (f_) std::fclose(f_);
        if (!committed_) std::remove(path_.c_str());
    }
    void write(const void* p, size_t n) {
        if (!n) return;
        if (std::fwrite(p, 1, n, f_) != n) fail("cannot write");
        const auto* b = static_cast<const Bytef*>(p);
        while (n) {
            uInt k = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
            crc_ = crc32(crc_, b, k);
            b += k;
            n -= k;
        }
    }
    uint32_t crc() const { return static_cast<uint32_t>(crc_); }
    void commit(const std::string& final_path) {
        std::FILE* f = f_;
        f_ = nullptr;
        if (std::fclose(f) != 0) fail("cannot close");
        if (std::rename(path_.c_str(), final_path.c_str()) != 0) fail("cannot rename to '" + final_path + "'");
        committed_ = true;
    }
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(ErrorKind::BAD_INPUT, "APR writer: " + what + " '" + path_ + "': " + std::strerror(errno));
    }

private:
    std::string path_;
    std::FILE* f_ = nullptr;
    uLong crc_ = 0;
    bool committed_ = false;
};

// Everything after the header goes through here: straight to the file, or through one compressed frame.
class PayloadSink {
public:
    PayloadSink(TmpFile& out, AprCompression c, uint64_t payload_size) : out_(out), c_(c) {
        if (c_ == AprCompression::LZ4) {
            if (LZ4F_isError(LZ4F_createCompressionContext(&lz4_, LZ4F_VERSION))) internal("LZ4 context");
            std::memset(&prefs_, 0, sizeof prefs_);
            prefs_.frameInfo.contentSize = payload_size;
            prefs_.frameInfo.blockSizeID = LZ4F_max4MB;
            buf_.resize(std::max<size_t>(LZ4F_HEADER_SIZE_MAX, LZ4F_compressBound(kChunk, &prefs_)));
            size_t n = LZ4F_compressBegin(lz4_, buf_.data(), buf_.size(), &prefs_);
            if (LZ4F_isError(n)) internal(LZ4F_getErrorName(n));
            out_.write(buf_.data(), n);
        } else if (c_ == AprCompression::ZSTD) {
            zstd_ = ZSTD_createCCtx();
            if (!zstd_) internal("zstd context");
            ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, 3);
            ZSTD_CCtx_setParameter(zstd_, ZSTD_c_contentSizeFlag, 1);
            ZSTD_CCtx_setPledgedSrcSize(zstd_, payload_size);
            buf_.resize(ZSTD_CStreamOutSize());
        }
    }
    ~PayloadSink() {
        if (lz4_) LZ4F_freeCompressionContext(lz4_);
        if (zstd_) ZSTD_freeCCtx(zstd_);
    }
    PayloadSink(const PayloadSink&) = delete;
    PayloadSink& operator=(const PayloadSink&) = delete;

    void write(const void* p, size_t n) {
        if (c_ == AprCompression::NONE) return out_.write(p, n);
        const auto* b = static_cast<const uint8_t*>(p);
        while (n) {
            size_t k = std::min(n, kChunk);
            if (c_ == AprCompression::LZ4) {
                size_t r = LZ4F_compressUpdate(lz4_, buf_.data(), buf_.size(), b, k, nullptr);
                if (LZ4F_isError(r)) internal(LZ4F_getErrorName(r));
                out_.write(buf_.data(), r);
            } else {
                ZSTD_inBuffer in{b, k, 0};
                while (in.pos < in.size) {
                    ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
                    size_t r = ZSTD_compressStream2(zstd_, &o, &in, ZSTD_e_continue);
                    if (ZSTD_isError(r)) internal(ZSTD_getErrorName(r));
                    out_.write(buf_.data(), o.pos);
                }
            }
            b += k;
            n -= k;
        }
    }
    void zeros(size_t n) {
        static const uint8_t z[256] = {};
        while (n) {
            size_t k = std::min(n, sizeof z);
            write(z, k);
            n -= k;
        }
    }
    void finish() {
        if (c_ == AprCompression::LZ4) {
            size_t r = LZ4F_compressEnd(lz4_, buf_.data(), buf_.size(), nullptr);
            if (LZ4F_isError(r)) internal(LZ4F_getErrorName(r));
            out_.write(buf_.data(), r);
        } else if (c_ == AprCompression::ZSTD) {
            ZSTD_inBuffer in{nullptr, 0, 0};
            size_t left = 0;
            do {
                ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
                left = ZSTD_compressStream2(zstd_, &o, &in, ZSTD_e_end);
                if (ZSTD_isError(left)) internal(ZSTD_getErrorName(left));
                out_.write(buf_.data(), o.pos);
            } while (left != 0);
        }
    }

private:
    static constexpr size_t kChunk = 1 << 20;
    [[noreturn]] static void internal(const std::string& what) {
        throw Error(ErrorKind::BAD_INPUT, "APR writer: compression failed: " + what);
    }
    TmpFile& out_;
    AprCompression c_;
    LZ4F_cctx* lz4_ = nullptr;
    LZ4F_preferences_t prefs_{};
    ZSTD_CCtx* zstd_ = nullptr;
    std::vector<uint8_t> buf_;
};

void put_le(std::vector<uint8_t>& out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

std::string apr_compression_name(AprCompression c) {
    switch (c) {
    case AprCompression::LZ4: return "lz4";
    case AprCompression::ZSTD: return "zstd";
    default: return "none";
    }
}

AprWriter::AprWriter(const Metadata& metadata, AprCompression compression) : compression_(compression) {
    auto arch = metadata.get_string("general.architecture");
    if (!arch || arch->empty()) usage("metadata has no general.architecture");
    json doc = json::object();
    json types = json::object();
    doc["architecture"] = *arch;
    std::map<std::string, std::string, std::less<>> renames;  // GGUF key → APR key
    for (auto& [suffix, apr] : kConfigKeys) renames[*arch + "." + suffix] = apr;
    for (auto& [gguf, apr] : kTokenizerKeys) renames[gguf] = apr;
    for (const auto& [key, value] : metadata.entries()) {
        if (key == "general.architecture") continue;
        std::string out_key = key;
        if (auto it = renames.find(key); it != renames.end()) out_key = it->second;
        else if (key.rfind("tokenizer.ggml.", 0) == 0) out_key = "tokenizer." + key.substr(15);
        if (doc.contains(out_key)) usage("metadata keys collide on the APR name '" + out_key + "'");
        doc[out_key] = value_json(value);
        // Types are recorded under the GGUF name (the name the reader produces); a tokenizer.* key that is not a
        // tokenizer.ggml.* key stays literal, which the reader knows from its entry here.
        if (value.type != APH_VALUE_STRING) types[key] = type_string(value);
        if (key.rfind("tokenizer.", 0) == 0 && key.rfind("tokenizer.ggml.", 0) != 0 && key != "tokenizer.chat_template")
            types[key] = type_string(value);
        if (key == "tokenizer.ggml.tokens") flags_ |= kFlagHasVocab;
    }
    if (*arch == "qwen2") doc["rope_type"] = 2;
    if (*arch == "llama") doc["rope_type"] = 0;
    doc["aprhost.gguf_types"] = types;
    json_ = doc.dump(-1, ' ', false, json::error_handler_t::replace);
    flags_ |= kFlagRowMajor;
    if (compression_ == AprCompression::LZ4) flags_ |= kFlagLz4;
    if (compression_ == AprCompression::ZSTD) flags_ |= kFlagZstd;
}

void AprWriter::add_tensor(std::string name, aph_dtype dtype, std::vector<int64_t> ne, Fill fill) {
    if (name.empty() || name.size() > 0xffff) usage("tensor name length " + std::to_string(name.size()) + " invalid");
    for (const auto& t : tensors_)
        if (t.name == name) usage("duplicate tensor name '" + name + "'");
    auto traits = dtype_traits(dtype);
    if (!traits || dtype > 255) usage("tensor '" + name + "' has a dtype APR cannot store (" + std::to_string(dtype) + ")");
    if (ne.empty() || ne.size() > 8) usage("tensor '" + name + "' has " + std::to_string(ne.size()) + " dims");
    uint64_t elems = 1;
    for (int64_t d : ne) {
        if (d <= 0) usage("tensor '" + name + "' has a dim <= 0");
        if (__builtin_mul_overflow(elems, uint64_t(d), &elems) || elems > uint64_t(std::numeric_limits<int64_t>::max()))
            usage("tensor '" + name + "' element count overflows");
    }
    if (ne[0] % traits->block_elems != 0)
        usage("tensor '" + name + "' row length is not a multiple of the " + traits->name + " block size");
    uint64_t size = elems / traits->block_elems * traits->block_bytes;
    uint64_t file_size = dtype == APH_DTYPE_APR_Q8 ? elems + 4 : size;
    if (!fill) usage("tensor '" + name + "' has no fill callback");
    if (dtype != APH_DTYPE_F32 && dtype != APH_DTYPE_F16 && dtype != APH_DTYPE_BF16) flags_ |= kFlagQuantized;
    tensors_.push_back(Tensor{std::move(name), dtype, std::move(ne), elems, size, file_size, std::move(fill)});
}

void AprWriter::write(const std::string& path, const Progress& progress) const {
    // Index (sorted by name), data laid out in the order tensors were added.
    std::vector<uint64_t> offsets(tensors_.size());
    uint64_t data_bytes = 0, max_size = 0, total = 0;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        offsets[i] = data_bytes;
        data_bytes = align_up(data_bytes + tensors_[i].file_size, kAlign);
        max_size = std::max(max_size, tensors_[i].size);
        total += tensors_[i].size;
    }
    std::vector<size_t> order(tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].name < tensors_[b].name; });
    std::vector<uint8_t> index;
    for (size_t i : order) {
        const Tensor& t = tensors_[i];
        put_le(index, t.name.size(), 2);
        index.insert(index.end(), t.name.begin(), t.name.end());
        put_le(index, static_cast<uint32_t>(t.dtype), 1);
        put_le(index, t.ne.size(), 1);
        for (size_t d = t.ne.size(); d-- > 0;) put_le(index, static_cast<uint64_t>(t.ne[d]), 8);  // outermost first
        put_le(index, offsets[i], 8);
        put_le(index, t.file_size, 8);
    }
    if (json_.size() > (16u << 20)) usage("metadata is " + std::to_string(json_.size()) + " bytes (limit 16 MiB)");
    const uint64_t meta_off = 64;
    const uint64_t index_off = align_up(meta_off + json_.size(), kAlign);
    const uint64_t data_off = align_up(index_off + index.size(), kAlign);
    const uint64_t payload = data_off - 64 + data_bytes;

    std::vector<uint8_t> header;
    header.insert(header.end(), {'A', 'P', 'R', 0, 2, 0});
    put_le(header, flags_, 2);
    put_le(header, tensors_.size(), 4);
    put_le(header, meta_off, 8);
    put_le(header, json_.size(), 4);
    put_le(header, index_off, 8);
    put_le(header, data_off, 8);
    put_le(header, 0, 4);  // CRC, below
    header.resize(64, 0);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, header.data(), 40);
    crc = crc32(crc, header.data() + 44, 20);
    for (int i = 0; i < 4; ++i) header[40 + i] = static_cast<uint8_t>(crc >> (8 * i));

    TmpFile out(path + ".tmp");
    out.write(header.data(), header.size());
    {
        PayloadSink sink(out, compression_, payload);
        sink.write(json_.data(), json_.size());
        sink.zeros(index_off - meta_off - json_.size());
        sink.write(index.data(), index.size());
        sink.zeros(data_off - index_off - index.size());
        std::vector<uint8_t> buf;
        buf.reserve(max_size);
        uint64_t done = 0;
        for (const auto& t : tensors_) {
            buf.assign(t.size, 0);
            t.fill(std::span<uint8_t>(buf.data(), buf.size()));
            if (t.dtype == APH_DTYPE_APR_Q8) {
                // Block layout (f32 scale + 32 i8) → one scale for the tensor, then the i8 values.
                const uint64_t nb = t.elements / 32;
                for (uint64_t b = 1; b < nb; ++b)
                    if (std::memcmp(buf.data(), buf.data() + b * 36, 4) != 0)
                        usage("tensor '" + t.name + "' (apr_q8) has per-block scales; APR stores one per tensor");
                sink.write(buf.data(), 4);
                for (uint64_t b = 0; b < nb; ++b) sink.write(buf.data() + b * 36 + 4, 32);
            } else {
                sink.write(buf.data(), buf.size());
            }
            sink.zeros(align_up(t.file_size, kAlign) - t.file_size);
            done += t.size;
            if (progress) progress(done, total);
        }
        sink.finish();
    }
    const uint32_t footer = out.crc();
    uint8_t f[4];
    for (int i = 0; i < 4; ++i) f[i] = static_cast<uint8_t>(footer >> (8 * i));
    out.write(f, 4);
    out.commit(path);
}

}  // namespace aprhost::core
