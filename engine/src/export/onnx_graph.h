// A thin writer over ONNX's own protobuf classes (Debian's libonnx-dev): nodes with their
// attributes, float and int64 initializers, and names that stay unique, so the layer
// emitter (onnx_export.cpp) reads as a list of operators.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace nnlab::onnxw {

class GraphWriter {
public:
    explicit GraphWriter(onnx::GraphProto& graph) : m_graph(graph) {}

    // Keeps `name` (the graph's input and outputs) from node() without `exact`.
    void reserve(const std::string& name) { m_reserved.insert(name); }

    // Adds a node whose single output is `output` and returns it; attributes are added to
    // `last()` afterwards. The name gets a suffix when taken or reserved, unless `exact`.
    std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                     bool exact = false);
    onnx::NodeProto& last();

    void attr(const std::string& name, int64_t value);
    void attr(const std::string& name, float value);
    void attr(const std::string& name, const std::vector<int64_t>& values);

    // A float32 initializer; returns its name (unique: a taken name gets a suffix).
    std::string floats(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values);
    std::string scalar(const std::string& name, float value) { return floats(name, {}, {value}); }
    std::string int64s(const std::string& name, const std::vector<int64_t>& values);

    // Renames the output of the node that produced `from` (nothing may consume it yet).
    // Returns false when no node produced it (it is the graph input).
    bool renameOutput(const std::string& from, const std::string& to);

private:
    std::string unique(const std::string& name);

    onnx::GraphProto& m_graph;
    std::set<std::string> m_names;
    std::set<std::string> m_reserved;
};

// A tensor value info: float, dimension "N" first (dynamic batch), then `shape`.
void setBatchedFloat(onnx::ValueInfoProto& info, const std::string& name, const std::vector<int64_t>& shape);

} // namespace nnlab::onnxw
