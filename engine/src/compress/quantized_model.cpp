// QuantizedModel: built from a spec and float weights (BatchNorm folded, ReLU fused), and its
// forward pass, which keeps a tensor in int8 from the first int8 layer until a float layer needs it.
#include "quantize_impl.h"

#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace nnlab::detail {

// --- engines ---------------------------------------------------------------------------------

at::QEngine toAtEngine(QuantEngine engine)
{
    switch (engine) {
    case QuantEngine::OneDnn: return at::QEngine::ONEDNN;
    case QuantEngine::Qnnpack: return at::QEngine::QNNPACK;
    case QuantEngine::Fbgemm: return at::QEngine::FBGEMM;
    case QuantEngine::Auto: break;
    }
    return at::QEngine::NoQEngine;
}

const char* quantEngineName(QuantEngine engine)
{
    switch (engine) {
    case QuantEngine::OneDnn: return "onednn";
    case QuantEngine::Qnnpack: return "qnnpack";
    case QuantEngine::Fbgemm: return "fbgemm";
    case QuantEngine::Auto: break;
    }
    return "auto";
}

std::vector<QuantEngine> supportedQuantEngines()
{
    const auto& have = at::globalContext().supportedQEngines();
    std::vector<QuantEngine> out;
    // onednn first: on AVX-512 / VNNI Xeons it is the engine PyTorch itself defaults to.
    for (QuantEngine e : {QuantEngine::OneDnn, QuantEngine::Fbgemm, QuantEngine::Qnnpack})
        if (std::find(have.begin(), have.end(), toAtEngine(e)) != have.end())
            out.push_back(e);
    return out;
}

QuantEngine resolveQuantEngine(QuantEngine requested)
{
    const std::vector<QuantEngine> have = supportedQuantEngines();
    if (have.empty())
        throw std::runtime_error("this LibTorch build has no quantized CPU engine");
    if (requested == QuantEngine::Auto)
        return have.front();
    if (std::find(have.begin(), have.end(), requested) == have.end()) {
        std::string list;
        for (QuantEngine e : have)
            list += std::string(list.empty() ? "" : ", ") + quantEngineName(e);
        throw std::runtime_error(std::string("quantized engine ") + quantEngineName(requested)
                                 + " is not in this LibTorch build; it has " + list);
    }
    return requested;
}

// --- ranges ------------------------------------------------------------------------------------

void QParams::observe(const torch::Tensor& x)
{
    const auto [lo, hi] = at::aminmax(x);
    observedMin = std::min(observedMin, lo.item<float>());
    observedMax = std::max(observedMax, hi.item<float>());
}

double shortScale(double scale)
{
    // Rounded up to 6 significant digits: as good a scale, and it prints short in the file's
    // metadata (0.0234897, not 0.023489700257778168).
    if (!(scale > 0) || !std::isfinite(scale))
        return scale;
    const int digits = 5 - int(std::floor(std::log10(scale)));
    if (digits < 0 || digits > 22)
        return scale;
    const double m = std::pow(10.0, digits);
    return std::ceil(scale * m) / m;
}

void QParams::fix()
{
    // quint8 over [min, max] widened to hold 0 exactly (ReLU outputs, zero padding).
    const double lo = std::min(0.0, observed() ? double(observedMin) : 0.0);
    const double hi = std::max(0.0, observed() ? double(observedMax) : 1.0);
    scale = shortScale(std::max((hi - lo) / 255.0, 1e-8));
    zeroPoint = std::clamp<int64_t>(int64_t(std::nearbyint(-lo / scale)), 0, 255);
}

// --- quantized operators --------------------------------------------------------------------

namespace {

ConvPacked prepackConv(const torch::Tensor& qweight, const torch::Tensor& bias, const QStep& s)
{
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::conv2d_prepack", "")
                         .typed<ConvPacked(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                                           torch::List<int64_t>, torch::List<int64_t>, int64_t)>();
    return op.call(qweight, bias, torch::List<int64_t>(s.stride), torch::List<int64_t>(s.padding),
                   torch::List<int64_t>(s.dilation), s.groups);
}

LinearPacked prepackLinear(const torch::Tensor& qweight, const torch::Tensor& bias)
{
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::linear_prepack", "")
                         .typed<LinearPacked(at::Tensor, c10::optional<at::Tensor>)>();
    return op.call(qweight, bias);
}

torch::Tensor quantizedAdd(const torch::Tensor& a, const torch::Tensor& b, double scale, int64_t zeroPoint)
{
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::add", "")
                         .typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>();
    return op.call(a, b, scale, zeroPoint);
}

torch::Tensor toFloat(const torch::Tensor& x)
{
    return x.is_quantized() ? x.dequantize() : x;
}

} // namespace

