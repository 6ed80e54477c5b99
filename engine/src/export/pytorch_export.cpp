// `export --format pytorch`: a Python module that rebuilds the network from torch.nn modules,
// written from the experiment and the interface alone (no LibTorch here), and the weights
// beside it as safetensors. The modules are named as nnlab names its layers, so the weights
// file's names are the module's state-dict keys and load_state_dict(strict=True) checks them.
#include "nnlab/layer_types.h"
#include "nnlab/atomic_file.h"
#include "nnlab/model_export.h"
#include "nnlab/model_info.h"
#include "pytorch_text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

namespace nnlab {

namespace {

using namespace pytorch;

std::string pad(int indent) { return std::string(size_t(indent), ' '); }

std::string join(const std::vector<std::string>& parts, const char* separator = ", ")
{
    std::string out;
    for (const auto& part : parts)
        out += (out.empty() ? "" : separator) + part;
    return out;
}

std::string shapeList(const Shape& shape, bool tuple)
{
    std::vector<std::string> dims;
    for (int64_t d : shape)
        dims.push_back(std::to_string(d));
    if (tuple)
        return "(" + join(dims) + (dims.size() == 1 ? ",)" : ")");
    return "[" + join(dims) + "]";
}

// How a layer type becomes a torch.nn module: its class and the leading positional arguments,
// which come from the layer's input shape and the options named in `positional`. The other
// options follow as keyword arguments, each where it differs from torch.nn's default (the
// layer table's) or where `always` lists it.
struct TorchModule {
    const char* className;
    enum class Leading { None, Features, Channels, WholeShape } leading;
    std::vector<std::string> positional;
    std::vector<std::string> always;
};

const std::map<std::string, TorchModule>& torchModules()
{
    using L = TorchModule::Leading;
    static const std::map<std::string, TorchModule> table{
        {"linear", {"Linear", L::Features, {"out_features"}, {}}},
        {"conv2d", {"Conv2d", L::Channels, {"out_channels"}, {"kernel_size"}}},
        {"batchnorm1d", {"BatchNorm1d", L::Channels, {}, {}}},
        {"batchnorm2d", {"BatchNorm2d", L::Channels, {}, {}}},
        {"layernorm", {"LayerNorm", L::WholeShape, {}, {}}},
        {"dropout", {"Dropout", L::None, {}, {"p"}}},
        {"relu", {"ReLU", L::None, {}, {}}},
        {"leaky_relu", {"LeakyReLU", L::None, {}, {"negative_slope"}}},
        {"gelu", {"GELU", L::None, {}, {}}},
        {"tanh", {"Tanh", L::None, {}, {}}},
        {"sigmoid", {"Sigmoid", L::None, {}, {}}},
        {"maxpool2d", {"MaxPool2d", L::None, {}, {"kernel_size"}}},   // stride 0 = torch's None: left out
        {"avgpool2d", {"AvgPool2d", L::None, {}, {"kernel_size"}}},
        {"adaptive_avgpool2d", {"AdaptiveAvgPool2d", L::None, {"output_size"}, {}}},
        {"flatten", {"Flatten", L::None, {}, {}}},
    };
    return table;
}

std::string optionValue(const OptionInfo& option, double value)
{
    switch (option.kind) {
    case OptionInfo::Kind::Int: return std::to_string(static_cast<int64_t>(value));
    case OptionInfo::Kind::Float: return pyFloat(value);
    case OptionInfo::Kind::Bool: return value != 0.0 ? "True" : "False";
    }
    return "None";
}

class Generator {
public:
    explicit Generator(const ModelInfo& info)
    {
        for (const LayerInfo& row : info.layers)
            m_rows[row.type == "shortcut" ? row.name : row.name + "@"] = &row;
    }

