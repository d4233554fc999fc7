// GGUF v3 writer. Metadata and tensor infos are serialised into memory (they are small), then tensors are
// streamed one at a time through their fill callbacks into one reused buffer, each padded to the alignment.
// The file appears atomically: everything goes to path + ".tmp", which is renamed only after a clean close.
#include <aprhost/core/gguf_writer.hpp>

#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace aprhost::core {
namespace {

constexpr uint32_t kGgufVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;

// Little-endian serialisation into a byte vector.
class ByteSink {
public:
    void u8(uint8_t v) { bytes_.push_back(v); }
    void le(uint64_t v, size_t n) {
        for (size_t i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void u32(uint32_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void f32(float f) {
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        u32(bits);
    }
    void f64(double d) {
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        u64(bits);
    }
    void str(std::string_view s) {
        u64(s.size());
        bytes_.insert(bytes_.end(), s.begin(), s.end());
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

// One element of an integer-typed value: v holds it as signed (i) or unsigned (u) per the MetaValue convention.
void put_int(ByteSink& out, aph_value_type t, uint64_t bits) {
    switch (t) {
    case APH_VALUE_U8:
    case APH_VALUE_I8:
    case APH_VALUE_BOOL: out.le(bits, 1); break;
    case APH_VALUE_U16:
    case APH_VALUE_I16: out.le(bits, 2); break;
    case APH_VALUE_U32:
    case APH_VALUE_I32: out.le(bits, 4); break;
    default: out.le(bits, 8); break;
    }
}

[[noreturn]] void usage(const std::string& msg) { throw Error(ErrorKind::USAGE, "GGUF writer: " + msg); }

void put_value(ByteSink& out, const std::string& key, const MetaValue& v) {
    out.u32(v.type);
    switch (v.type) {
    case APH_VALUE_STRING: out.str(v.s); return;
    case APH_VALUE_F32: out.f32(static_cast<float>(v.f)); return;
    case APH_VALUE_F64: out.f64(v.f); return;
    case APH_VALUE_BOOL: out.u8(v.i != 0 ? 1 : 0); return;
    case APH_VALUE_ARRAY: break;
    default:
        if (!value_type_is_integer(v.type)) usage("key '" + key + "' has unknown value type " + std::to_string(v.type));
        put_int(out, v.type, value_type_is_unsigned(v.type) ? v.u : static_cast<uint64_t>(v.i));
        return;
    }
    // Arrays.
    out.u32(v.elem_type);
    switch (v.elem_type) {
    case APH_VALUE_STRING:
        out.u64(v.strings.size());
        for (const auto& s : v.strings) out.str(s);
        return;
    case APH_VALUE_F32:
        out.u64(v.floats.size());
        for (double d : v.floats) out.f32(static_cast<float>(d));
        return;
    case APH_VALUE_F64:
        out.u64(v.floats.size());
        for (double d : v.floats) out.f64(d);
        return;
    case APH_VALUE_ARRAY: usage("key '" + key + "' is an array of arrays, which GGUF readers here refuse");
    default:
        if (!value_type_is_integer(v.elem_type))
            usage("key '" + key + "' has unknown array element type " + std::to_string(v.elem_type));
        out.u64(v.ints.size());
        for (int64_t x : v.ints) put_int(out, v.elem_type, v.elem_type == APH_VALUE_BOOL ? (x != 0) : uint64_t(x));
        return;
    }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

// Owns the FILE* of the temporary file; removes the file unless committed.
class TmpFile {
public:
    explicit TmpFile(std::string path) : path_(std::move(path)) {
        f_ = std::fopen(path_.c_str(), "wb");
        if (!f_) fail("cannot create");
        std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
    }
    ~TmpFile() {
        if (f_) std::fclose(f_);
        if (!committed_) std::remove(path_.c_str());
    }
    void write(const void* p, size_t n) {
        if (n && std::fwrite(p, 1, n, f_) != n) fail("cannot write");
    }
    void zeros(size_t n) {
        static const uint8_t z[256] = {};
        while (n) {
            size_t k = n < sizeof z ? n : sizeof z;
            write(z, k);
            n -= k;
        }
    }
    void commit(const std::string& final_path) {
        std::FILE* f = f_;
        f_ = nullptr;
        if (std::fclose(f) != 0) fail("cannot close");
        if (std::rename(path_.c_str(), final_path.c_str()) != 0)
            fail("cannot rename to '" + final_path + "'");
        committed_ = true;
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        throw Error(ErrorKind::BAD_INPUT, "GGUF writer: " + what + " '" + path_ + "': " + std::strerror(errno));
    }
    std::string path_;
    std::FILE* f_ = nullptr;
    bool committed_ = false;
};

}  // namespace

GgufWriter::GgufWriter(Metadata metadata, uint32_t alignment) : metadata_(std::move(metadata)), alignment_(alignment) {
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
        usage("alignment " + std::to_string(alignment_) + " is not a power of two");
    // The file must say which alignment it uses unless it is the default; an existing key is made to agree.
    if (alignment_ != kDefaultAlignment || metadata_.has("general.alignment"))
        metadata_.set_u32("general.alignment", alignment_);
}

void GgufWriter::add_tensor(std::string name, aph_dtype dtype, std::vector<int64_t> ne, Fill fill) {
    if (name.empty()) usage("tensor with an empty name");
    for (const auto& t : tensors_)
        if (t.name == name) usage("duplicate tensor name '" + name + "'");
    auto traits = dtype_traits(dtype);
    if (!traits) usage("tensor '" + name + "' has unknown dtype " + std::to_string(dtype));
    if (ne.empty() || ne.size() > APH_MAX_DIMS)
        usage("tensor '" + name + "' has " + std::to_string(ne.size()) + " dims (must be 1..4)");
    uint64_t elems = 1;
    for (int64_t d : ne) {
        if (d <= 0) usage("tensor '" + name + "' has a dim " + std::to_string(d) + " <= 0");
        if (__builtin_mul_overflow(elems, uint64_t(d), &elems) || elems > uint64_t(std::numeric_limits<int64_t>::max()))
            usage("tensor '" + name + "' element count overflows");
    }
    if (ne[0] % traits->block_elems != 0)
        usage("tensor '" + name + "' row length " + std::to_string(ne[0]) + " is not a multiple of the " +
              traits->name + " block size " + std::to_string(traits->block_elems));
    uint64_t size = 0;
    if (__builtin_mul_overflow(elems / traits->block_elems, uint64_t(traits->block_bytes), &size))
        usage("tensor '" + name + "' byte size overflows");
    if (!fill) usage("tensor '" + name + "' has no fill callback");
    tensors_.push_back(Tensor{std::move(name), dtype, std::move(ne), size, std::move(fill)});
}

uint64_t GgufWriter::total_tensor_bytes() const {
    uint64_t total = 0;
    for (const auto& t : tensors_) total += t.size;
    return total;
}

void GgufWriter::write(const std::string& path, const Progress& progress) const {
    // Header, key/values and tensor infos.
    ByteSink head;
    head.u8('G');
    head.u8('G');
    head.u8('U');
    head.u8('F');
    head.u32(kGgufVersion);
    head.u64(tensors_.size());
    head.u64(metadata_.size());
    for (const auto& [key, value] : metadata_.entries()) {
        if (key.empty()) usage("metadata has an empty key");
        head.str(key);
        put_value(head, key, value);
    }
    uint64_t offset = 0;  // relative to the data section
    uint64_t max_size = 0;
    for (const auto& t : tensors_) {
        head.str(t.name);
        head.u32(static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) head.u64(static_cast<uint64_t>(d));
        head.u32(t.dtype);
        head.u64(offset);
        offset = align_up(offset + t.size, alignment_);
        if (t.size > max_size) max_size = t.size;
    }

    TmpFile out(path + ".tmp");
    const auto& hb = head.bytes();
    out.write(hb.data(), hb.size());
    out.zeros(align_up(hb.size(), alignment_) - hb.size());

    // Tensor data, one at a time through a reused buffer. The buffer is zeroed before each fill so a callback
    // that writes less than asked leaves zeros, not a previous tensor's bytes.
    const uint64_t total = total_tensor_bytes();
    uint64_t done = 0;
    std::vector<uint8_t> buf;
    buf.reserve(max_size);
    for (const auto& t : tensors_) {
        buf.assign(t.size, 0);
        t.fill(std::span<uint8_t>(buf.data(), buf.size()));
        out.write(buf.data(), buf.size());
        out.zeros(align_up(t.size, alignment_) - t.size);
        done += t.size;
        if (progress) progress(done, total);
    }
    out.commit(path);
}

}  // namespace aprhost::core