void setStepInt8(QStep& step, bool int8, bool dynamic, bool perChannel, QuantEngine engine)
{
    step.int8 = int8;
    step.dynamic = int8 && dynamic;
    step.perChannel = int8 && perChannel;
    step.convPacked.reset();
    step.linearPacked.reset();
    if (!int8) {
        step.qweight = torch::Tensor();
        step.dqweight = torch::Tensor();
        step.int8FromBatch = 1;
        refreshFloatPath(step);
        return;
    }
    at::globalContext().setQEngine(toAtEngine(engine));
    const torch::Tensor w = step.weight.contiguous();
    // Symmetric weights (zero point 0): what onednn requires and what torch.ao uses.
    if (perChannel) {
        const torch::Tensor amax = w.abs().reshape({w.size(0), -1}).amax(1).to(torch::kDouble);
        const torch::Tensor scales = (amax / 127.0).clamp_min(1e-8);
        step.qweight = at::quantize_per_channel(w, scales, torch::zeros({w.size(0)}, torch::kLong), 0, torch::kQInt8);
    } else {
        const double amax = w.abs().max().item<double>();
        step.qweight = at::quantize_per_tensor(w, shortScale(std::max(amax / 127.0, 1e-8)), 0, torch::kQInt8);
    }
    packStep(step, engine);
}

void refreshFloatPath(QStep& step)
{
    if (step.convPool) {
        step.convPool->weight = step.int8 ? step.dqweight : step.weight;
        step.convPool->bias = step.bias;
    }
}

void packStep(QStep& step, QuantEngine engine)
{
    at::globalContext().setQEngine(toAtEngine(engine));
    step.dqweight = step.qweight.dequantize();
    if (step.kind == QStep::Kind::Conv)
        step.convPacked = prepackConv(step.qweight, step.bias, step);
    else
        step.linearPacked = prepackLinear(step.qweight, step.bias);
    refreshFloatPath(step);
}

namespace {

template <typename Steps, typename Out>
void collectQuantizable(Steps& steps, std::vector<Out>& out)
{
    for (auto& s : steps) {
        if (s.quantizable())
            out.push_back(&s);
        collectQuantizable(s.body, out);
        collectQuantizable(s.shortcut, out);
    }
}

} // namespace

std::vector<QStep*> quantizableSteps(std::vector<QStep>& steps)
{
    std::vector<QStep*> out;
    collectQuantizable(steps, out);
    return out;
}

std::vector<const QStep*> quantizableSteps(const std::vector<QStep>& steps)
{
    std::vector<const QStep*> out;
    collectQuantizable(steps, out);
    return out;
}

// --- forward ------------------------------------------------------------------------------------

void QuantizedModel::Impl::setEngine() const
{
    const at::QEngine want = toAtEngine(engine);
    if (want != at::QEngine::NoQEngine && at::globalContext().qEngine() != want)
        at::globalContext().setQEngine(want);
}

torch::Tensor QuantizedModel::Impl::run(const std::vector<QStep>& list, torch::Tensor x, const QParams& inRange) const
{
    return run(list, 0, list.size(), std::move(x), inRange);
}

torch::Tensor QuantizedModel::Impl::run(const std::vector<QStep>& list, size_t begin, size_t end, torch::Tensor x,
                                        const QParams& inRange) const
{
    const QParams* range = &inRange;
    for (size_t i = begin; i < end; ++i) {
        const QStep& step = list[i];
        if (step.convPool && !observing && !(step.int8 && x.size(0) >= step.int8FromBatch)) {
            // conv (+ ReLU) and the 2x2 pooling after it in float, as one kernel.
            c10::InferenceMode inference;
            x = step.convPool->forward(toFloat(x));
            range = &list[++i].out;
            continue;
        }
        x = runStep(step, x, *range);
        range = &step.out;
    }
    return x;
}

