/*
 * aprhost plugin ABI — the only contract between the host and its plugins.
 *
 * Plain C (C99/C++ compatible). No C++ types, no exceptions and no ownership transfer cross this boundary:
 * every fallible call returns an aph_status and writes a one-line message into a caller-provided aph_error.
 * Memory is released on the side that allocated it (create/destroy pairs on the same vtable).
 *
 * Versioning: a plugin exports `aprhost_plugin_entry` returning a const aph_plugin_desc*. The host refuses a plugin
 * whose abi_major differs from APH_ABI_MAJOR. Structs grow only by appending members; every struct that may grow
 * starts with `struct_size` and the host never reads past the size the plugin reports. Slot offsets of released
 * structs are pinned by static_asserts in tests/sdk/abi_layout_test.cpp.
 *
 * Conventions: names `aph_<noun>`; opaque handles end in `_t`; enum values are upper case with the enum's prefix.
 * For every vtable member the comment says whether it is REQUIRED or OPTIONAL (NULL allowed, host default given).
 */
#ifndef APRHOST_ABI_H
#define APRHOST_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define APH_ABI_MAJOR 1
#define APH_ABI_MINOR 2

/* Name of the one symbol every plugin exports: `const aph_plugin_desc* aprhost_plugin_entry(void)`. */
#define APH_ENTRY_SYMBOL "aprhost_plugin_entry"
/* Optional second export: `uint32_t aprhost_plugin_score(aph_error* reason)`; 0 = cannot run on this machine
 * (reason says why), higher = better fit (e.g. an AVX2 variant scores above a scalar one). Missing → score 1. */
#define APH_SCORE_SYMBOL "aprhost_plugin_score"

/* ------------------------------------------------------------------------------------------------------------ */
/* Status and errors                                                                                             */
/* ------------------------------------------------------------------------------------------------------------ */

typedef enum aph_status {
    APH_OK = 0,
    APH_STATUS_INVALID_ARGUMENT = 1, /* caller passed something malformed */
    APH_STATUS_UNSUPPORTED = 2,      /* valid request this plugin cannot serve (op, dtype, feature) */
    APH_STATUS_BAD_FORMAT = 3,       /* input file is malformed, truncated or hostile */
    APH_STATUS_IO = 4,               /* open/read/mmap failed */
    APH_STATUS_OUT_OF_MEMORY = 5,    /* host or device allocation failed */
    APH_STATUS_EXHAUSTED = 6,        /* a bounded resource (KV cache slots) is full */
    APH_STATUS_DEVICE = 7,           /* device/driver failure */
    APH_STATUS_ABORTED = 8,          /* the host's abort flag was raised */
    APH_STATUS_INTERNAL = 9          /* bug or unexpected exception inside the plugin */
} aph_status;

#define APH_ERROR_MESSAGE_MAX 512

/* A one-line, NUL-terminated message written by the callee when it returns a status other than APH_OK. */
typedef struct aph_error {
    char message[APH_ERROR_MESSAGE_MAX];
} aph_error;

/* ------------------------------------------------------------------------------------------------------------ */
/* Data types (values are the GGML type ids so GGUF tensors map 1:1; later formats append ids ≥ 128)             */
/* ------------------------------------------------------------------------------------------------------------ */

