// A loaded model: the file, its description, the tokenizer and chat template, and the weights made available
// to one backend context (zero-copy imports of the mmap where the backend can, uploads otherwise).
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/backend.hpp>
#include <aprhost/core/chat_template.hpp>
#include <aprhost/core/model_desc.hpp>
#include <aprhost/core/model_file.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <map>
#include <memory>
#include <string>

namespace aprhost::core {

class Model {
public:
    // Opens the file, describes it, builds its tokenizer and puts the weights on the backend.
    Model(const PluginRegistry& registry, const std::string& path, std::shared_ptr<BackendContext> backend,
          const std::map<std::string, std::string>& format_options = {});

    const ModelFile& file() const { return *file_; }
    const ModelDesc& desc() const { return desc_; }
    const HyperParams& hparams() const { return desc_.hp; }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    const ChatTemplate& chat_template() const { return chat_template_; }
    BackendContext& backend() const { return *backend_; }
    const std::shared_ptr<BackendContext>& backend_ptr() const { return backend_; }

    // The tensor view of a weight on the backend (ne/nb from the file, buffer from the import/upload).
    aph_tensor weight(const TensorRef* t) const;
    // Bytes of weights placed on the device (0 when every weight is a zero-copy import).
    uint64_t device_weight_bytes() const { return device_bytes_; }

private:
    std::unique_ptr<ModelFile> file_;
    ModelDesc desc_;
    std::unique_ptr<Tokenizer> tokenizer_;
    ChatTemplate chat_template_;
    std::shared_ptr<BackendContext> backend_;
    std::map<const TensorRef*, std::shared_ptr<Buffer>> weights_;
    uint64_t device_bytes_ = 0;
};

// ne/nb of a contiguous tensor of dtype with the given dims (ggml order). Throws core::Error(BAD_INPUT) when a
// row is not a whole number of blocks.
aph_tensor make_tensor(aph_dtype dtype, std::initializer_list<int64_t> ne, aph_buffer_t buffer, uint64_t offset);

}  // namespace aprhost::core
