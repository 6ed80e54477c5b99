// ONNX export (opset 17) through Debian's libonnx protobufs: raw input -> Sub/Div with the
// training normalization -> the network, layer by layer, from the completed spec and the
// state-dict tensors -> "logits" (and "probabilities" for classification). The graph uses
// only operators that ONNX Runtime and OpenCV 4.6's DNN importer both run, which is why
// layernorm is spelled out with MatMul (OpenCV 4.6 has no LayerNormalization and cannot
// broadcast a per-sample statistic) and GELU with Erf (Gelu is opset 20).
#include "nnlab/atomic_file.h"
#include "nnlab/model_export.h"

#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"
#include "onnx_graph.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

namespace nnlab {

namespace {

constexpr int64_t kOpset = 17;
constexpr int64_t kIrVersion = 8;                      // the IR version of opset 17 (ONNX 1.12)
constexpr int64_t kMaxPoolingMatrix = 16 * 1024 * 1024; // adaptive pooling as a matrix: at most 64 MB

int64_t product(const Shape& s)
{
    int64_t n = 1;
    for (int64_t d : s)
        n *= d;
    return n;
}

// Pooling's stride 0 means "the kernel size", as in torch.nn.
int64_t poolStride(const LayerSpec& s)
{
    return s.intOption("stride") > 0 ? s.intOption("stride") : s.intOption("kernel_size");
}

class Emitter {
public:
    Emitter(onnxw::GraphWriter& g, const TrainedWeights& weights, const ModelInfo& info) : m_g(g)
    {
        for (const auto& t : weights.tensors)
            m_tensors[t.name] = &t;
        for (const auto& row : info.layers)
            m_rows[row.type == "shortcut" ? row.path + "#shortcut" : row.path] = &row;
    }

    std::string layers(const std::vector<LayerSpec>& specs, std::string x, const std::string& path,
                       const std::string& prefix)
    {
        for (size_t i = 0; i < specs.size(); ++i) {
            const std::string name = prefix + (specs[i].name.empty() ? std::to_string(i) : specs[i].name);
            x = layer(specs[i], x, path + "[" + std::to_string(i) + "]", name);
        }
        return x;
    }

private:
    const LayerInfo& row(const std::string& key)
    {
        const auto it = m_rows.find(key);
        if (it == m_rows.end() || it->second->outputShape.empty())
            throw std::runtime_error(key + ": no inferred shape; the experiment is not complete");
        return *it->second;
    }

    // The state-dict tensor `name`, checked against the `shape` the layer at `path` needs.
    const NamedTensor& tensor(const std::string& name, const Shape& shape, const std::string& path) const
    {
        const auto it = m_tensors.find(name);
        if (it == m_tensors.end())
            throw std::runtime_error(path + ": the weights have no tensor \"" + name + "\"");
        if (it->second->shape != shape)
            throw std::runtime_error(path + ": tensor \"" + name + "\" is " + shapeText(it->second->shape)
                                     + ", the layer needs " + shapeText(shape));
        return *it->second;
    }
    // As an initializer under its state-dict name.
    std::string weight(const std::string& name, const Shape& shape, const std::string& path)
    {
        return m_g.floats(name, shape, tensor(name, shape, path).values);
    }
    // The same values under a flat shape (the layernorm arithmetic works on [N, F]).
    std::string flatWeight(const std::string& name, const Shape& shape, const std::string& path)
    {
        return m_g.floats(name, {product(shape)}, tensor(name, shape, path).values);
    }