typedef enum aph_dtype {
    APH_DTYPE_F32 = 0,
    APH_DTYPE_F16 = 1,
    APH_DTYPE_Q4_0 = 2,
    APH_DTYPE_Q4_1 = 3,
    APH_DTYPE_Q5_0 = 6,
    APH_DTYPE_Q5_1 = 7,
    APH_DTYPE_Q8_0 = 8,
    APH_DTYPE_Q8_1 = 9,
    APH_DTYPE_Q2_K = 10,
    APH_DTYPE_Q3_K = 11,
    APH_DTYPE_Q4_K = 12,
    APH_DTYPE_Q5_K = 13,
    APH_DTYPE_Q6_K = 14,
    APH_DTYPE_Q8_K = 15,
    APH_DTYPE_I8 = 24,
    APH_DTYPE_I16 = 25,
    APH_DTYPE_I32 = 26,
    APH_DTYPE_I64 = 27,
    APH_DTYPE_F64 = 28,
    APH_DTYPE_BF16 = 30,
    /* APR-native types (appended). APR_Q4: blocks of 32 elements, 18 bytes: f16 scale + 16 bytes of nibbles;
     * x = (nibble − 8)·scale; byte j holds element 2j in its low nibble and element 2j+1 in its high nibble. */
    APH_DTYPE_APR_Q4 = 128,
    /* APR_Q8: blocks of 32 elements, 36 bytes: f32 scale + 32 × i8; x = scale·q. (APR files store one f32 scale
     * per tensor followed by the i8 values; the APR loader repeats the scale per block so rows are self-contained.) */
    APH_DTYPE_APR_Q8 = 129
} aph_dtype;

/* ------------------------------------------------------------------------------------------------------------ */
/* Host services, handed to every plugin instance at creation                                                    */
/* ------------------------------------------------------------------------------------------------------------ */

typedef enum aph_log_level {
    APH_LOG_DEBUG = 0,
    APH_LOG_INFO = 1,
    APH_LOG_WARN = 2,
    APH_LOG_ERROR = 3
} aph_log_level;

typedef struct aph_host_services {
    uint32_t struct_size;
    void* user;
    /* Plugins never print: they log through the host. May be NULL (drop the message). */
    void (*log)(void* user, aph_log_level level, const char* message);
    /* Long-running calls poll this; non-zero = stop and return APH_STATUS_ABORTED. May be NULL. */
    const volatile int32_t* abort_flag;
} aph_host_services;

/* Plugin-specific knobs travel as string key/values (e.g. "threads"="2" for the CPU backend) so that nothing
 * device-specific leaks into the generic vtables. Unknown keys are an APH_STATUS_INVALID_ARGUMENT error. */
typedef struct aph_option {
    const char* key;
    const char* value;
} aph_option;

/* ------------------------------------------------------------------------------------------------------------ */
/* Plugin descriptor                                                                                             */
/* ------------------------------------------------------------------------------------------------------------ */

typedef enum aph_plugin_kind {
    APH_PLUGIN_BACKEND = 1,
    APH_PLUGIN_FORMAT = 2,
    APH_PLUGIN_KV_CACHE = 3
} aph_plugin_kind;

typedef struct aph_plugin_desc {
    uint32_t abi_major;   /* APH_ABI_MAJOR the plugin was built with; must equal the host's */
    uint32_t abi_minor;   /* APH_ABI_MINOR the plugin was built with; informational */
    uint32_t struct_size; /* sizeof(aph_plugin_desc) as the plugin was built */
    uint32_t kind;        /* aph_plugin_kind */
    const char* name;     /* short unique name within its kind: "cpu", "gguf", "contiguous" */
    const char* variant;  /* build variant ("avx2", "scalar") or "" */
    const char* version;  /* plugin version, semver string */
    const char* description;
    /* Points to aph_backend_vtable, aph_format_vtable or aph_kv_vtable according to kind. Static storage. */
    const void* vtable;
} aph_plugin_desc;

typedef const aph_plugin_desc* (*aph_plugin_entry_fn)(void);
typedef uint32_t (*aph_plugin_score_fn)(aph_error* reason);

/* ============================================================================================================ */
/* Backends                                                                                                      */
/* ============================================================================================================ */

/* A device buffer. Opaque: it need not be host-addressable. */
typedef struct aph_buffer_s* aph_buffer_t;

#define APH_MAX_DIMS 4
#define APH_MAX_SRC 6

/* A tensor view: ne[0] is the innermost (contiguous) dimension, as in ggml. nb[] are byte strides; for a block
 * quantized dtype nb[0] is the block size in bytes and rows (ne[0]) are whole numbers of blocks.
 * Views are just other offsets/strides over the same buffer. */
