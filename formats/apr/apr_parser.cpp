// APR v2 parsing and validation. As for GGUF: every count, length and offset is attacker-controlled until checked
// against what the file holds, with overflow-safe arithmetic, before anything is allocated or indexed.
#include "apr_parser.h"

#include <aprhost/plugin.hpp>

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_set>

namespace aprhost::apr {
namespace {

using sdk::Error;

[[noreturn]] void fail(const std::string& msg) { throw Error(APH_STATUS_BAD_FORMAT, "APR: " + msg); }

std::string num(uint64_t v) { return std::to_string(v); }

uint64_t read_le(const uint8_t* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// A decompressed payload may be at most this many times larger than its frame (and never above 1 TiB): bounds
// the allocation a hostile frame header can request. Quantized weights barely compress, so real files are far
// below it; zero padding is what compresses.
constexpr uint64_t kMaxExpansion = 4096;
constexpr uint64_t kMaxPayload = uint64_t(1) << 40;

std::unique_ptr<uint8_t, FreeDeleter> alloc_logical(uint64_t size) {
    uint64_t rounded = align_up(size, kTensorAlignment);
    void* p = std::aligned_alloc(kTensorAlignment, static_cast<size_t>(rounded));
    if (!p) throw Error(APH_STATUS_OUT_OF_MEMORY, "APR: cannot allocate " + num(rounded) + " bytes for the payload");
    return std::unique_ptr<uint8_t, FreeDeleter>(static_cast<uint8_t*>(p));
}

void check_expansion(uint64_t content, uint64_t frame, const char* codec) {
    if (content > kMaxPayload || content / kMaxExpansion > frame)
        fail(std::string(codec) + " payload claims " + num(content) + " bytes from a " + num(frame) +
             "-byte frame (refused as implausible)");
}

// Decompresses the zstd frame at the start of `in` into out (content bytes). Returns the frame's size.
uint64_t decompress_zstd(std::span<const uint8_t> in, AprFile& f) {
    size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
    if (ZSTD_isError(frame)) fail(std::string("zstd payload is damaged or truncated: ") + ZSTD_getErrorName(frame));
    unsigned long long content = ZSTD_getFrameContentSize(in.data(), frame);
    if (content == ZSTD_CONTENTSIZE_ERROR) fail("zstd payload has a bad frame header");
    if (content == ZSTD_CONTENTSIZE_UNKNOWN) fail("zstd payload does not record its decompressed size");
    check_expansion(content, frame, "zstd");
    f.owned = alloc_logical(kHeaderSize + content);
    size_t got = ZSTD_decompress(f.owned.get() + kHeaderSize, static_cast<size_t>(content), in.data(), frame);
    if (ZSTD_isError(got)) fail(std::string("zstd payload does not decompress: ") + ZSTD_getErrorName(got));
    if (got != content) fail("zstd payload decompressed to " + num(got) + " bytes, frame says " + num(content));
    f.logical = {f.owned.get(), static_cast<size_t>(kHeaderSize + content)};
    return frame;
}

// Same for an LZ4 frame (lz4frame format, which records the content size when the writer asks it to).
uint64_t decompress_lz4(std::span<const uint8_t> in, AprFile& f) {
    LZ4F_dctx* dctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        throw Error(APH_STATUS_OUT_OF_MEMORY, "APR: cannot create an LZ4 decompression context");
    struct Ctx {
        LZ4F_dctx* p;
        ~Ctx() { LZ4F_freeDecompressionContext(p); }
    } guard{dctx};
    LZ4F_frameInfo_t info{};
    size_t consumed = in.size();
    size_t r = LZ4F_getFrameInfo(dctx, &info, in.data(), &consumed);
    if (LZ4F_isError(r)) fail(std::string("lz4 payload has a bad frame header: ") + LZ4F_getErrorName(r));
    if (info.contentSize == 0) fail("lz4 payload does not record its decompressed size");
    check_expansion(info.contentSize, in.size(), "lz4");
    const uint64_t content = info.contentSize;
    f.owned = alloc_logical(kHeaderSize + content);
    uint8_t* out = f.owned.get() + kHeaderSize;
    size_t in_pos = consumed, out_pos = 0;
    while (true) {
        size_t src_size = in.size() - in_pos;
        size_t dst_size = static_cast<size_t>(content) - out_pos;
        r = LZ4F_decompress(dctx, out + out_pos, &dst_size, in.data() + in_pos, &src_size, nullptr);
        if (LZ4F_isError(r)) fail(std::string("lz4 payload does not decompress: ") + LZ4F_getErrorName(r));
        in_pos += src_size;
        out_pos += dst_size;
        if (r == 0) break;  // frame complete
        if (src_size == 0 && dst_size == 0) fail("lz4 payload is truncated");
    }
    if (out_pos != content) fail("lz4 payload decompressed to " + num(out_pos) + " bytes, frame says " + num(content));
    f.logical = {f.owned.get(), static_cast<size_t>(kHeaderSize + content)};
    return in_pos;
}

uint32_t crc_of(const uint8_t* p, uint64_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    // zlib takes uInt lengths: feed large spans in pieces.
    while (n) {
        uInt k = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return static_cast<uint32_t>(c);
}

AprHeader read_header(std::span<const uint8_t> b, bool verify) {
    if (b.size() < 4) fail("file is " + num(b.size()) + " bytes, too small for the magic");
    if (std::memcmp(b.data(), "APR1", 4) == 0)
        fail("this is an APR v1 file ('APR1'), an obsolete format: re-export it as APR v2");
    if (!apr_has_magic(b.data(), b.size()))
        fail("bad magic " + apr_quote(std::string_view(reinterpret_cast<const char*>(b.data()), 4)) +
             " (expected 'APR\\x00' or 'APR2')");
    if (b.size() < kHeaderSize)
        fail("file truncated: " + num(b.size()) + " bytes, the header alone is " + num(kHeaderSize));
    const uint8_t* p = b.data();
    AprHeader h;
    std::memcpy(h.magic, p, 4);
    h.version_major = p[4];
    h.version_minor = p[5];
    h.flags = static_cast<uint16_t>(read_le(p + 6, 2));
    h.tensor_count = static_cast<uint32_t>(read_le(p + 8, 4));
    h.metadata_offset = read_le(p + 12, 8);
    h.metadata_size = static_cast<uint32_t>(read_le(p + 20, 4));
    h.tensor_index_offset = read_le(p + 24, 8);
    h.data_offset = read_le(p + 32, 8);
    h.crc = static_cast<uint32_t>(read_le(p + 40, 4));
    if (h.version_major == 1) fail("version 1.x is the obsolete APR v1 format: re-export it as APR v2");
    if (h.version_major != 2) fail("unsupported version " + num(h.version_major) + "." + num(h.version_minor) +
                                   " (supported: 2.x)");
    if (verify) {
        uint32_t want = apr_header_crc(p);
        if (want != h.crc)
            fail("header CRC mismatch (stored " + num(h.crc) + ", computed " + num(want) +
                 "): the file is damaged (open with verify=0 to skip the check)");
    }
    if (h.flags & APR_FLAG_ENCRYPTED) fail("file is encrypted, which aprhost does not support");
    if (h.flags & APR_FLAG_SHARDED) fail("file is one shard of a sharded model, which aprhost does not support");
    if (h.flags & APR_FLAG_COLUMN_MAJOR)
        fail("file stores column-major tensors, which aprhost does not support (re-export row-major)");
    if ((h.flags & APR_FLAG_LZ4) && (h.flags & APR_FLAG_ZSTD)) fail("flags say both LZ4 and ZSTD compression");
    return h;
}

// Reads the index entries in [tensor_index_offset, data_offset) of the logical file.
void read_index(AprFile& f) {
    const AprHeader& h = f.header;
    const uint8_t* base = f.logical.data();
    const uint64_t end = h.data_offset;
    uint64_t pos = h.tensor_index_offset;
    auto need = [&](uint64_t n, const std::string& what) {
        if (n > end - pos)
            fail("tensor index truncated at offset " + num(pos) + " reading " + what + " (need " + num(n) +
                 " bytes, " + num(end - pos) + " left before the data section)");
    };
    // Each entry is at least 2 + 1 + 1 + 1 + 8 + 8 + 8 bytes (one-byte name, one dim).
    constexpr uint64_t kMinEntry = 29;
    if (h.tensor_count > (end - pos) / kMinEntry)
        fail("tensor count " + num(h.tensor_count) + " is impossible: the index holds " + num(end - pos) + " bytes");
    f.index.reserve(h.tensor_count);
    std::unordered_set<std::string_view> names;
    for (uint32_t i = 0; i < h.tensor_count; ++i) {
        AprIndexEntry e;
        std::string where = "tensor index entry " + num(i);
        need(2, where + " name_len");
        uint64_t name_len = read_le(base + pos, 2);
        pos += 2;
        if (name_len == 0) fail(where + " has an empty name");
        need(name_len, where + " name (name_len " + num(name_len) + ")");
        e.name = std::string_view(reinterpret_cast<const char*>(base + pos), static_cast<size_t>(name_len));
        pos += name_len;
        where = "tensor " + apr_quote(e.name);
        if (!names.insert(e.name).second) fail("duplicate " + where);
        need(2, where + " dtype and ndim");
        e.dtype = base[pos];
        e.ndim = base[pos + 1];
        pos += 2;
        if (e.ndim == 0 || e.ndim > kMaxDims) fail(where + " has ndim " + num(e.ndim) + " (must be 1..8)");
        need(uint64_t(e.ndim) * 8 + 16, where + " dims, offset and size");
        uint64_t elems = 1;
        for (uint32_t d = 0; d < e.ndim; ++d) {
            e.dims[d] = read_le(base + pos, 8);
            pos += 8;
            if (e.dims[d] == 0) fail(where + " has dim " + num(d) + " = 0");
            if (__builtin_mul_overflow(elems, e.dims[d], &elems) ||
                elems > uint64_t(std::numeric_limits<int64_t>::max()))
                fail(where + " has dims whose element count overflows int64");
        }
        e.elements = elems;
        e.offset = read_le(base + pos, 8);
        e.size = read_le(base + pos + 8, 8);
        pos += 16;
        f.index.push_back(e);
    }
}

void check_tensor_data(const AprFile& f) {
    const uint64_t data_start = f.header.data_offset;
    const uint64_t file_end = f.logical.size();
    for (const auto& e : f.index) {
        std::string where = "tensor " + apr_quote(e.name);
        uint64_t start = 0, stop = 0;
        if (__builtin_add_overflow(data_start, e.offset, &start) || __builtin_add_overflow(start, e.size, &stop) ||
            stop > file_end)
            fail(where + " data [offset " + num(e.offset) + ", size " + num(e.size) +
                 "] extends past the end of the file (data section " + num(data_start) + ".." + num(file_end) + ")");
        if (start % kTensorAlignment != 0)
            fail(where + " data at file offset " + num(start) + " is not 64-byte aligned");
    }
    std::vector<const AprIndexEntry*> by_offset;
    by_offset.reserve(f.index.size());
    for (const auto& e : f.index) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const AprIndexEntry* a, const AprIndexEntry* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const AprIndexEntry* prev = by_offset[i - 1];
        const AprIndexEntry* cur = by_offset[i];
        if (cur->offset < prev->offset + prev->size)  // no overflow: both ends were checked against the file
            fail("tensor " + apr_quote(cur->name) + " data [offset " + num(cur->offset) + ", size " + num(cur->size) +
                 "] overlaps tensor " + apr_quote(prev->name) + " [offset " + num(prev->offset) + ", size " +
                 num(prev->size) + "]");
    }
}

uint64_t data_end(const AprFile& f) {
    uint64_t end = f.header.data_offset;
    for (const auto& e : f.index) end = std::max(end, f.header.data_offset + e.offset + e.size);
    return end;
}

}  // namespace

void FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

bool apr_has_magic(const uint8_t* head, size_t n) {
    if (!head || n < 4) return false;
    return std::memcmp(head, "APR\0", 4) == 0 || std::memcmp(head, "APR2", 4) == 0 ||
           std::memcmp(head, "APR1", 4) == 0;
}

uint32_t apr_header_crc(const uint8_t* header64) {
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, header64, 40);
    c = crc32(c, header64 + 44, 20);
    return static_cast<uint32_t>(c);
}

std::string apr_quote(std::string_view s) { return sdk::quoted_for_message(s); }

std::string apr_flags_string(uint16_t flags) {
    static const std::pair<uint16_t, const char*> names[] = {
        {APR_FLAG_LZ4, "lz4"},           {APR_FLAG_ZSTD, "zstd"},           {APR_FLAG_ENCRYPTED, "encrypted"},
        {APR_FLAG_SIGNED, "signed"},     {APR_FLAG_SHARDED, "sharded"},     {APR_FLAG_QUANTIZED, "quantized"},
        {APR_FLAG_HAS_VOCAB, "has-vocab"}, {APR_FLAG_ROW_MAJOR, "row-major"}, {APR_FLAG_COLUMN_MAJOR, "column-major"}};
    std::string s;
    uint16_t known = 0;
    for (auto& [bit, name] : names) {
        known = static_cast<uint16_t>(known | bit);
        if (!(flags & bit)) continue;
        if (!s.empty()) s.push_back('|');
        s.append(name);
    }
    if (flags & ~known) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%x", unsigned(flags & ~known));
        if (!s.empty()) s.push_back('|');
        s.append(buf);
    }
    return s.empty() ? "none" : s;
}