    std::string layer(const LayerSpec& s, const std::string& x, const std::string& path, const std::string& name)
    {
        const std::string& t = s.type;
        if (t == "residual")
            return residual(s, x, path, name);
        const LayerInfo& r = row(path);
        const Shape& in = r.inputShape;
        const Shape& out = r.outputShape;
        if (t == "linear")
            return gemm(x, name, in[0], out[0], s.flag("bias"), path);
        if (t == "conv2d") {
            const int64_t k = s.intOption("kernel_size"), p = s.intOption("padding"), d = s.intOption("dilation");
            return conv(x, name, {out[0], in[0] / s.intOption("groups"), k, k}, s.intOption("stride"), {p, p, p, p},
                        d, s.intOption("groups"), s.flag("bias"), path);
        }
        if (t == "batchnorm1d" || t == "batchnorm2d")
            return batchNorm(s, x, name, in[0], path);
        if (t == "layernorm")
            return layerNorm(s, x, name, in, path);
        if (t == "dropout")
            return x;   // identity at inference
        if (t == "relu")
            return m_g.node("Relu", {x}, name);
        if (t == "leaky_relu") {
            const std::string y = m_g.node("LeakyRelu", {x}, name);
            m_g.attr("alpha", float(s.option("negative_slope")));
            return y;
        }
        if (t == "gelu")   // torch's exact GELU: x * 0.5 * (1 + erf(x / sqrt(2)))
            return gelu(x, name);
        if (t == "tanh")
            return m_g.node("Tanh", {x}, name);
        if (t == "sigmoid")
            return m_g.node("Sigmoid", {x}, name);
        if (t == "maxpool2d" || t == "avgpool2d")
            return pool(s, x, name);
        if (t == "adaptive_avgpool2d")
            return adaptivePool(x, name, in, s.intOption("output_size"), path);
        if (t == "flatten") {
            const std::string y = m_g.node("Flatten", {x}, name);
            m_g.attr("axis", int64_t(1));
            return y;
        }
        throw std::runtime_error(path + " (" + t + "): the ONNX export has no form for this layer type");
    }

    // torch's avgpool2d counts the zero padding in each window's mean (count_include_pad).
    // It is written as an explicit Pad, because OpenCV 4.6 ignores AveragePool's
    // count_include_pad and divides by the unpadded count at the borders.
    std::string pool(const LayerSpec& s, const std::string& x, const std::string& name)
    {
        const int64_t k = s.intOption("kernel_size"), p = s.intOption("padding"), st = poolStride(s);
        const bool average = s.type == "avgpool2d";
        std::string in = x;
        if (average && p > 0)
            in = m_g.node("Pad", {x, m_g.int64s(name + ".pads", {0, 0, p, p, 0, 0, p, p})}, name + "/padded");
        const std::string y = m_g.node(average ? "AveragePool" : "MaxPool", {in}, name);
        m_g.attr("kernel_shape", std::vector<int64_t>{k, k});
        m_g.attr("strides", std::vector<int64_t>{st, st});
        if (!average)
            m_g.attr("pads", std::vector<int64_t>{p, p, p, p});   // max ignores padding, as in torch
        return y;
    }

    std::string gemm(const std::string& x, const std::string& name, int64_t in, int64_t out, bool bias,
                     const std::string& path)
    {
        std::vector<std::string> inputs{x, weight(name + ".weight", {out, in}, path)};
        if (bias)
            inputs.push_back(weight(name + ".bias", {out}, path));
        const std::string y = m_g.node("Gemm", inputs, name);
        m_g.attr("transB", int64_t(1));
        return y;
    }

    std::string conv(const std::string& x, const std::string& name, const Shape& w, int64_t stride,
                     const std::vector<int64_t>& pads, int64_t dilation, int64_t groups, bool bias,
                     const std::string& path)
    {
        std::vector<std::string> inputs{x, weight(name + ".weight", w, path)};
        if (bias)
            inputs.push_back(weight(name + ".bias", {w[0]}, path));
        const std::string y = m_g.node("Conv", inputs, name);
        m_g.attr("kernel_shape", std::vector<int64_t>{w[2], w[3]});
        m_g.attr("strides", std::vector<int64_t>{stride, stride});
        m_g.attr("pads", pads);
        m_g.attr("dilations", std::vector<int64_t>{dilation, dilation});
        m_g.attr("group", groups);
        return y;
    }