typedef struct aph_tensor {
    uint32_t dtype; /* aph_dtype */
    uint32_t n_dims;
    int64_t ne[APH_MAX_DIMS]; /* unused dims are 1 */
    int64_t nb[APH_MAX_DIMS];
    aph_buffer_t buffer;
    uint64_t offset; /* byte offset of element 0 in buffer */
} aph_tensor;

/* The op set. Shapes are written innermost first. Values are stable: new ops are appended. */
typedef enum aph_op {
    APH_OP_NONE = 0,
    /* dst[d, n] f32 = rows of src0 [d, vocab] (any dtype) picked by src1 [n] i32 */
    APH_OP_GET_ROWS = 1,
    /* dst[d, n] = src0[d, n] / rms(src0 row) * src1[d]; fparams[0] = eps. src1 may be absent (no weight) */
    APH_OP_RMS_NORM = 2,
    /* dst[out, n] f32 = src0 [in, out] (weights, any dtype) × src1 [in, n] f32 (+ src2 [out] f32 bias if present) */
    APH_OP_MUL_MAT = 3,
    /* rotary embedding of src0 [head_dim, heads, n] at positions src1 [n] i32.
     * iparams[0] = mode (APH_ROPE_NORM | APH_ROPE_NEOX), iparams[1] = n_rot (rotated dims, ≤ head_dim);
     * fparams[0] = freq_base, fparams[1] = freq_scale (positions are multiplied by it). dst may alias src0. */
    APH_OP_ROPE = 4,
    /* write src0 [head_dim, kv_heads, n] f32 into dst (the layer's cache, [head_dim * kv_heads, slots] of f32/f16)
     * at the cache slots src1 [n] i32 chosen by the KV manager. */
    APH_OP_KV_STORE = 5,
    /* causal GQA attention for ONE sequence. src0 = q [head_dim, heads, n] f32; src1 = K cache, src2 = V cache
     * ([head_dim * kv_heads, slots], f32/f16); src3 = block table [n_blocks] i32; iparams[0] = n_kv (kv entries of
     * the sequence, in attention order), iparams[1] = block_size: kv entry i lives in slot
     * table[i / block_size] * block_size + i % block_size. The step's n queries are the last n kv entries: query j
     * sees kv entries 0 .. n_kv - n + j. fparams[0] = scale (usually 1/sqrt(head_dim)). dst [head_dim, heads, n]. */
    APH_OP_ATTENTION = 6,
    /* dst = silu(src0) * src1, elementwise, same shape */
    APH_OP_SWIGLU = 7,
    /* dst = gelu(src0) * src1 (tanh approximation) */
    APH_OP_GEGLU = 8,
    /* dst = src0 + src1; src1 broadcasts: each of its dims 1..3 is either 1 or equal to src0's (ne[0] always equal) */
    APH_OP_ADD = 9,
    /* dst = src0 * fparams[0] */
    APH_OP_SCALE = 10,
    /* dst = src0 converted to dst's dtype (f32 ⇄ f16/bf16; same-dtype = copy), same element count */
    APH_OP_COPY = 11,
    APH_OP_COUNT_ = 12
} aph_op;

enum { APH_ROPE_NORM = 0, APH_ROPE_NEOX = 2 };

typedef struct aph_node {
    uint32_t op;                 /* aph_op */
    int32_t src[APH_MAX_SRC];    /* indices into aph_graph.tensors; -1 = absent */
    int32_t dst;                 /* index into aph_graph.tensors */
    int32_t iparams[8];
    float fparams[8];
    const char* name;            /* for profiles and errors, e.g. "blk.3.attn_q"; may be NULL */
} aph_node;

/* One forward step, submitted whole. Nodes run in order; a node reads only tensors written by earlier nodes
 * or uploaded before submission. The graph memory belongs to the host and stays valid until synchronize. */