torch::Tensor QuantizedModel::Impl::runStep(const QStep& s, torch::Tensor x, const QParams& inRange) const
{
    using K = QStep::Kind;
    torch::Tensor y;
    switch (s.kind) {
    case K::Conv:
    case K::Linear: {
        const bool conv = s.kind == K::Conv;
        if (!observing && s.int8 && !s.dynamic && x.size(0) >= s.int8FromBatch) {
            // Convolutions get channels-last int8 inputs: onednn's layout, and the one in which
            // LibTorch's quantized pooling is fast.
            const torch::Tensor q = x.is_quantized() ? x : quantizeActivation(x, inRange.scale, inRange.zeroPoint, conv);
            if (conv)
                y = s.relu ? s.convPacked->apply_relu(q, s.out.scale, s.out.zeroPoint) : s.convPacked->apply(q, s.out.scale, s.out.zeroPoint);
            else
                y = s.relu ? s.linearPacked->apply_relu(q, s.out.scale, s.out.zeroPoint) : s.linearPacked->apply(q, s.out.scale, s.out.zeroPoint);
        } else if (!observing && s.int8 && s.dynamic && !conv) {
            const torch::Tensor f = toFloat(x).contiguous();
            y = s.relu ? s.linearPacked->apply_dynamic_relu(f) : s.linearPacked->apply_dynamic(f);
        } else {
            const torch::Tensor& w = (s.int8 && !observing) ? s.dqweight : s.weight;
            y = conv ? at::conv2d(toFloat(x), w, s.bias, s.stride, s.padding, s.dilation, s.groups)
                     : at::linear(toFloat(x), w, s.bias);
            if (s.relu)
                y = at::relu_(y);
        }
        break;
    }
    case K::BatchNorm:
        y = at::batch_norm(toFloat(x), s.weight, s.bias, s.mean, s.var, false, 0.0, s.eps, false);
        break;
    case K::Relu: y = at::relu(x); break;   // int8 in, int8 out
    case K::LeakyRelu: y = at::leaky_relu(toFloat(x), s.slope); break;
    case K::Gelu: y = at::gelu(toFloat(x)); break;
    case K::Tanh: y = at::tanh(toFloat(x)); break;
    case K::Sigmoid: y = at::sigmoid(toFloat(x)); break;
    case K::MaxPool:
        // Dilation spelled out: the quantized kernel reads both entries of it.
        if (s.kernel == 2 && s.poolStride == 2 && s.poolPadding == 0 && quantizedPool2x2Covers(x))
            y = quantizedMaxPool2x2(x);
        else
            y = at::max_pool2d(x, {s.kernel, s.kernel}, {s.poolStride, s.poolStride}, {s.poolPadding, s.poolPadding}, {1, 1});
        break;
    case K::AvgPool:
        y = at::avg_pool2d(x, {s.kernel, s.kernel}, {s.poolStride, s.poolStride}, {s.poolPadding, s.poolPadding});
        break;
    case K::AdaptiveAvgPool: y = at::adaptive_avg_pool2d(x, {s.outputSize, s.outputSize}); break;
    case K::Flatten: y = x.contiguous().reshape({x.size(0), -1}); break;   // NCHW order, as torch.nn.Flatten
    case K::Identity: y = x; break;
    case K::LayerNorm:
        y = at::layer_norm(toFloat(x), s.normShape, s.weight, s.bias, s.eps);
        break;
    case K::Residual: {
        const torch::Tensor skip = s.shortcut.empty() ? x : run(s.shortcut, x, inRange);
        const torch::Tensor h = run(s.body, x, inRange);
        if (!observing && h.is_quantized() && skip.is_quantized())
            y = quantizedAdd(h, skip, s.out.scale, s.out.zeroPoint);
        else
            y = toFloat(h) + toFloat(skip);
        break;
    }
    }
    if (observing)
        s.out.observe(y);
    return y;
}

torch::Tensor QuantizedModel::Impl::forward(const torch::Tensor& x) const
{
    c10::InferenceMode inference;
    setEngine();
    if (observing)
        input.observe(x);
    return toFloat(run(steps, x, input));
}

// --- building from float weights ---------------------------------------------------------------

namespace {

class Builder {
public:
    // `folded`: the weights already have their BatchNorms folded in (a saved QuantizedModel).
    Builder(const ModelInfo& info, const std::vector<NamedTensor>& weights, bool folded = false) : m_folded(folded)
    {
        for (const LayerInfo& row : info.layers)
            m_rows[row.name] = &row;
        for (const NamedTensor& t : weights)
            m_weights[t.name] = &t;
    }