    // Inference BatchNorm with the running statistics; num_batches_tracked is training-only.
    std::string batchNorm(const LayerSpec& s, const std::string& x, const std::string& name, int64_t channels,
                          const std::string& path)
    {
        const std::string scale = s.flag("affine") ? weight(name + ".weight", {channels}, path)
                                                   : m_g.floats(name + ".ones", {channels}, std::vector<float>(size_t(channels), 1.0f));
        const std::string shift = s.flag("affine") ? weight(name + ".bias", {channels}, path)
                                                   : m_g.floats(name + ".zeros", {channels}, std::vector<float>(size_t(channels), 0.0f));
        const std::string y = m_g.node("BatchNormalization",
                                       {x, scale, shift, weight(name + ".running_mean", {channels}, path),
                                        weight(name + ".running_var", {channels}, path)},
                                       name);
        m_g.attr("epsilon", float(s.option("eps")));
        return y;
    }

    // Over all of a sample's F values: mean and biased variance as MatMuls with a [F, 1]
    // column of 1/F, spread back over the F values by a [1, F] row of ones.
    std::string layerNorm(const LayerSpec& s, const std::string& x, const std::string& name, const Shape& in,
                          const std::string& path)
    {
        const int64_t f = product(in);
        const std::string mean = m_g.floats(name + ".mean_column", {f, 1}, std::vector<float>(size_t(f), 1.0f / float(f)));
        const std::string spread = m_g.floats(name + ".spread_row", {1, f}, std::vector<float>(size_t(f), 1.0f));
        std::string flat = x;
        if (in.size() > 1) {
            flat = m_g.node("Flatten", {x}, name + "/flat");
            m_g.attr("axis", int64_t(1));
        }
        const std::string mu = m_g.node("MatMul", {m_g.node("MatMul", {flat, mean}, name + "/mean"), spread}, name + "/mean_spread");
        const std::string centered = m_g.node("Sub", {flat, mu}, name + "/centered");
        const std::string variance = m_g.node("MatMul", {m_g.node("Mul", {centered, centered}, name + "/squared"), mean}, name + "/variance");
        const std::string sd = m_g.node("Sqrt", {m_g.node("Add", {variance, m_g.scalar(name + ".eps", float(s.option("eps")))}, name + "/variance_eps")}, name + "/sd");
        const std::string inverse = m_g.node("MatMul", {m_g.node("Reciprocal", {sd}, name + "/inverse_sd"), spread}, name + "/inverse_spread");
        std::string y = m_g.node("Mul", {centered, inverse}, name + "/normalized");
        if (s.flag("elementwise_affine")) {
            y = m_g.node("Mul", {y, flatWeight(name + ".weight", in, path)}, name + "/scaled");
            y = m_g.node("Add", {y, flatWeight(name + ".bias", in, path)}, name + "/shifted");
        }
        if (in.size() == 1)
            return y;
        Shape back{-1};
        back.insert(back.end(), in.begin(), in.end());
        return m_g.node("Reshape", {y, m_g.int64s(name + ".shape", back)}, name);
    }

    std::string gelu(const std::string& x, const std::string& name)
    {
        const std::string e = m_g.node("Erf", {m_g.node("Div", {x, m_g.scalar(name + ".sqrt2", float(std::sqrt(2.0)))}, name + "/scaled")}, name + "/erf");
        const std::string p = m_g.node("Add", {e, m_g.scalar(name + ".one", 1.0f)}, name + "/erf_plus_one");
        return m_g.node("Mul", {m_g.node("Mul", {x, p}, name + "/times_x"), m_g.scalar(name + ".half", 0.5f)}, name);
    }