typedef struct aph_graph {
    uint32_t struct_size;
    uint32_t n_tensors;
    const aph_tensor* tensors;
    uint32_t n_nodes;
    const aph_node* nodes;
} aph_graph;

typedef enum aph_device_flags {
    APH_DEVICE_HOST_VISIBLE = 1u << 0, /* buffer_map works for every buffer (CPU, unified memory) */
    APH_DEVICE_IMPORT_HOST = 1u << 1   /* buffer_import_host works (weights used in place from the mmap) */
} aph_device_flags;

typedef struct aph_device_info {
    uint32_t struct_size;
    char name[128];         /* "AMD EPYC 7B13 (2 threads)", "NVIDIA H100 80GB HBM3" */
    char detail[256];       /* ISA / compute capability / driver, free text */
    uint64_t memory_total;  /* bytes of device memory (host RAM for CPU backends) */
    uint64_t memory_free;
    uint32_t flags;         /* aph_device_flags */
} aph_device_info;

typedef struct aph_backend_stats {
    uint32_t struct_size;
    uint64_t bytes_allocated; /* device memory held by this context's buffers */
    uint64_t graphs_computed;
    uint64_t nodes_computed;
} aph_backend_stats;

typedef struct aph_backend_vtable {
    uint32_t struct_size;
    /* REQUIRED. Create one backend context (a device + its queues/threads). opts: plugin-specific knobs. */
    aph_status (*create)(const aph_host_services* host, const aph_option* opts, size_t n_opts, void** out_ctx,
                         aph_error* err);
    /* REQUIRED. Destroy a context; every buffer still allocated from it is freed. */
    void (*destroy)(void* ctx);
    /* REQUIRED. Describe the device of this context. */
    aph_status (*device_info)(void* ctx, aph_device_info* out, aph_error* err);
    /* REQUIRED. Allocate size bytes of device memory; contents undefined. Released by buffer_free. */
    aph_status (*buffer_alloc)(void* ctx, uint64_t size, aph_buffer_t* out, aph_error* err);
    /* REQUIRED. Free a buffer from buffer_alloc or buffer_import_host. NULL is a no-op. */
    void (*buffer_free)(void* ctx, aph_buffer_t buf);
    /* REQUIRED. Copy host → device. Ordered with respect to graph_compute; the source may be reused on return. */
    aph_status (*buffer_upload)(void* ctx, aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size,
                                aph_error* err);
    /* REQUIRED. Copy device → host; waits for earlier work that writes the buffer. */
    aph_status (*buffer_download)(void* ctx, aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size,
                                  aph_error* err);
    /* OPTIONAL (NULL = not host-visible; host uses upload/download). Host pointer to the buffer's memory. */
    aph_status (*buffer_map)(void* ctx, aph_buffer_t buf, void** out_ptr, aph_error* err);
    /* OPTIONAL (NULL = host uploads a copy). Wrap read-only host memory (e.g. an mmap'ed weight file) as a buffer
     * without copying. The memory must outlive the buffer (the host guarantees it). */
    aph_status (*buffer_import_host)(void* ctx, const void* ptr, uint64_t size, aph_buffer_t* out, aph_error* err);
    /* REQUIRED. Can this node (op, dtypes, shapes) run here? APH_OK or APH_STATUS_UNSUPPORTED + reason. */
    aph_status (*supports)(void* ctx, const aph_graph* graph, uint32_t node_index, aph_error* err);
    /* REQUIRED. Submit the whole graph. May return before the work finishes; results are visible after
     * synchronize (or a download). */
    aph_status (*graph_compute)(void* ctx, const aph_graph* graph, aph_error* err);
    /* REQUIRED. Wait until all submitted work has finished; reports asynchronous failures. */
    aph_status (*synchronize)(void* ctx, aph_error* err);
    /* OPTIONAL (NULL = zeros). Counters of this context. */
    void (*stats)(void* ctx, aph_backend_stats* out);
    /* OPTIONAL (NULL = per-node timing unavailable; added in ABI 1.1). Computes the graph exactly like
     * graph_compute and returns only when it has finished, writing the wall time of each node in nanoseconds
     * to node_ns[0 .. n_nodes-1] as measured by the device (CPU: a clock around each node; GPU: events).
     * Slower than graph_compute; meant for profilers. */
    aph_status (*graph_profile)(void* ctx, const aph_graph* graph, uint64_t* node_ns, aph_error* err);
} aph_backend_vtable;