    // The expression of an nn.Sequential of `specs`, starting on a line indented by `indent`.
    std::string sequential(const std::vector<LayerSpec>& specs, const std::string& prefix, int indent)
    {
        if (allPlain(specs))
            return "nn.Sequential(OrderedDict([\n" + entries(specs, prefix, indent + 4) + pad(indent) + "]))";
        usesNamedLayers = true;
        return "named_layers(nn.Sequential(), [\n" + entries(specs, prefix, indent + 4) + pad(indent) + "])";
    }

    // One `("name", module),` line (or block) per layer.
    std::string entries(const std::vector<LayerSpec>& specs, const std::string& prefix, int indent)
    {
        std::string out;
        for (size_t i = 0; i < specs.size(); ++i) {
            const std::string name = specs[i].name.empty() ? std::to_string(i) : specs[i].name;
            out += pad(indent) + "(" + pyString(name, "layer name \"" + prefix + name + "\"") + ", "
                   + module(specs[i], prefix + name, indent) + "),\n";
        }
        return out;
    }

    static bool allPlain(const std::vector<LayerSpec>& specs)
    {
        for (size_t i = 0; i < specs.size(); ++i)
            if (!specs[i].name.empty() && !plainModuleName(specs[i].name))
                return false;
        return true;
    }

    // What the module needs besides Model: the Residual class, the named_layers helper.
    bool usesResidual = false;
    bool usesNamedLayers = false;

private:
    const LayerInfo& row(const std::string& key, const std::string& fullName) const
    {
        const auto it = m_rows.find(key);
        if (it == m_rows.end() || it->second->inputShape.empty())
            throw std::runtime_error("layer " + fullName + ": its shapes are unknown");
        return *it->second;
    }

    std::string module(const LayerSpec& s, const std::string& fullName, int indent)
    {
        if (s.type == "residual")
            return residual(s, fullName, indent);
        const auto found = torchModules().find(s.type);
        const LayerTypeInfo* info = findLayerType(s.type);
        if (found == torchModules().end() || !info)
            throw std::runtime_error("layer " + fullName + " (" + s.type + "): the PyTorch export cannot express it");
        const TorchModule& torch = found->second;
        const Shape& in = row(fullName + "@", fullName).inputShape;
        std::vector<std::string> args;
        switch (torch.leading) {
        case TorchModule::Leading::None: break;
        case TorchModule::Leading::Features:
        case TorchModule::Leading::Channels: args.push_back(std::to_string(in[0])); break;
        case TorchModule::Leading::WholeShape: args.push_back(shapeList(in, false)); break;
        }
        for (const auto& key : torch.positional)
            args.push_back(optionValue(*findOption(*info, key), s.option(key)));
        for (const OptionInfo& option : info->options) {
            const bool positional = std::find(torch.positional.begin(), torch.positional.end(), option.key)
                                    != torch.positional.end();
            const bool always = std::find(torch.always.begin(), torch.always.end(), option.key) != torch.always.end();
            const double value = s.option(option.key);
            if (!positional && (always || option.required || value != option.defaultValue))
                args.push_back(option.key + "=" + optionValue(option, value));
        }
        return std::string("nn.") + torch.className + "(" + join(args) + ")";
    }

    // Residual(body=..., shortcut=...) laid out over lines, the projection as builder.cpp
    // makes it: nn.Linear for flat shapes, else a 1x1 convolution whose stride maps the grid.
    std::string residual(const LayerSpec& s, const std::string& fullName, int indent)
    {
        usesResidual = true;
        std::string out = "Residual(\n" + pad(indent + 4) + "body=" + sequential(s.layers, fullName + ".body.", indent + 4)
                          + ",\n";
        const auto it = m_rows.find(fullName + ".shortcut");
        if (it != m_rows.end()) {
            const Shape& in = it->second->inputShape;
            const Shape& outShape = it->second->outputShape;
            std::string projection;
            if (in.size() == 1) {
                projection = "nn.Linear(" + std::to_string(in[0]) + ", " + std::to_string(outShape[0]) + ")";
            } else {
                const int64_t stride = (in[1] + outShape[1] - 1) / outShape[1];
                projection = "nn.Conv2d(" + std::to_string(in[0]) + ", " + std::to_string(outShape[0]) + ", kernel_size=1"
                             + (stride != 1 ? ", stride=" + std::to_string(stride) : "") + ")";
            }
            out += pad(indent + 4) + "shortcut=" + projection + ",\n";
        }
        return out + pad(indent) + ")";
    }