    // Even windows become GlobalAveragePool or AveragePool. Uneven ones (torch's windows
    // [floor(i*H/o), ceil((i+1)*H/o)) overlap and differ in size) are exact as a product with
    // a [H*W, o*o] matrix of 1/window-size weights, the mean being linear.
    std::string adaptivePool(const std::string& x, const std::string& name, const Shape& in, int64_t o,
                             const std::string& path)
    {
        const int64_t c = in[0], h = in[1], w = in[2];
        if (o == 1)
            return m_g.node("GlobalAveragePool", {x}, name);
        if (h % o == 0 && w % o == 0) {
            const std::string y = m_g.node("AveragePool", {x}, name);
            m_g.attr("kernel_shape", std::vector<int64_t>{h / o, w / o});
            m_g.attr("strides", std::vector<int64_t>{h / o, w / o});
            return y;
        }
        if (h * w * o * o > kMaxPoolingMatrix)
            throw std::runtime_error(path + " (adaptive_avgpool2d): output_size " + std::to_string(o) + " from "
                                     + shapeText(in) + " has uneven windows, and their " + std::to_string(h * w)
                                     + " x " + std::to_string(o * o)
                                     + " averaging matrix is too large for ONNX; choose an output_size that divides "
                                       "the input or is 1");
        std::vector<float> matrix(size_t(h * w * o * o), 0.0f);
        for (int64_t i = 0; i < o; ++i)
            for (int64_t j = 0; j < o; ++j) {
                const int64_t h0 = i * h / o, h1 = ((i + 1) * h + o - 1) / o;
                const int64_t w0 = j * w / o, w1 = ((j + 1) * w + o - 1) / o;
                const float share = 1.0f / float((h1 - h0) * (w1 - w0));
                for (int64_t a = h0; a < h1; ++a)
                    for (int64_t b = w0; b < w1; ++b)
                        matrix[size_t((a * w + b) * o * o + i * o + j)] = share;
            }
        const std::string grid = m_g.node("Reshape", {x, m_g.int64s(name + ".grid_shape", {0, c, h * w})}, name + "/grid");
        const std::string pooled = m_g.node("MatMul", {grid, m_g.floats(name + ".windows", {h * w, o * o}, matrix)}, name + "/pooled");
        return m_g.node("Reshape", {pooled, m_g.int64s(name + ".shape", {0, c, o, o})}, name);
    }

    // body(x) + x, or + the learned projection builder.cpp makes when shapes differ: a linear
    // map with bias for flat shapes, else a 1x1 conv with bias and stride ceil(H_in / H_out).
    std::string residual(const LayerSpec& s, const std::string& x, const std::string& path, const std::string& name)
    {
        const std::string body = layers(s.layers, x, path + ".layers", name + ".body.");
        std::string skip = x;
        if (m_rows.count(path + "#shortcut")) {
            const LayerInfo& sc = row(path + "#shortcut");
            const Shape& in = sc.inputShape;
            const Shape& out = sc.outputShape;
            const std::string projection = name + ".shortcut";
            skip = in.size() == 1 ? gemm(x, projection, in[0], out[0], true, path)
                                  : conv(x, projection, {out[0], in[0], 1, 1}, (in[1] + out[1] - 1) / out[1],
                                         {0, 0, 0, 0}, 1, 1, true, path);
        }
        return m_g.node("Add", {body, skip}, name);
    }

    onnxw::GraphWriter& m_g;
    std::map<std::string, const NamedTensor*> m_tensors;
    std::map<std::string, const LayerInfo*> m_rows;   // by JSON path; a projection under "PATH#shortcut"
};

// x' = (x - shift) / scale per channel ([C, 1, 1]) or per feature ([F]).
std::string normalization(onnxw::GraphWriter& g, const ModelInterface& m, const std::string& x)
{
    if (m.inputShift.empty())
        return x;
    const int64_t units = m.units();
    if (int64_t(m.inputShift.size()) != units || int64_t(m.inputScale.size()) != units)
        throw std::runtime_error("interface: inputShift and inputScale need " + std::to_string(units)
                                 + " values (one per " + (m.images ? "channel" : "feature") + "), got "
                                 + std::to_string(m.inputShift.size()) + " and " + std::to_string(m.inputScale.size()));
    const Shape shape = m.images ? Shape{units, 1, 1} : m.sampleShape;
    const std::string shifted = g.node("Sub", {x, g.floats("input.shift", shape, m.inputShift)}, "input_shifted");
    return g.node("Div", {shifted, g.floats("input.scale", shape, m.inputScale)}, "input_normalized");
}

void metadata(onnx::ModelProto& model, const std::string& key, const std::string& value)
{
    onnx::StringStringEntryProto* entry = model.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
}

onnx::ModelProto buildModel(const TrainedWeights& weights)
{
    const ModelInterface& m = weights.interface;
    Problems problems;
    const ModelInfo info = inspectModel(weights.spec.model, problems);
    if (!problems.empty())
        throw std::runtime_error(problems.front().path + ": " + problems.front().message);
    if (!info.shapesKnown || info.outputShape.size() != 1)
        throw std::runtime_error("model: the export needs a completed model with a flat output, got "
                                 + shapeText(info.outputShape));
    if (weights.spec.model.input != m.sampleShape)
        throw std::runtime_error("model.input " + shapeText(weights.spec.model.input)
                                 + " differs from the interface's sample shape " + shapeText(m.sampleShape));

    onnx::ModelProto model;
    model.set_ir_version(kIrVersion);
    model.set_producer_name("nnlab");
    model.set_producer_version(NNLAB_VERSION);
    model.set_doc_string("nnlab run " + weights.runId + " (" + weights.runName
                         + "): raw inputs in, normalization inside; logits"
                         + (m.classification() ? " and softmax probabilities" : "") + " out");
    onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);