AprFile apr_parse(std::span<const uint8_t> bytes, bool verify) {
    AprFile f;
    f.header = read_header(bytes, verify);
    AprHeader& h = f.header;
    const bool compressed = h.flags & (APR_FLAG_LZ4 | APR_FLAG_ZSTD);

    if (compressed) {
        std::span<const uint8_t> payload = bytes.subspan(kHeaderSize);
        if (payload.empty()) fail("compressed file has no payload after the header");
        f.compressed_bytes = (h.flags & APR_FLAG_ZSTD) ? decompress_zstd(payload, f) : decompress_lz4(payload, f);
        std::memcpy(f.owned.get(), bytes.data(), kHeaderSize);
        const uint64_t trailing = payload.size() - f.compressed_bytes;
        if (trailing == 4) {
            if (verify) {
                uint32_t stored = static_cast<uint32_t>(read_le(bytes.data() + bytes.size() - 4, 4));
                uint32_t want = crc_of(bytes.data(), bytes.size() - 4);
                if (stored != want)
                    fail("footer CRC mismatch (stored " + num(stored) + ", computed " + num(want) +
                         "): the file is damaged");
            }
            f.footer_crc = true;
        } else if (trailing != 0) {
            fail(num(trailing) + " unexpected bytes after the compressed payload");
        }
    } else {
        f.logical = bytes;
    }

    // Regions, in order, inside the logical file.
    const uint64_t size = f.logical.size();
    if (h.metadata_offset < kHeaderSize)
        fail("metadata_offset " + num(h.metadata_offset) + " points into the header");
    if (h.metadata_size > kMaxMetadataSize)
        fail("metadata_size " + num(h.metadata_size) + " exceeds the 16 MiB limit");
    uint64_t meta_end = h.metadata_offset + h.metadata_size;  // no overflow: offset checked below first
    if (h.metadata_offset > size || h.metadata_size > size - h.metadata_offset)
        fail("metadata [offset " + num(h.metadata_offset) + ", size " + num(h.metadata_size) +
             "] extends past the end of the file (size " + num(size) + ")");
    if (h.tensor_index_offset < meta_end || h.tensor_index_offset > size)
        fail("tensor_index_offset " + num(h.tensor_index_offset) + " is outside [end of metadata " + num(meta_end) +
             ", end of file " + num(size) + "]");
    if (h.data_offset < h.tensor_index_offset || h.data_offset > size)
        fail("data_offset " + num(h.data_offset) + " is outside [tensor index " + num(h.tensor_index_offset) +
             ", end of file " + num(size) + "]");
    f.metadata_json = std::string_view(reinterpret_cast<const char*>(f.logical.data() + h.metadata_offset),
                                       h.metadata_size);

    read_index(f);
    check_tensor_data(f);

    if (!compressed) {
        // Footer: after the data, optionally padded to 64, exactly 4 bytes.
        const uint64_t end = data_end(f);
        const uint64_t padded = align_up(end, kTensorAlignment);
        const bool footer = (size == end + 4) || (size == padded + 4 && padded != end);
        if (footer) {
            if (verify) {
                uint32_t stored = static_cast<uint32_t>(read_le(bytes.data() + size - 4, 4));
                uint32_t want = crc_of(bytes.data(), size - 4);
                if (stored != want)
                    fail("footer CRC mismatch (stored " + num(stored) + ", computed " + num(want) +
                         "): the file is damaged");
            }
            f.footer_crc = true;
        }
    }
    return f;
}

}  // namespace aprhost::apr
