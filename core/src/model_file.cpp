#include <aprhost/core/error.hpp>
#include <aprhost/core/host_services.hpp>
#include <aprhost/core/model_file.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace aprhost::core {

std::string TensorRef::shape_string() const {
    std::string s = "[";
    for (uint32_t i = 0; i < n_dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

std::unique_ptr<ModelFile> ModelFile::open(const PluginRegistry& registry, const std::string& path,
                                           const std::string& format_name,
                                           const std::map<std::string, std::string>& format_options) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(ErrorKind::BAD_INPUT, path + ": no such file");
    if (std::filesystem::is_directory(path, ec)) throw Error(ErrorKind::BAD_INPUT, path + ": is a directory");
    uint8_t head[64] = {};
    size_t head_size = 0;
    {
        std::ifstream f(path, std::ios::binary);
        if (!f) throw Error(ErrorKind::BAD_INPUT, path + ": cannot open for reading");
        f.read(reinterpret_cast<char*>(head), sizeof(head));
        head_size = static_cast<size_t>(f.gcount());
    }
    auto formats = registry.plugins(APH_PLUGIN_FORMAT);
    std::shared_ptr<LoadedPlugin> chosen;
    if (!format_name.empty()) {
        chosen = registry.get(APH_PLUGIN_FORMAT, format_name);
    } else {
        uint32_t best = 0;
        for (auto& p : formats) {
            uint32_t c = p->format().probe(head, head_size);
            if (c > best) best = c, chosen = p;
        }
        if (!chosen) {
            std::string names;
            for (auto& p : formats) names += (names.empty() ? "" : ", ") + p->name;
            throw Error(ErrorKind::BAD_INPUT, path + ": not a model file any format plugin recognises (tried: " +
                                                  (names.empty() ? "none loaded" : names) + ")");
        }
    }
    std::unique_ptr<ModelFile> m(new ModelFile());
    m->plugin_ = chosen;
    m->path_ = path;
    m->file_size_ = std::filesystem::file_size(path, ec);
    aph_error err{};
    std::vector<aph_option> opts;
    for (auto& [k, v] : format_options) opts.push_back({k.c_str(), v.c_str()});
    aph_status st = chosen->format().open(host_services(), path.c_str(), opts.data(), opts.size(), &m->handle_, &err);
    if (st != APH_OK || !m->handle_) {
        m->handle_ = nullptr;
        throw Error(st == APH_STATUS_INTERNAL ? ErrorKind::PLUGIN
                    : st == APH_STATUS_INVALID_ARGUMENT ? ErrorKind::USAGE
                                                        : ErrorKind::BAD_INPUT,
                    path + ": " + (err.message[0] ? err.message : "cannot open"));
    }
    const auto& vt = chosen->format();
    uint64_t nkv = vt.metadata_count(m->handle_);
    for (uint64_t i = 0; i < nkv; ++i) {
        aph_metadata_entry e{};
        st = vt.metadata_get(m->handle_, i, &e, &err);
        if (st != APH_OK) throw Error(ErrorKind::BAD_INPUT, path + ": " + err.message);
        m->metadata_.add_entry(e);
    }
    uint64_t nt = vt.tensor_count(m->handle_);
    m->tensors_.reserve(nt);
    for (uint64_t i = 0; i < nt; ++i) {
        aph_tensor_info ti{};
        st = vt.tensor_get(m->handle_, i, &ti, &err);
        if (st != APH_OK) throw Error(ErrorKind::BAD_INPUT, path + ": " + err.message);
        TensorRef t;
        t.name.assign(ti.name.data, ti.name.size);
        t.dtype = static_cast<aph_dtype>(ti.dtype);
        t.n_dims = ti.n_dims;
        if (ti.n_dims > APH_MAX_DIMS) throw Error(ErrorKind::BAD_INPUT, path + ": tensor '" + t.name + "' has too many dims");
        for (uint32_t d = 0; d < ti.n_dims; ++d) t.ne[d] = ti.ne[d];
        t.size = ti.size;
        t.data = ti.data;
        if (!t.data) throw Error(ErrorKind::BAD_INPUT, path + ": tensor '" + t.name + "' has no data");
        m->index_[t.name] = m->tensors_.size();
        m->tensors_.push_back(std::move(t));
    }
    return m;
}

ModelFile::~ModelFile() {
    if (handle_) plugin_->format().close(handle_);
}

std::string ModelFile::container_description() const {
    if (plugin_->format().describe) {
        const char* d = plugin_->format().describe(handle_);
        if (d) return d;
    }
    return plugin_->name;
}

const TensorRef* ModelFile::find_tensor(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace aprhost::core