    onnx::GraphProto& graph = *model.mutable_graph();
    graph.set_name(weights.spec.name.empty() ? "nnlab" : weights.spec.name);
    onnxw::GraphWriter g(graph);
    for (const char* name : {"input", "logits", "probabilities"})
        g.reserve(name);
    onnxw::setBatchedFloat(*graph.add_input(), "input", m.sampleShape);

    Emitter emitter(g, weights, info);
    std::string x = normalization(g, m, "input");
    x = emitter.layers(weights.spec.model.layers, x, "model.layers", "");
    if (!g.renameOutput(x, "logits"))
        g.node("Identity", {x}, "logits", true);
    onnxw::setBatchedFloat(*graph.add_output(), "logits", info.outputShape);
    if (m.classification()) {
        g.node("Softmax", {"logits"}, "probabilities", true);
        g.attr("axis", int64_t(1));
        onnxw::setBatchedFloat(*graph.add_output(), "probabilities", info.outputShape);
    }

    metadata(model, "nnlab.run_id", weights.runId);
    metadata(model, "nnlab.run_name", weights.runName);
    metadata(model, "nnlab.interface", interfaceToJson(m));
    metadata(model, "nnlab.experiment", experimentToJson(weights.spec));
    metadata(model, "class_names", nlohmann::json(m.classNames).dump());
    return model;
}

} // namespace

void exportOnnx(const TrainedWeights& weights, const std::string& path)
{
    onnx::ModelProto model = buildModel(weights);
    // ONNX 1.12's checker does not ask whether each graph output is computed; runtimes do.
    for (const auto& output : model.graph().output()) {
        bool produced = false;
        for (const auto& node : model.graph().node())
            produced = produced || std::find(node.output().begin(), node.output().end(), output.name()) != node.output().end();
        if (!produced)
            throw std::logic_error(path + ": ONNX export: no node computes the output " + output.name());
    }
    try {
        onnx::checker::check_model(model);
        // What onnx.checker's full_check adds: strict type and shape inference, which also
        // confirms the declared [N, outputs] against what the operators produce.
        onnx::ModelProto inferred = model;
        onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                           onnx::ShapeInferenceOptions(true, 1, true));
    } catch (const std::exception& e) {
        throw std::runtime_error(path + ": the ONNX graph does not check: " + e.what());
    }
    // Protobuf refuses messages over 2 GB; ONNX's external-data form is not written here.
    if (model.ByteSizeLong() > size_t(2000) * 1000 * 1000)
        throw std::runtime_error(path + ": the model is over 2 GB, the limit of a single ONNX file");
    std::string bytes;
    if (!model.SerializeToString(&bytes))
        throw std::runtime_error(path + ": cannot serialize the ONNX model");
    writeFileAtomically(path, bytes);
}

} // namespace nnlab
