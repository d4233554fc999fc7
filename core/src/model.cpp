#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>

namespace aprhost::core {

aph_tensor make_tensor(aph_dtype dtype, std::initializer_list<int64_t> ne, aph_buffer_t buffer, uint64_t offset) {
    auto tr = dtype_traits(dtype);
    if (!tr) throw Error(ErrorKind::BAD_INPUT, "unknown dtype " + std::to_string(dtype));
    aph_tensor t{};
    t.dtype = dtype;
    t.n_dims = static_cast<uint32_t>(ne.size());
    size_t i = 0;
    for (auto v : ne) t.ne[i++] = v;
    for (; i < APH_MAX_DIMS; ++i) t.ne[i] = 1;
    if (t.ne[0] % tr->block_elems != 0)
        throw Error(ErrorKind::BAD_INPUT, "row of " + std::to_string(t.ne[0]) + " elements is not a whole number of " +
                                              tr->name + " blocks");
    t.nb[0] = tr->block_bytes;
    t.nb[1] = t.ne[0] / tr->block_elems * tr->block_bytes;
    for (size_t d = 2; d < APH_MAX_DIMS; ++d) t.nb[d] = t.nb[d - 1] * t.ne[d - 1];
    t.buffer = buffer;
    t.offset = offset;
    return t;
}

Model::Model(const PluginRegistry& registry, const std::string& path, std::shared_ptr<BackendContext> backend,
             const std::map<std::string, std::string>& format_options)
    : backend_(std::move(backend)) {
    file_ = ModelFile::open(registry, path, "", format_options);
    desc_ = describe_model(*file_);
    tokenizer_ = Tokenizer::from_metadata(file_->metadata());
    chat_template_ = ChatTemplate::detect(file_->metadata().get_string("tokenizer.chat_template").value_or(""));
    if (tokenizer_->vocab_size() > desc_.hp.n_vocab)
        throw Error(ErrorKind::BAD_INPUT, path + ": tokenizer has " + std::to_string(tokenizer_->vocab_size()) +
                                              " tokens but the embedding only " + std::to_string(desc_.hp.n_vocab));
    // Put every weight the graph uses on the backend, each once (tied embeddings share the buffer).
    auto place = [&](const TensorRef* t) {
        if (!t || weights_.count(t)) return;
        auto buf = backend_->import_or_upload(t->data, t->size, t->name.c_str());
        if (!backend_->can_import_host()) device_bytes_ += t->size;
        weights_[t] = std::move(buf);
    };
    place(desc_.tok_embd);
    place(desc_.output_norm);
    place(desc_.output);
    for (auto& l : desc_.layers) {
        for (auto* t : {l.attn_norm, l.wq, l.wk, l.wv, l.bq, l.bk, l.bv, l.wo, l.ffn_norm, l.w_gate, l.w_up, l.w_down})
            place(t);
    }
}

aph_tensor Model::weight(const TensorRef* t) const {
    auto it = weights_.find(t);
    if (it == weights_.end()) throw Error(ErrorKind::PLUGIN, "weight '" + t->name + "' is not on the backend");
    aph_tensor out{};
    switch (t->n_dims) {
        case 1: out = make_tensor(t->dtype, {t->ne[0]}, it->second->handle(), 0); break;
        case 2: out = make_tensor(t->dtype, {t->ne[0], t->ne[1]}, it->second->handle(), 0); break;
        default: out = make_tensor(t->dtype, {t->ne[0], t->ne[1], t->ne[2], t->ne[3]}, it->second->handle(), 0);
    }
    return out;
}

}  // namespace aprhost::core
