// The op drivers of the CPU backend: ISA-neutral code that validates a node's runtime arguments (ids, slots),
// splits the work over the thread pool and calls the kernels of the context's KernelTable.
// unsupported_reason() (op_validate.cpp) has already accepted the node's op, dtypes and shapes.
#pragma once

#include "kernels/kernel_table.hpp"
#include "thread_pool.hpp"

#include <aprhost/abi.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace aprhost::cpu {

// A growable 64-byte aligned byte buffer (scratch for quantized activations).
class AlignedBytes {
public:
    uint8_t* data() { return ptr_.get(); }
    // Grows (never shrinks) to at least n bytes; contents are not preserved.
    uint8_t* reserve(size_t n) {
        if (n > cap_) {
            const size_t c = (n + 63) / 64 * 64;
            ptr_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, c)));
            if (!ptr_) throw std::bad_alloc();
            cap_ = c;
        }
        return ptr_.get();
    }

private:
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint8_t, Free> ptr_;
    size_t cap_ = 0;
};

// Everything an op driver needs from its context; one per backend context, used by one graph at a time.
struct OpEnv {
    OpEnv(const KernelTable& kernels, int n_threads, int spin_us)
        : k(kernels),
          pool(n_threads, spin_us),
          thread_scratch(static_cast<size_t>(pool.size())),
          thread_offsets(static_cast<size_t>(pool.size())) {}

    const KernelTable& k;
    ThreadPool pool;
    AlignedBytes act;                                // quantized activation columns (MUL_MAT)
    std::vector<const void*> col_src;                // per-column activation pointers (MUL_MAT)
    std::vector<float*> col_dst;                     // per-column output pointers (MUL_MAT)
    std::vector<std::vector<float>> thread_scratch;    // per-thread f32 scratch (ATTENTION), indexed by ith
    std::vector<std::vector<int64_t>> thread_offsets;  // per-thread cache-row offsets (ATTENTION)
};

// Threads worth using for `work` units of roughly uniform cost (multiply-adds or elements touched):
// small ops stay on the calling thread, since waking the pool costs more than they do.
int threads_for_work(const OpEnv& env, double work);

// Chunk size that gives each of nth threads about 4 chunks of n items (dynamic claiming then evens out load).
inline int64_t chunk_for(int64_t n, int nth) { return nth <= 1 ? n : (n + 4 * nth - 1) / (4 * nth); }

void op_get_rows(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_rms_norm(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_mul_mat(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_rope(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_kv_store(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_attention(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_glu(OpEnv& env, const aph_graph& g, const aph_node& node);  // SWIGLU and GEGLU
void op_add(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_scale(OpEnv& env, const aph_graph& g, const aph_node& node);
void op_copy(OpEnv& env, const aph_graph& g, const aph_node& node);

// "" when the node can run on this backend; otherwise why not (op, dtype or shape).
std::string op_unsupported_reason(const aph_graph& g, uint32_t node_index);

// Throws sdk::Error(INVALID_ARGUMENT) when a tensor of the node reaches outside its buffer.
void op_check_bounds(const aph_graph& g, const aph_node& node);

}  // namespace aprhost::cpu
