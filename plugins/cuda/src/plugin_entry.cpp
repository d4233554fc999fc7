// The exported entry points of the cuda backend plugin (libaprhost-backend-cuda.so).
#include "cuda_backend.hpp"

#include <aprhost/plugin.hpp>

APRHOST_DECLARE_PLUGIN(BACKEND, aprhost::cuda::CudaBackend, "cuda", "", "0.1.0",
                       "CUDA backend: fused dequant GEMV decode, cuBLASLt prefill, flash-decoding attention, "
                       "CUDA-graph replay of the decode step")