    std::map<std::string, const LayerInfo*> m_rows;   // layer rows by name + "@", shortcuts by name
};

// One line or several of `values` as a Python list, wrapped under `indent`.
std::string floatList(const std::vector<float>& values, int indent)
{
    std::string out = "[", line;
    for (size_t i = 0; i < values.size(); ++i) {
        const std::string item = pyFloat32(values[i]) + (i + 1 < values.size() ? ", " : "");
        if (line.size() + item.size() > 72) {
            out += line + "\n" + pad(indent);
            line.clear();
        }
        line += item;
    }
    return out + line + "]";
}

std::string normalizationBuffers(const ModelInterface& m)
{
    if (m.inputShift.empty())
        return "";
    std::string view = "(1, -1)";
    if (m.images)
        view = "(1, -1, 1, 1)";
    else if (m.sampleShape.size() > 1)
        view = "(1, " + join([&] {
                   std::vector<std::string> d;
                   for (int64_t v : m.sampleShape)
                       d.push_back(std::to_string(v));
                   return d;
               }()) + ")";
    std::string out = "        # The training data's normalization, so that raw inputs go in: x' = (x - shift) / scale\n"
                      "        # per " + std::string(m.images ? "channel" : "feature")
                      + ". Not part of the weights file (persistent=False).\n";
    for (const auto& [name, values] : {std::pair<const char*, const std::vector<float>*>{"input_shift", &m.inputShift},
                                       {"input_scale", &m.inputScale}}) {
        const std::string head = "        self.register_buffer(\"" + std::string(name) + "\", torch.tensor(";
        out += head + floatList(*values, int(head.size()) + 1) + ", dtype=torch.float32).reshape" + view
               + ", persistent=False)\n";
    }
    return out;
}

std::string moduleText(const TrainedWeights& w, const std::string& path, const std::string& weightsPath)
{
    Problems problems;
    const ModelInfo info = inspectModel(w.spec.model, problems);
    if (!problems.empty())
        throw std::runtime_error(path + ": the model does not validate: " + problems.front().text());
    if (!info.ok || !info.shapesKnown)
        throw std::runtime_error(path + ": the model's shapes are not known (an experiment not completed from its data)");
    const ModelInterface& m = w.interface;
    Generator gen(info);
    const bool plainTop = Generator::allPlain(w.spec.model.layers);
    const std::string layers = plainTop ? "        super().__init__(OrderedDict([\n"
                                              + gen.entries(w.spec.model.layers, "", 12) + "        ]))\n"
                                        : "        named_layers(self, [\n" + gen.entries(w.spec.model.layers, "", 12)
                                              + "        ])\n";
    const std::string buffers = normalizationBuffers(m);
    const bool namedLayers = !plainTop || gen.usesNamedLayers;

    namespace fs = std::filesystem;
    const fs::path modulePath(path), weightsFile(weightsPath);
    const bool beside = fs::absolute(weightsFile).parent_path() == fs::absolute(modulePath).parent_path();
    const std::string weightsName = beside ? weightsFile.filename().string() : fs::absolute(weightsFile).string();
    const std::string stem = modulePath.stem().string();
    const std::string experiment = commentText(w.spec.name);
    const std::string run = commentText(w.runId.empty() ? "unknown" : w.runId);

    std::string classNames;
    for (const auto& name : m.classNames)
        classNames += (classNames.empty() ? "" : ", ") + pyString(name, "class name \"" + name + "\"");

    std::string t;
    t += "# " + experiment + ": a network trained with nnlab (run " + run + "), as PyTorch code.\n"
         "#\n"
         "# Generated by `nnlab export --format pytorch`. Model rebuilds the network from torch.nn modules\n"
         "# under nnlab's layer names (the state-dict keys); load() reads its trained weights from\n"
         "# WEIGHTS_FILE (safetensors); predict() takes raw inputs, in the units of the training data,\n"
         "# and normalizes them inside, as nnlab did in training.\n"
         "#\n";
    std::string importName = stem;   // "fashion-cnn" can be imported once renamed "fashion_cnn"
    for (char& c : importName)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            c = '_';
    if (isIdentifier(stem))
        t += "#     from " + stem + " import load, predict\n";
    else if (isIdentifier(importName))
        t += "#     from " + importName + " import load, predict   # with this file renamed " + importName + ".py\n";
    else
        t += "#     (import this file under a name that is a Python identifier, or with importlib)\n";
    t += "#     model = load()                      # evaluation mode; load(device=\"cuda\") for a GPU\n"
         "#     " + std::string(m.classification() ? "probabilities" : "outputs      ") +
         " = predict(inputs)     # inputs: N x " + join([&] {
             std::vector<std::string> d;
             for (int64_t v : m.sampleShape)
                 d.push_back(std::to_string(v));
             return d;
         }(), " x ") + " raw values\n"
         "#     logits = model(torch.as_tensor(inputs, dtype=torch.float32))\n"
         "#\n"
         "#     python3 " + commentText(modulePath.filename().string()) + " [INPUTS.npy]   # prints the model, and predictions for a .npy file\n"
         "#\n"
         "# Needs PyTorch (Debian: python3-torch; python3-numpy for .npy files). The safetensors\n"
         "# package is used when installed, else the small reader below.\n"
         "\n"
         "import json\n"
         "import math\n"
         "import os\n"
         "import struct\n"
         "import sys\n"
         "from collections import OrderedDict\n"
         "\n"
         "import torch\n"
         "from torch import nn\n"
         "\n"
         "RUN_ID = " + pyString(w.runId, "run id") + "\n"
         "EXPERIMENT = " + pyString(w.spec.name, "experiment name") + "\n"
         "INPUT_SHAPE = " + shapeList(m.sampleShape, true) + "   # one sample, without the batch dimension\n"
         "CLASS_NAMES = [" + classNames + "]" + (m.classification() ? "" : "   # regression: no classes") + "\n"
         "WEIGHTS_FILE = " + pyString(weightsName, "weights path") + "\n"
         "\n";
    if (gen.usesResidual)
        t += std::string(kResidualClass) + "\n";
    if (namedLayers)
        t += std::string(kNamedLayersHelper) + "\n";
    t += std::string("\nclass Model(nn.Sequential):\n"
                     "    \"\"\"The network of EXPERIMENT as trained by nnlab: raw inputs of INPUT_SHAPE in,\n"
                     "    ")
         + (m.classification() ? "one logit per class of CLASS_NAMES" : "the regression outputs") + " out.\"\"\"\n"
         "\n"
         "    def __init__(self):\n";
    if (plainTop)
        t += layers + buffers;
    else   // the buffers first: named_layers may hold a layer named like one of them
        t += "        super().__init__()\n" + buffers + layers;
    t += "\n    def forward(self, x):\n";
    if (!buffers.empty())
        t += "        x = (x - self.input_shift) / self.input_scale\n";
    t += "        return super().forward(x)\n\n";
    t += kRuntime;
    return t;
}

} // namespace

void exportPytorch(const TrainedWeights& weights, const std::string& path, const std::string& weightsPath)
{
    const std::string text = moduleText(weights, path, weightsPath);   // first: a model it cannot express writes nothing
    exportSafetensors(weights, weightsPath);
    writeFileAtomically(path, text);
}

} // namespace nnlab