/* ============================================================================================================ */
/* Format loaders                                                                                                */
/* ============================================================================================================ */

/* Metadata values. The format plugin normalises its own metadata to GGUF key names and these types
 * ("general.architecture", "qwen2.block_count", "tokenizer.ggml.tokens", ...), so the core reads one vocabulary. */
typedef enum aph_value_type {
    APH_VALUE_U8 = 0,
    APH_VALUE_I8 = 1,
    APH_VALUE_U16 = 2,
    APH_VALUE_I16 = 3,
    APH_VALUE_U32 = 4,
    APH_VALUE_I32 = 5,
    APH_VALUE_F32 = 6,
    APH_VALUE_BOOL = 7,
    APH_VALUE_STRING = 8,
    APH_VALUE_ARRAY = 9,
    APH_VALUE_U64 = 10,
    APH_VALUE_I64 = 11,
    APH_VALUE_F64 = 12
} aph_value_type;

typedef struct aph_string {
    const char* data; /* not NUL-terminated; owned by the model handle */
    uint64_t size;
} aph_string;

typedef struct aph_metadata_entry {
    aph_string key;
    uint32_t type;      /* aph_value_type */
    uint32_t elem_type; /* for arrays: type of the elements (never ARRAY) */
    uint64_t count;     /* for arrays: number of elements; otherwise 1 */
    /* scalar: the value's bits in `scalar`: unsigned ints zero-extended (u64), signed ints sign-extended (i64),
     * bool 0/1, f32 its IEEE-754 bits in the low 32 bits of u64 (not converted to double), f64 its bits;
     * string: `str`; numeric array: `data` points to count packed little-endian elements (may be unaligned);
     * string array: `strings` points to count aph_string. All owned by the model handle. */
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
    } scalar;
    aph_string str;
    const void* data;
    const aph_string* strings;
} aph_metadata_entry;

typedef struct aph_tensor_info {
    aph_string name;       /* normalised to GGUF tensor names ("blk.0.attn_q.weight") */
    uint32_t dtype;        /* aph_dtype */
    uint32_t n_dims;
    int64_t ne[APH_MAX_DIMS]; /* GGUF order: ne[0] = innermost (row length) */
    uint64_t size;         /* bytes of data */
    /* host-addressable bytes of the tensor (inside the mmap, or a buffer the model handle owns), never NULL */
    const void* data;
} aph_tensor_info;

typedef struct aph_format_vtable {
    uint32_t struct_size;
    /* REQUIRED. Confidence 0..100 that the file starting with these bytes is this format (0 = not mine). */
    uint32_t (*probe)(const uint8_t* head, size_t head_size);
    /* REQUIRED. Open and fully validate a model file. Errors name what is wrong (field, offset, value). */
    aph_status (*open)(const aph_host_services* host, const char* path, const aph_option* opts, size_t n_opts,
                       void** out_model, aph_error* err);
    /* REQUIRED. Release everything the model handle owns (unmaps the file). */
    void (*close)(void* model);
    /* REQUIRED. Metadata entries, valid until close. */
    uint64_t (*metadata_count)(void* model);
    aph_status (*metadata_get)(void* model, uint64_t index, aph_metadata_entry* out, aph_error* err);
    /* REQUIRED. Tensor table, valid until close. */
    uint64_t (*tensor_count)(void* model);
    aph_status (*tensor_get)(void* model, uint64_t index, aph_tensor_info* out, aph_error* err);
    /* OPTIONAL. Short human description of the container ("GGUF v3, alignment 32"); NULL = none. */
    const char* (*describe)(void* model);
} aph_format_vtable;

