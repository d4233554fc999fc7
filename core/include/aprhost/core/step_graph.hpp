// A step graph under construction: tensors and nodes in host memory, handed to a backend as one aph_graph.
#pragma once

#include <aprhost/abi.h>

#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

namespace aprhost::core {

class StepGraph {
public:
    int32_t add_tensor(const aph_tensor& t);
    // Appends a node; srcs are tensor indices (-1 = absent). Returns the node index.
    uint32_t add_node(aph_op op, std::initializer_list<int32_t> srcs, int32_t dst, std::string name,
                      std::initializer_list<int32_t> iparams = {}, std::initializer_list<float> fparams = {});
    aph_graph view() const;  // valid until the next add_*
    const std::vector<aph_node>& nodes() const { return nodes_; }
    const std::vector<aph_tensor>& tensors() const { return tensors_; }
    void clear();

private:
    std::vector<aph_tensor> tensors_;
    std::vector<aph_node> nodes_;
    std::deque<std::string> names_;  // deque: node name pointers stay valid as names are added
};

const char* op_name(uint32_t op);  // "mul_mat", "rope", ...

}  // namespace aprhost::core
