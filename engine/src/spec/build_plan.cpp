#include "nnlab/build_plan.h"

#include <map>
#include <set>

namespace nnlab {

namespace {

bool pool2x2(const LayerSpec& s)
{
    return s.type == "maxpool2d" && s.intOption("kernel_size") == 2
           && (s.intOption("stride") == 0 || s.intOption("stride") == 2) && s.intOption("padding") == 0;
}

// The activation other than ReLU a linear layer computes in its autograd node. A leaky ReLU
// with a negative slope is left alone: its gradient is read from the output's sign.
FusedActivation linearActivation(const LayerSpec& next)
{
    if (next.type == "tanh")
        return FusedActivation::Tanh;
    if (next.type == "sigmoid")
        return FusedActivation::Sigmoid;
    if (next.type == "leaky_relu" && next.option("negative_slope") >= 0)
        return FusedActivation::LeakyRelu;
    return FusedActivation::None;
}

// An activation that ActAvgPool computes before its average pooling.
bool poolActivation(const LayerSpec& s)
{
    return s.type == "relu" || s.type == "leaky_relu" || s.type == "tanh" || s.type == "sigmoid";
}

bool increasing(const std::string& type)
{
    return type == "relu" || type == "leaky_relu" || type == "tanh" || type == "sigmoid";
}

// A ReLU may overwrite its input when that is a fresh tensor whose producer does not need
// its own output for the backward pass: it saves writing a new activation, which on CNNs
// costs as much memory traffic as the ReLU itself. Not after a view (flatten), the data
// (first layer) or an activation that keeps its output (tanh, sigmoid). "fused" stands for
// the fused modules, whose backward passes keep their inputs, not their outputs.
bool writesFreshOutput(const std::string& type)
{
    static const std::set<std::string> types{"linear", "conv2d", "batchnorm1d", "batchnorm2d", "layernorm",
                                             "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "residual", "fused"};
    return types.count(type) > 0;
}

class Planner {
public:
    Planner(const ModelInfo& info, bool fuse) : m_fuse(fuse)
    {
        for (const auto& row : info.layers)
            (row.type == "shortcut" ? m_shortcuts : m_rows)[row.path] = &row;
    }

    std::vector<PlannedModule> sequence(const std::vector<LayerSpec>& specs, const std::string& path)
    {
        std::vector<PlannedModule> plan;
        std::string last;   // the type of the module that runs just before (for the in-place rule)
        const auto module = [&](PlannedKind kind, size_t i, size_t count) -> PlannedModule& {
            PlannedModule m;
            m.kind = kind;
            m.layer = i;
            m.count = count;
            m.name = specs[i].name.empty() ? std::to_string(i) : specs[i].name;
            m.path = path + "[" + std::to_string(i) + "]";
            m.inputShape = m_rows.at(m.path)->inputShape;
            plan.push_back(std::move(m));
            return plan.back();
        };
        const auto add = [&](size_t i) {
            const LayerSpec& s = specs[i];
            if (m_fuse && pool2x2(s)) {
                module(PlannedKind::MaxPool2x2, i, 1);
            } else if (s.type == "residual") {
                PlannedModule& m = module(PlannedKind::Residual, i, 1);
                m.body = sequence(s.layers, m.path + ".layers");
                if (auto it = m_shortcuts.find(m.path); it != m_shortcuts.end()) {
                    m.shortcut = true;
                    m.shortcutInput = it->second->inputShape;
                    m.shortcutOutput = it->second->outputShape;
                }
            } else {
                PlannedModule& m = module(PlannedKind::Layer, i, 1);
                m.inplace = (s.type == "relu" || s.type == "leaky_relu") && writesFreshOutput(last);
            }
            last = s.type;
        };
        for (size_t i = 0; i < specs.size(); ++i) {
            const bool pair = i + 1 < specs.size();
            if (const size_t used = firstConvPool(specs, path, i); used > 0) {
                module(PlannedKind::ConvPool2x2, i, used).relu = used == 3;
                last = "fused";
                i += used - 1;
            } else if (m_fuse && pair && specs[i].type == "relu" && pool2x2(specs[i + 1])) {
                module(PlannedKind::MaxPool2x2, i + 1, 2).relu = true;
                last = "fused";
                ++i;
            } else if (m_fuse && pair && pool2x2(specs[i]) && specs[i + 1].type == "relu") {
                module(PlannedKind::MaxPool2x2, i, 2).relu = true;
                last = "fused";
                ++i;
            } else if (m_fuse && specs[i].type == "linear") {
                const FusedActivation other = pair ? linearActivation(specs[i + 1]) : FusedActivation::None;
                const bool relu = pair && specs[i + 1].type == "relu";
                const bool fused = relu || other != FusedActivation::None;
                PlannedModule& m = module(PlannedKind::LinearRelu, i, fused ? 2 : 1);
                m.relu = relu;
                m.activation = other;
                if (other == FusedActivation::LeakyRelu)
                    m.negativeSlope = specs[i + 1].option("negative_slope");
                // keeps its output for the activation's gradient: what follows must not overwrite it
                last = fused ? "activation" : "linear";
                i += fused ? 1 : 0;
            } else if (m_fuse && (specs[i].type == "batchnorm2d" || specs[i].type == "batchnorm1d")) {
                // alone or with the (leaky) ReLU after it, and on flat samples (BatchNorm1d's
                // [N, C]) the dropout after those: one kernel either way
                const std::string next = pair ? specs[i + 1].type : "";
                const bool activation = next == "relu" || next == "leaky_relu";
                const size_t d = activation ? i + 2 : i + 1;
                const bool flat = m_rows.at(path + "[" + std::to_string(i) + "]")->inputShape.size() == 1;
                const bool dropout = flat && d < specs.size() && specs[d].type == "dropout" && specs[d].option("p") > 0
                                     && specs[d].option("p") < 1;
                PlannedModule& m = module(PlannedKind::BatchNormRelu, i, 1 + (activation ? 1 : 0) + (dropout ? 1 : 0));
                m.relu = next == "relu";
                if (next == "leaky_relu") {
                    m.activation = FusedActivation::LeakyRelu;
                    m.negativeSlope = specs[i + 1].option("negative_slope");
                }
                if (dropout)
                    m.dropout = specs[d].option("p");
                last = "fused";
                i += m.count - 1;
            } else if (m_fuse && pair && poolActivation(specs[i]) && specs[i + 1].type == "avgpool2d") {
                // the activation at full resolution is never written (fused_act_pool.cpp)
                PlannedModule& m = module(PlannedKind::ActAvgPool, i + 1, 2);
                m.relu = specs[i].type == "relu";
                m.activation = specs[i].type == "tanh"      ? FusedActivation::Tanh
                               : specs[i].type == "sigmoid" ? FusedActivation::Sigmoid
                               : specs[i].type == "leaky_relu" ? FusedActivation::LeakyRelu
                                                               : FusedActivation::None;
                if (m.activation == FusedActivation::LeakyRelu)
                    m.negativeSlope = specs[i].option("negative_slope");
                last = "fused";
                ++i;
            } else if (m_fuse && specs[i].type == "avgpool2d") {
                module(PlannedKind::ActAvgPool, i, 1);
                last = "fused";
            } else if (pair && increasing(specs[i].type) && specs[i + 1].type == "maxpool2d") {
                add(i + 1);
                add(i);   // after pooling, which writes a fresh output
                ++i;
            } else {
                add(i);
            }
        }
        return plan;
    }

private:
    // The first layer of the model (its input is the data, which needs no gradient): a
    // stride-1 convolution followed by 2x2 pooling, or by ReLU and pooling in either order.
    // Returns how many layers ConvPool2x2 replaces (0: none).
    size_t firstConvPool(const std::vector<LayerSpec>& specs, const std::string& path, size_t i) const
    {
        if (!m_fuse || path != "model.layers" || i != 0 || specs.size() < 2 || specs[0].type != "conv2d")
            return 0;
        const LayerSpec& conv = specs[0];
        if (conv.intOption("stride") != 1 || conv.intOption("dilation") != 1 || conv.intOption("groups") != 1)
            return 0;
        if (pool2x2(specs[1]))
            return specs.size() > 2 && specs[2].type == "relu" ? 3 : 2;
        return specs.size() > 2 && specs[1].type == "relu" && pool2x2(specs[2]) ? 3 : 0;
    }

    bool m_fuse;
    std::map<std::string, const LayerInfo*> m_rows;
    std::map<std::string, const LayerInfo*> m_shortcuts;
};

const char* activationName(FusedActivation a)
{
    switch (a) {
    case FusedActivation::None: return "none";
    case FusedActivation::LeakyRelu: return "leaky_relu";
    case FusedActivation::Tanh: return "tanh";
    case FusedActivation::Sigmoid: return "sigmoid";
    }
    return "?";
}

const char* kindName(PlannedKind kind)
{
    switch (kind) {
    case PlannedKind::Layer: return "layer";
    case PlannedKind::ConvPool2x2: return "conv_pool2x2";
    case PlannedKind::MaxPool2x2: return "maxpool2x2";
    case PlannedKind::LinearRelu: return "linear";
    case PlannedKind::BatchNormRelu: return "batchnorm";
    case PlannedKind::Residual: return "residual";
    case PlannedKind::ActAvgPool: return "avgpool";
    }
    return "?";
}

void describe(const std::vector<PlannedModule>& plan, const std::vector<LayerSpec>& layers, int depth, std::string& out)
{
    for (const auto& m : plan) {
        out += std::string(static_cast<size_t>(depth) * 2, ' ') + m.name + " ";
        out += m.kind == PlannedKind::Layer ? layers[m.layer].type : kindName(m.kind);
        if (m.relu)
            out += "+relu";
        if (m.activation != FusedActivation::None)
            out += std::string("+") + activationName(m.activation);
        if (m.dropout > 0)
            out += "+dropout";
        if (m.inplace)
            out += " inplace";
        if (m.shortcut)
            out += " +shortcut";
        out += "\n";
        if (m.kind == PlannedKind::Residual)
            describe(m.body, layers[m.layer].layers, depth + 1, out);
    }
}

} // namespace

std::vector<PlannedModule> planModel(const ModelSpec& spec, const ModelInfo& model, bool fuse)
{
    return Planner(model, fuse).sequence(spec.layers, "model.layers");
}

std::string describePlan(const std::vector<PlannedModule>& plan, const std::vector<LayerSpec>& layers)
{
    std::string out;
    describe(plan, layers, 0, out);
    return out;
}

} // namespace nnlab