/* ============================================================================================================ */
/* KV-cache managers                                                                                             */
/* ============================================================================================================ */

/* The manager decides WHERE each token's K/V goes (slot indices); the storage is backend buffers the host
 * allocates with n_slots rows per layer. */
typedef struct aph_kv_config {
    uint32_t struct_size;
    uint32_t n_layers;
    uint32_t n_kv_heads;
    uint32_t head_dim;
    uint32_t dtype;          /* aph_dtype of stored K/V */
    uint32_t capacity;       /* tokens the host wants to be able to hold in total */
    uint32_t block_size;     /* tokens per block (paged managers); 0 = manager default */
    uint32_t max_sequences;
} aph_kv_config;

typedef struct aph_kv_stats {
    uint32_t struct_size;
    uint64_t slots_total;
    uint64_t slots_used;
    uint64_t blocks_total;
    uint64_t blocks_used;
    uint64_t evictions;
} aph_kv_stats;

typedef struct aph_kv_vtable {
    uint32_t struct_size;
    /* REQUIRED. Create a manager for cfg. */
    aph_status (*create)(const aph_host_services* host, const aph_kv_config* cfg, const aph_option* opts,
                         size_t n_opts, void** out_kv, aph_error* err);
    /* REQUIRED. */
    void (*destroy)(void* kv);
    /* REQUIRED. Number of slots (rows per layer) the host must allocate for K and for V. */
    uint64_t (*slot_count)(void* kv);
    /* REQUIRED. Append n_tokens to sequence seq (created on first use) and write the slot of each new token to
     * out_slots[n_tokens]. Full → APH_STATUS_EXHAUSTED and nothing changes. */
    aph_status (*seq_append)(void* kv, uint32_t seq, uint32_t n_tokens, int32_t* out_slots, aph_error* err);
    /* REQUIRED. The sequence's kv entries in attention order as a block table (see APH_OP_ATTENTION).
     * Writes up to table_capacity block indices; *out_n_blocks is the number needed; *out_n_kv the entry count. */
    aph_status (*seq_block_table)(void* kv, uint32_t seq, int32_t* table, uint32_t table_capacity,
                                  uint32_t* out_n_blocks, uint32_t* out_block_size, uint32_t* out_n_kv,
                                  aph_error* err);
    /* OPTIONAL (NULL = unsupported). Make dst share src's entries (copy-on-write for paged managers). */
    aph_status (*seq_fork)(void* kv, uint32_t src, uint32_t dst, aph_error* err);
    /* OPTIONAL (NULL = unsupported). Keep the first n entries of seq (speculative rollback). */
    aph_status (*seq_truncate)(void* kv, uint32_t seq, uint32_t n, aph_error* err);
    /* REQUIRED. Forget seq; its slots become free. Unknown seq is a no-op. */
    void (*seq_free)(void* kv, uint32_t seq);
    /* OPTIONAL (NULL = zeros). */
    void (*stats)(void* kv, aph_kv_stats* out);
    /* OPTIONAL (NULL = no prefix cache; since ABI 1.2). Appends the token ids[n] to an EMPTY sequence like
     * seq_append, but may attach entries computed earlier for the same leading ids (whole blocks, shared
     * copy-on-write): *out_n_cached (≤ n − 1, so the last token is always computed) entries need no computation,
     * and out_slots[0 .. n − *out_n_cached) receives the slots of the remaining tokens. */
    aph_status (*seq_append_tokens)(void* kv, uint32_t seq, const int32_t* ids, uint32_t n, int32_t* out_slots,
                                    uint32_t* out_n_cached, aph_error* err);
} aph_kv_vtable;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* APRHOST_ABI_H */