    std::vector<QStep> steps(const std::vector<LayerSpec>& specs, const std::string& prefix)
    {
        std::vector<QStep> out;
        for (size_t i = 0; i < specs.size(); ++i) {
            const LayerSpec& s = specs[i];
            QStep step;
            step.name = nameOf(specs, prefix, i);
            step.type = s.type;
            const LayerInfo& row = rowOf(step.name);
            if (s.type == "conv2d" || s.type == "linear") {
                weighted(step, s, row);
                // Fold a following BatchNorm of the matching kind, then fuse a ReLU.
                const char* norm = s.type == "conv2d" ? "batchnorm2d" : "batchnorm1d";
                if (i + 1 < specs.size() && specs[i + 1].type == norm && rowOf(nameOf(specs, prefix, i + 1)).inputShape.size()
                                                                             == (s.type == "conv2d" ? 3u : 1u)) {
                    ++i;
                    foldBatchNorm(step, specs[i], nameOf(specs, prefix, i));
                    step.fused = norm;
                    step.absorbed.push_back(nameOf(specs, prefix, i));
                }
                if (i + 1 < specs.size() && specs[i + 1].type == "relu") {
                    ++i;
                    step.relu = true;
                    step.fused += step.fused.empty() ? "relu" : "+relu";
                    step.absorbed.push_back(nameOf(specs, prefix, i));
                }
            } else if (s.type == "batchnorm1d" || s.type == "batchnorm2d") {
                step.kind = QStep::Kind::BatchNorm;
                batchNorm(step, s, step.name);
            } else if (s.type == "relu") {
                step.kind = QStep::Kind::Relu;
            } else if (s.type == "leaky_relu") {
                step.kind = QStep::Kind::LeakyRelu;
                step.slope = s.option("negative_slope");
            } else if (s.type == "gelu") {
                step.kind = QStep::Kind::Gelu;
            } else if (s.type == "tanh") {
                step.kind = QStep::Kind::Tanh;
            } else if (s.type == "sigmoid") {
                step.kind = QStep::Kind::Sigmoid;
            } else if (s.type == "maxpool2d" || s.type == "avgpool2d") {
                step.kind = s.type == "maxpool2d" ? QStep::Kind::MaxPool : QStep::Kind::AvgPool;
                step.kernel = s.intOption("kernel_size");
                step.poolStride = s.intOption("stride") > 0 ? s.intOption("stride") : step.kernel;
                step.poolPadding = s.intOption("padding");
            } else if (s.type == "adaptive_avgpool2d") {
                step.kind = QStep::Kind::AdaptiveAvgPool;
                step.outputSize = s.intOption("output_size");
            } else if (s.type == "flatten") {
                step.kind = QStep::Kind::Flatten;
            } else if (s.type == "dropout") {
                step.kind = QStep::Kind::Identity;
            } else if (s.type == "layernorm") {
                step.kind = QStep::Kind::LayerNorm;
                step.normShape = row.inputShape;
                step.eps = s.option("eps");
                if (s.flag("elementwise_affine")) {
                    step.weight = tensor(step.name + ".weight", row.inputShape);
                    step.bias = tensor(step.name + ".bias", row.inputShape);
                }
            } else if (s.type == "residual") {
                step.kind = QStep::Kind::Residual;
                step.body = steps(s.layers, step.name + ".body.");
                const auto sc = m_rows.find(step.name + ".shortcut");
                if (sc != m_rows.end())
                    step.shortcut.push_back(projection(*sc->second));
            } else {
                throw std::runtime_error("layer " + step.name + ": type \"" + s.type + "\" is not known to the quantizer");
            }
            out.push_back(std::move(step));
        }
        attachConvPools(out);
        return out;
    }

    // A conv2d (+ ReLU) that the fused float kernel covers, followed by 2x2 max-pooling.
    static void attachConvPools(std::vector<QStep>& steps)
    {
        for (size_t i = 0; i + 1 < steps.size(); ++i) {
            QStep& c = steps[i];
            const QStep& p = steps[i + 1];
            if (c.kind != QStep::Kind::Conv || p.kind != QStep::Kind::MaxPool || p.kernel != 2 || p.poolStride != 2
                || p.poolPadding != 0 || c.stride != std::vector<int64_t>{1, 1} || c.dilation != std::vector<int64_t>{1, 1}
                || c.groups != 1 || c.padding[0] != c.padding[1])
                continue;
            c.convPool = ConvPool2x2(torch::nn::Conv2dOptions(c.weight.size(1), c.weight.size(0), c.weight.size(2))
                                         .padding(c.padding[0]), c.relu);
            c.convPool->setChannelsLast(true);
            refreshFloatPath(c);
        }
    }

private:
    static std::string nameOf(const std::vector<LayerSpec>& specs, const std::string& prefix, size_t i)
    {
        return prefix + (specs[i].name.empty() ? std::to_string(i) : specs[i].name);
    }

