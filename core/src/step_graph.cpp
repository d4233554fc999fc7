#include <aprhost/core/error.hpp>
#include <aprhost/core/step_graph.hpp>

namespace aprhost::core {

int32_t StepGraph::add_tensor(const aph_tensor& t) {
    tensors_.push_back(t);
    return static_cast<int32_t>(tensors_.size() - 1);
}

uint32_t StepGraph::add_node(aph_op op, std::initializer_list<int32_t> srcs, int32_t dst, std::string name,
                             std::initializer_list<int32_t> iparams, std::initializer_list<float> fparams) {
    aph_node n{};
    n.op = op;
    for (auto& s : n.src) s = -1;
    if (srcs.size() > APH_MAX_SRC || iparams.size() > 8 || fparams.size() > 8)
        throw Error(ErrorKind::PLUGIN, "step graph node '" + name + "' has too many operands");
    size_t i = 0;
    for (auto s : srcs) n.src[i++] = s;
    n.dst = dst;
    i = 0;
    for (auto p : iparams) n.iparams[i++] = p;
    i = 0;
    for (auto p : fparams) n.fparams[i++] = p;
    names_.push_back(std::move(name));
    n.name = names_.back().c_str();
    nodes_.push_back(n);
    return static_cast<uint32_t>(nodes_.size() - 1);
}

aph_graph StepGraph::view() const {
    aph_graph g{};
    g.struct_size = sizeof(aph_graph);
    g.n_tensors = static_cast<uint32_t>(tensors_.size());
    g.tensors = tensors_.data();
    g.n_nodes = static_cast<uint32_t>(nodes_.size());
    g.nodes = nodes_.data();
    return g;
}

void StepGraph::clear() {
    tensors_.clear();
    nodes_.clear();
    names_.clear();
}

const char* op_name(uint32_t op) {
    switch (op) {
        case APH_OP_GET_ROWS: return "get_rows";
        case APH_OP_RMS_NORM: return "rms_norm";
        case APH_OP_MUL_MAT: return "mul_mat";
        case APH_OP_ROPE: return "rope";
        case APH_OP_KV_STORE: return "kv_store";
        case APH_OP_ATTENTION: return "attention";
        case APH_OP_SWIGLU: return "swiglu";
        case APH_OP_GEGLU: return "geglu";
        case APH_OP_ADD: return "add";
        case APH_OP_SCALE: return "scale";
        case APH_OP_COPY: return "copy";
        default: return "?";
    }
}

}  // namespace aprhost::core
