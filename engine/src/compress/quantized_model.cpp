// QuantizedModel: engines, activation ranges, the int8 and float paths of each step, and the
// forward pass, which keeps a tensor in int8 from the first int8 layer until a float layer
// needs it. Building one from float weights is in quantize_build.cpp.
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

QuantizedModel::QuantizedModel() : m_impl(std::make_unique<Impl>()) {}
QuantizedModel::~QuantizedModel() = default;
QuantizedModel::QuantizedModel(QuantizedModel&&) noexcept = default;
QuantizedModel& QuantizedModel::operator=(QuantizedModel&&) noexcept = default;


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