    const LayerInfo& rowOf(const std::string& name) const
    {
        const auto it = m_rows.find(name);
        if (it == m_rows.end() || it->second->inputShape.empty())
            throw std::runtime_error("layer " + name + ": its shapes are unknown (is the experiment completed from its data?)");
        return *it->second;
    }

    torch::Tensor tensor(const std::string& name, const std::vector<int64_t>& shape) const
    {
        const auto it = m_weights.find(name);
        if (it == m_weights.end())
            throw std::runtime_error("weights: no tensor \"" + name + "\"");
        if (it->second->shape != shape)
            throw std::runtime_error("weights: \"" + name + "\" has shape " + shapeText(it->second->shape)
                                     + ", the model needs " + shapeText(shape));
        return torch::from_blob(const_cast<float*>(it->second->values.data()), shape, torch::kFloat32).clone();
    }

    void weighted(QStep& step, const LayerSpec& s, const LayerInfo& row)
    {
        const int64_t in = row.inputShape[0];
        if (s.type == "conv2d") {
            step.kind = QStep::Kind::Conv;
            const int64_t out = s.intOption("out_channels"), k = s.intOption("kernel_size");
            step.groups = s.intOption("groups");
            step.stride = {s.intOption("stride"), s.intOption("stride")};
            step.padding = {s.intOption("padding"), s.intOption("padding")};
            step.dilation = {s.intOption("dilation"), s.intOption("dilation")};
            step.weight = tensor(step.name + ".weight", {out, in / std::max<int64_t>(1, step.groups), k, k});
            step.bias = s.flag("bias") ? tensor(step.name + ".bias", {out}) : torch::zeros({out});
        } else {
            step.kind = QStep::Kind::Linear;
            const int64_t out = row.outputShape.empty() ? s.intOption("out_features") : row.outputShape[0];
            step.weight = tensor(step.name + ".weight", {out, in});
            step.bias = s.flag("bias") ? tensor(step.name + ".bias", {out}) : torch::zeros({out});
        }
    }

    QStep projection(const LayerInfo& row)
    {
        QStep step;
        step.name = row.name;
        step.type = "shortcut";
        const Shape& in = row.inputShape;
        const Shape& out = row.outputShape;
        step.kind = in.size() == 1 ? QStep::Kind::Linear : QStep::Kind::Conv;
        if (in.size() == 1) {
            step.weight = tensor(step.name + ".weight", {out[0], in[0]});
        } else {
            const int64_t stride = (in[1] + out[1] - 1) / out[1];   // as the builder's strided 1x1 conv
            step.stride = {stride, stride};
            step.weight = tensor(step.name + ".weight", {out[0], in[0], 1, 1});
        }
        step.bias = tensor(step.name + ".bias", {out[0]});
        return step;
    }

    void batchNorm(QStep& step, const LayerSpec& s, const std::string& name)
    {
        const int64_t c = rowOf(name).inputShape[0];
        step.eps = s.option("eps");
        step.mean = tensor(name + ".running_mean", {c});
        step.var = tensor(name + ".running_var", {c});
        step.weight = s.flag("affine") ? tensor(name + ".weight", {c}) : torch::ones({c});
        step.bias = s.flag("affine") ? tensor(name + ".bias", {c}) : torch::zeros({c});
    }

    // conv(x) then BN = conv with weights W * g / sqrt(var + eps) and bias (b - mean) * that + beta.
    void foldBatchNorm(QStep& step, const LayerSpec& s, const std::string& name)
    {
        if (m_folded)
            return;
        QStep bn;
        batchNorm(bn, s, name);
        const torch::Tensor factor = bn.weight / torch::sqrt(bn.var + bn.eps);
        std::vector<int64_t> shape(step.weight.dim(), 1);
        shape[0] = -1;
        step.weight = (step.weight * factor.reshape(shape)).contiguous();
        step.bias = (step.bias - bn.mean) * factor + bn.bias;
    }

    std::map<std::string, const LayerInfo*> m_rows;
    std::map<std::string, const NamedTensor*> m_weights;
    bool m_folded = false;
};

} // namespace

QuantizedModel::QuantizedModel() : m_impl(std::make_unique<Impl>()) {}
QuantizedModel::~QuantizedModel() = default;
QuantizedModel::QuantizedModel(QuantizedModel&&) noexcept = default;
QuantizedModel& QuantizedModel::operator=(QuantizedModel&&) noexcept = default;

