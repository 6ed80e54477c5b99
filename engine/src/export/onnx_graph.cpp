#include "onnx_graph.h"

#include <stdexcept>

namespace nnlab::onnxw {

std::string GraphWriter::unique(const std::string& name)
{
    std::string candidate = name;
    for (int i = 1; m_names.count(candidate) || m_reserved.count(candidate); ++i)
        candidate = name + "_" + std::to_string(i);
    m_names.insert(candidate);
    return candidate;
}

std::string GraphWriter::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                              bool exact)
{
    if (exact && !m_names.insert(output).second)
        throw std::logic_error("onnx writer: " + output + " is taken");
    const std::string out = exact ? output : unique(output);
    onnx::NodeProto* n = m_graph.add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (const auto& in : inputs)
        n->add_input(in);
    n->add_output(out);
    return out;
}

onnx::NodeProto& GraphWriter::last()
{
    if (m_graph.node_size() == 0)
        throw std::logic_error("onnx writer: attribute before any node");
    return *m_graph.mutable_node(m_graph.node_size() - 1);
}

void GraphWriter::attr(const std::string& name, int64_t value)
{
    onnx::AttributeProto* a = last().add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
}

void GraphWriter::attr(const std::string& name, float value)
{
    onnx::AttributeProto* a = last().add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
}

void GraphWriter::attr(const std::string& name, const std::vector<int64_t>& values)
{
    onnx::AttributeProto* a = last().add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values)
        a->add_ints(v);
}

std::string GraphWriter::floats(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values)
{
    int64_t count = 1;
    for (int64_t d : shape)
        count *= d;
    if (count != int64_t(values.size()))
        throw std::logic_error("onnx writer: " + name + " has " + std::to_string(values.size())
                               + " values for " + std::to_string(count) + " elements");
    onnx::TensorProto* t = m_graph.add_initializer();
    const std::string unique_name = unique(name);
    t->set_name(unique_name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
        t->add_dims(d);
    // raw_data is little-endian float32, as on every machine nnlab builds for.
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return unique_name;
}

std::string GraphWriter::int64s(const std::string& name, const std::vector<int64_t>& values)
{
    onnx::TensorProto* t = m_graph.add_initializer();
    const std::string unique_name = unique(name);
    t->set_name(unique_name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(int64_t(values.size()));
    for (int64_t v : values)
        t->add_int64_data(v);
    return unique_name;
}

bool GraphWriter::renameOutput(const std::string& from, const std::string& to)
{
    if (!m_names.insert(to).second)
        throw std::logic_error("onnx writer: " + to + " is taken");
    for (int i = m_graph.node_size(); i-- > 0;) {
        onnx::NodeProto* n = m_graph.mutable_node(i);
        for (int o = 0; o < n->output_size(); ++o)
            if (n->output(o) == from) {
                n->set_output(o, to);
                return true;
            }
    }
    m_names.erase(to);
    return false;
}

void setBatchedFloat(onnx::ValueInfoProto& info, const std::string& name, const std::vector<int64_t>& shape)
{
    info.set_name(name);
    onnx::TypeProto_Tensor* tensor = info.mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto* dims = tensor->mutable_shape();
    dims->add_dim()->set_dim_param("N");
    for (int64_t d : shape)
        dims->add_dim()->set_dim_value(d);
}

} // namespace nnlab::onnxw
