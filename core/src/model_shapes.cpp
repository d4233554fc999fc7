// Qwen2.5 hyper-parameters (from the models' published config.json files) and llama-quantize's type mix,
// re-stated from its documented behaviour so synthetic files mix types the way real Q4_K_M files do.
#include <aprhost/core/error.hpp>
#include <aprhost/core/model_shapes.hpp>

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace aprhost::core {
namespace {

// tiny: every width a multiple of 256 so K-quants apply everywhere, head_dim 64 like 0.5B, a 1024-token vocab.
constexpr std::array<ModelShape, 4> kShapes{{
    {"tiny", 256, 2, 4, 2, 512, 1024, true, 32768, 1000000.0f, 1e-6f},
    {"0.5b", 896, 24, 14, 2, 4864, 151936, true, 32768, 1000000.0f, 1e-6f},
    {"1.5b", 1536, 28, 12, 2, 8960, 151936, true, 32768, 1000000.0f, 1e-6f},
    {"7b", 3584, 28, 28, 4, 18944, 152064, false, 32768, 1000000.0f, 1e-6f},
}};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

constexpr int64_t kQK_K = 256;  // elements per K-quant super-block

}  // namespace

std::span<const ModelShape> model_shapes() { return kShapes; }

const ModelShape* find_model_shape(std::string_view name) {
    for (const auto& s : kShapes) {
        if (iequals(name, s.name)) return &s;
    }
    return nullptr;
}

bool quant_use_more_bits(int64_t layer, int64_t n_layers) {
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

uint32_t quant_file_type(aph_dtype target) {
    switch (target) {
        case APH_DTYPE_F16: return 1;
        case APH_DTYPE_Q4_0: return 2;
        case APH_DTYPE_Q8_0: return 7;
        case APH_DTYPE_Q4_K: return 15;  // LLAMA_FTYPE_MOSTLY_Q4_K_M
        default: break;
    }
    throw Error(ErrorKind::USAGE, fmt::format("unsupported synthetic quantisation type id {}",
                                              static_cast<int>(target)));
}

const char* quant_mix_name(aph_dtype target) {
    switch (target) {
        case APH_DTYPE_F16: return "F16";
        case APH_DTYPE_Q4_0: return "Q4_0";
        case APH_DTYPE_Q8_0: return "Q8_0";
        case APH_DTYPE_Q4_K: return "Q4_K_M";
        default: break;
    }
    throw Error(ErrorKind::USAGE, fmt::format("unsupported synthetic quantisation type id {}",
                                              static_cast<int>(target)));
}

aph_dtype quant_mix_type(aph_dtype target, TensorRole role, int64_t layer, int64_t n_layers, int64_t row_width) {
    (void)quant_file_type(target);  // validates the target
    if (role == TensorRole::NORM || role == TensorRole::BIAS) return APH_DTYPE_F32;
    if (target == APH_DTYPE_F16 || target == APH_DTYPE_Q8_0) return target;

    aph_dtype t = target;
    if (role == TensorRole::OUTPUT) {
        // llama-quantize: the output head is Q6_K unless its rows cannot hold K-quants (then Q8_0).
        return row_width % kQK_K == 0 ? APH_DTYPE_Q6_K : APH_DTYPE_Q8_0;
    }
    if (target == APH_DTYPE_Q4_K && (role == TensorRole::ATTN_V || role == TensorRole::FFN_DOWN) &&
        quant_use_more_bits(layer, n_layers)) {
        t = APH_DTYPE_Q6_K;
    }
    if (row_width % kQK_K != 0) {
        if (t == APH_DTYPE_Q4_K) t = APH_DTYPE_Q5_0;
        else if (t == APH_DTYPE_Q6_K) t = APH_DTYPE_Q8_0;
    }
    return t;
}

}  // namespace aprhost::core