QuantizedModel QuantizedModel::fromFloat(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights)
{
    return buildQuantizedModel(spec, weights, false);
}

QuantizedModel buildQuantizedModel(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights, bool folded)
{
    Problems problems;
    const ModelInfo info = inspectModel(spec.model, problems);
    if (!problems.empty())
        throw std::runtime_error("the model does not validate: " + problems.front().text());
    if (!info.shapesKnown)
        throw std::runtime_error("the model's shapes wait for its data; complete the experiment first");
    QuantizedModel model;
    model.impl().spec = spec;
    model.impl().steps = Builder(info, weights, folded).steps(spec.model.layers, "");
    model.impl().engine = resolveQuantEngine(QuantEngine::Auto);
    model.impl().report.engine = model.impl().engine;
    for (const QStep* s : quantizableSteps(model.impl().steps))
        model.impl().report.layers.push_back({s->name, s->type, false, "float", s->fused, 1, 0.0, {}});
    return model;
}

torch::Tensor QuantizedModel::forward(const torch::Tensor& x) const
{
    return m_impl->forward(x);
}

std::vector<std::pair<size_t, size_t>> QuantizedModel::Impl::stages() const
{
    // One stage a top-level step, but a conv whose float path includes the pooling after it
    // (convPool) takes that step along.
    std::vector<std::pair<size_t, size_t>> out;
    for (size_t i = 0; i < steps.size(); ++i) {
        const size_t end = steps[i].convPool ? i + 2 : i + 1;
        out.emplace_back(i, end);
        i = end - 1;
    }
    return out;
}

std::vector<std::string> QuantizedModel::stageNames() const
{
    std::vector<std::string> out;
    for (const auto& [begin, end] : m_impl->stages())
        out.push_back(m_impl->steps[begin].name);
    return out;
}

torch::Tensor QuantizedModel::forwardStage(size_t stage, const torch::Tensor& x) const
{
    c10::InferenceMode inference;
    m_impl->setEngine();
    const auto stages = m_impl->stages();
    const auto [begin, end] = stages.at(stage);
    const QParams& in = begin == 0 ? m_impl->input : m_impl->steps.at(begin - 1).out;
    torch::Tensor y = m_impl->run(m_impl->steps, begin, end, x, in);
    return stage + 1 == stages.size() ? toFloat(y) : y;
}

bool QuantizedModel::stageQuantized(size_t stage) const
{
    const auto [begin, end] = m_impl->stages().at(stage);
    std::vector<QStep> part(m_impl->steps.begin() + begin, m_impl->steps.begin() + end);
    for (const QStep* s : quantizableSteps(part))
        if (s->int8)
            return true;
    return false;
}

std::vector<std::pair<std::string, torch::Tensor>> QuantizedModel::parameters() const
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    std::function<void(const std::vector<QStep>&)> walk = [&](const std::vector<QStep>& steps) {
        for (const QStep& s : steps) {
            if (s.quantizable()) {
                out.emplace_back(s.name + ".weight", s.int8 ? s.qweight : s.weight);
                out.emplace_back(s.name + ".bias", s.bias);
            } else if ((s.kind == QStep::Kind::BatchNorm || s.kind == QStep::Kind::LayerNorm) && s.weight.defined()) {
                out.emplace_back(s.name + ".weight", s.weight);
                out.emplace_back(s.name + ".bias", s.bias);
            }
            walk(s.body);
            walk(s.shortcut);
        }
    };
    walk(m_impl->steps);
    return out;
}

const ExperimentSpec& QuantizedModel::spec() const { return m_impl->spec; }
const QuantizeReport& QuantizedModel::report() const { return m_impl->report; }
QuantEngine QuantizedModel::engine() const { return m_impl->engine; }

std::string QuantizeReport::text() const
{
    std::ostringstream out;
    out << (mode == QuantizeMode::Static ? "static" : "dynamic") << " int8, " << quantEngineName(engine)
        << (perChannel ? ", per-channel" : ", per-tensor") << " weights\n";
    for (const QuantLayerReport& l : layers) {
        out << "  " << l.name << "  " << l.type << (l.fused.empty() ? "" : " (+" + l.fused + ")") << "  "
            << (l.int8 ? "int8" : "float") << "  " << l.why << "\n";
    }
    return out.str();
}

} // namespace nnlab::detail
