// COPY: dst = src converted to dst's dtype. f32 ⇄ f16/bf16 convert element by element (round-to-nearest-even,
// the reference's quantize_row); same-dtype copies (any dtype, quantised blocks included) move row bytes. Same
// shape: each tensor is addressed through its own strides. Different shapes (validation requires both contiguous):
// flat element order, i.e. the same as addressing each tensor by its own extents, which the kernels do.
#include "cuda_device_util.cuh"
#include "cuda_ops.hpp"

namespace aprhost::cuda {

namespace {

constexpr int kThreads = 256;

// Float conversion, one thread per element (grid-stride), flat element e addressed in both views.
__global__ void convert_kernel(View src, uint32_t src_dtype, View dst, uint32_t dst_dtype, int64_t count) {
    const int64_t sb = float_dtype_bytes(src_dtype), db = float_dtype_bytes(dst_dtype);
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < count;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float v = load_float(src.base + view_elem_offset(src, e, sb), src_dtype);
        store_float(dst.base + view_elem_offset(dst, e, db), dst_dtype, v);
    }
}

// Same-dtype copy of whole rows (same shape): row r's row_bytes bytes, 1 byte per thread step (rows of any dtype
// are byte strings; strides are only guaranteed to be multiples of the dtype's alignment).
__global__ void copy_rows_kernel(View src, View dst, int64_t row_bytes, int64_t rows) {
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const char* s = src.base + view_row_offset(src, r);
        char* d = dst.base + view_row_offset(dst, r);
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < row_bytes;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x)
            d[i] = s[i];
    }
}

bool is_contiguous(const View& v, int64_t row_bytes) {
    return (v.ne[1] == 1 || v.nb[1] == row_bytes) && (v.ne[2] == 1 || v.nb[2] == row_bytes * v.ne[1]) &&
           (v.ne[3] == 1 || v.nb[3] == row_bytes * v.ne[1] * v.ne[2]);
}

}  // namespace

void launch_copy(const OpContext& ctx, const aph_graph& g, const aph_node& n) {
    const aph_tensor& st = g.tensors[n.src[0]];
    const aph_tensor& dt = g.tensors[n.dst];
    const View src = make_view(g, n.src[0]);
    const View dst = make_view(g, n.dst);
    const int64_t count = src.ne[0] * src.ne[1] * src.ne[2] * src.ne[3];
    if (count == 0) return;
    if (st.dtype != dt.dtype) {
        int64_t blocks = (count + kThreads - 1) / kThreads;
        if (blocks > 4096) blocks = 4096;
        convert_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.lc.stream>>>(src, st.dtype, dst, dt.dtype,
                                                                                     count);
        cuda_check_launch("convert_kernel");
        return;
    }
    const int64_t src_row = tensor_row_bytes(st);
    const int64_t dst_row = tensor_row_bytes(dt);
    if (is_contiguous(src, src_row) && is_contiguous(dst, dst_row)) {
        // One linear copy (also covers differently shaped contiguous tensors: flat order is byte order).
        const int64_t bytes = src_row * view_rows(src);
        if (src.base != dst.base)
            APRHOST_CUDA_CHECK(cudaMemcpyAsync(dst.base, src.base, static_cast<size_t>(bytes),
                                               cudaMemcpyDeviceToDevice, ctx.lc.stream));
        return;
    }
    // Same shape (validated), strided rows.
    copy_rows_kernel<<<row_grid(src_row, view_rows(src), kThreads), kThreads, 0, ctx.lc.stream>>>(
        src, dst, src_row, view_rows(src));
    cuda_check_launch("copy_rows_kernel");
}

}  // namespace aprhost::cuda
