#include "inspect_hook.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace nnlab::detail {

namespace {

constexpr int64_t kHistogramBins = 30;
// The probe pass sees the first samples of the step's batch: enough for the statistics, and a
// probe then costs about one training step of the default CNN (all 64 cost four: the spec's
// layers one by one, without the fused kernels).
constexpr int64_t kProbeSamples = 16;
constexpr double kBoundaryMargin = 0.15;   // of the data's range, on each side
constexpr size_t kMaxNeuronLayers = 2;
constexpr int64_t kMaxNeuronUnits = 16;

bool isActivation(const std::string& type)
{
    return type == "relu" || type == "leaky_relu" || type == "tanh" || type == "sigmoid" || type == "gelu";
}

bool isMlpLayer(const std::string& type)
{
    return type == "linear" || type == "dropout" || type == "batchnorm1d" || type == "layernorm" || isActivation(type);
}

void collectTypes(const std::vector<LayerSpec>& layers, const std::string& prefix, std::map<std::string, std::string>& out)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string path = layerPath(prefix, layers[i], i);
        out[path] = layers[i].type;
        collectTypes(layers[i].layers, path + ".body.", out);
    }
}

// Cell centres of an n x n grid over [lo, hi]^2, row iy = 0 at the bottom: [n * n, 2].
torch::Tensor gridPoints(const double lo[2], const double hi[2], int64_t n)
{
    const double dx = (hi[0] - lo[0]) / static_cast<double>(n), dy = (hi[1] - lo[1]) / static_cast<double>(n);
    const torch::Tensor xs = torch::arange(n, torch::kFloat64).mul(dx).add(lo[0] + dx / 2);
    const torch::Tensor ys = torch::arange(n, torch::kFloat64).mul(dy).add(lo[1] + dy / 2);
    const std::vector<torch::Tensor> mesh = torch::meshgrid({ys, xs}, "ij");   // [iy][ix]
    return torch::stack({mesh[1].reshape({-1}), mesh[0].reshape({-1})}, 1).to(torch::kFloat32);
}

std::vector<float> toFloats(const torch::Tensor& t)
{
    const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

Snapshot histogramOf(SnapshotKind kind, const std::string& path, int64_t step, const torch::Tensor& values)
{
    const torch::Tensor v = values.detach().to(torch::kCPU, torch::kFloat32).reshape({-1});
    const auto [minT, maxT] = torch::aminmax(v);
    double lo = minT.item<double>(), hi = maxT.item<double>();
    if (!std::isfinite(lo) || !std::isfinite(hi)) {   // a blown-up tensor: bin the finite part
        const torch::Tensor finite = v.masked_select(torch::isfinite(v));
        lo = finite.numel() ? finite.min().item<double>() : 0.0;
        hi = finite.numel() ? finite.max().item<double>() : 0.0;
    }
    if (hi <= lo) {
        lo -= 0.5;
        hi += 0.5;
    }
    Snapshot s;
    s.kind = kind;
    s.name = path;
    s.step = step;
    s.shape = {kHistogramBins};
    s.values = toFloats(torch::histc(v, kHistogramBins, lo, hi));
    nlohmann::json edges = nlohmann::json::array();
    for (int64_t i = 0; i <= kHistogramBins; ++i)
        edges.push_back(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(kHistogramBins));
    s.meta = nlohmann::json{{"edges", edges}, {"tensor", path + ".weight"}, {"count", v.numel()}}.dump();
    return s;
}

} // namespace

bool InspectHook::wanted(const ExperimentSpec& spec, const DataBundle& data)
{
    const InspectSpec& i = spec.inspect;
    const bool plane = spec.isClassification() && data.train.sampleShape == std::vector<int64_t>{2};
    return i.layerStatsEverySteps > 0 || i.histogramsEverySteps > 0 || (plane && i.boundaryEverySteps > 0)
           || (i.confusionMatrix && spec.isClassification() && data.validation.count() > 0);
}

InspectHook::InspectHook(const ExperimentSpec& spec, torch::nn::Sequential& model, const TensorSet& train,
                         const DataBundle& data, Reporter& report)
    : m_spec(spec), m_inspect(spec.inspect), m_model(model), m_data(data), m_report(report),
      m_classify(spec.isClassification())
{
    std::map<std::string, std::string> types;
    collectTypes(spec.model.layers, "", types);
    for (const auto& item : model->named_parameters()) {
        const std::string& name = item.key();
        if (name.size() <= 7 || name.compare(name.size() - 7, 7, ".weight") != 0)
            continue;
        Tracked t;
        t.path = name.substr(0, name.size() - 7);
        t.name = name;
        const auto type = types.find(t.path);
        t.histogram = type != types.end() && (type->second == "conv2d" || type->second == "linear");
        m_tracked.push_back(std::move(t));
    }

    m_boundary = m_classify && m_inspect.boundaryEverySteps > 0 && !train.empty() && train.x.dim() == 2
                 && train.x.size(1) == 2;
    if (!m_boundary)
        return;
    torch::NoGradGuard noGrad;
    const torch::Tensor lo = std::get<0>(train.x.min(0)).to(torch::kCPU, torch::kFloat64);
    const torch::Tensor hi = std::get<0>(train.x.max(0)).to(torch::kCPU, torch::kFloat64);
    for (int d = 0; d < 2; ++d) {
        const double a = lo[d].item<double>(), b = hi[d].item<double>();
        const double margin = std::max(b - a, 1e-6) * kBoundaryMargin;
        m_lo[d] = a - margin;
        m_hi[d] = b + margin;
    }
    const int64_t r = m_inspect.boundaryResolution;
    const int64_t coarse = std::max<int64_t>(kMinBoundaryResolution, r / 2);
    m_grid = gridPoints(m_lo, m_hi, r).to(train.x.device());
    m_coarseGrid = gridPoints(m_lo, m_hi, coarse).to(train.x.device());

    // Raw units: x = x' * scale + shift (data.h's normalization, inverted).
    auto raw = [&](int d, double v) {
        if (data.inputShift.size() < 2 || data.inputScale.size() < 2)
            return v;
        return v * data.inputScale[static_cast<size_t>(d)] + data.inputShift[static_cast<size_t>(d)];
    };
    nlohmann::json meta{{"x", {raw(0, m_lo[0]), raw(0, m_hi[0])}}, {"y", {raw(1, m_lo[1]), raw(1, m_hi[1])}},
                        {"normalized_x", {m_lo[0], m_hi[0]}}, {"normalized_y", {m_lo[1], m_hi[1]}}};
    m_gridMeta = meta.dump();

    // Small MLPs: the first (up to two) hidden linear layers of <= 16 units, each seen after
    // the activation that follows it.
    const auto& layers = spec.model.layers;
    if (!std::all_of(layers.begin(), layers.end(), [](const LayerSpec& l) { return isMlpLayer(l.type); }))
        return;
    std::vector<size_t> linears;
    for (size_t i = 0; i < layers.size(); ++i)
        if (layers[i].type == "linear")
            linears.push_back(i);
    for (size_t k = 0; k + 1 < linears.size() && k < kMaxNeuronLayers; ++k) {
        const size_t i = linears[k];
        if (layers[i].intOption("out_features") > kMaxNeuronUnits)
            continue;
        size_t shown = i;
        for (size_t j = i + 1; j < layers.size() && layers[j].type != "linear"; ++j)
            if (isActivation(layers[j].type)) {
                shown = j;
                break;
            }
        m_neuronLayers.push_back(layerPath("", layers[shown], shown));
        m_neuronLinear.push_back(layerPath("", layers[i], i));
    }
}

namespace {
// Adds the scope's wall time to `total`.
class Timed {
public:
    explicit Timed(double& total) : m_total(total) {}
    ~Timed() { m_total += std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count(); }

private:
    double& m_total;
    const std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};
} // namespace

void InspectHook::ending(const TrainState& state, TrainStatus)
{
    m_report.add("inspect/seconds", state.step, m_seconds);
}

void InspectHook::afterStep(const StepView& step, TrainRequests&)
{
    const Timed timed(m_seconds);
    const int64_t s = step.state.step;
    if (due(m_inspect.layerStatsEverySteps, s))
        layerStats(step);
    if (due(m_inspect.histogramsEverySteps, s) && m_report.wantsSnapshots())
        histograms(step);
    if (m_boundary && due(m_inspect.boundaryEverySteps, s) && m_report.wantsSnapshots())
        boundary(s);
    // The step before a stats step keeps the weights, for the next step's update ratio.
    if (m_inspect.layerStatsEverySteps > 0 && (s + 1) % m_inspect.layerStatsEverySteps == 0) {
        torch::NoGradGuard noGrad;
        const auto params = m_model->named_parameters();
        for (Tracked& t : m_tracked)
            t.previous = params[t.name].detach().clone();
    }
}

void InspectHook::layerStats(const StepView& step)
{
    torch::NoGradGuard noGrad;
    std::vector<std::string> tags;
    std::vector<torch::Tensor> values;   // 0-d, read together at the end (one device sync)
    auto add = [&](const std::string& tag, const torch::Tensor& v) {
        tags.push_back(tag);
        values.push_back(v.detach().to(torch::kFloat64).reshape({}));
    };
    const torch::Tensor input = step.input.size(0) > kProbeSamples ? step.input.slice(0, 0, kProbeSamples) : step.input;
    specForward(m_spec.model.layers, input, moduleTensors(*m_model), /*training*/ true,
                [&](const std::string& path, const LayerSpec& layer, const torch::Tensor& out) {
                    if (layer.type == "dropout" || layer.type == "flatten")
                        return true;   // their output is their input's (the probe runs no dropout)
                    const auto [sd, mean] = torch::std_mean(out.to(torch::kFloat32), /*unbiased*/ false);
                    add("layers/" + path + "/act_mean", mean);
                    add("layers/" + path + "/act_std", sd);
                    // Dead: <= 0 for every sample of the batch (leaky ReLU's negative side counts).
                    if (layer.type == "relu" || layer.type == "leaky_relu")
                        add("layers/" + path + "/dead_fraction", out.le(0).all(0).to(torch::kFloat32).mean());
                    return true;
                });
    const auto params = m_model->named_parameters();
    for (Tracked& t : m_tracked) {
        const torch::Tensor& weight = params[t.name];
        const torch::Tensor w = weight.detach();
        const torch::Tensor norm = w.norm();
        add("layers/" + t.path + "/weight_norm", norm);
        if (weight.grad().defined())
            add("layers/" + t.path + "/grad_norm", weight.grad().norm());
        if (t.previous.defined())   // ||W_s - W_{s-1}|| / ||W_s||: the step's update, lr included
            add("layers/" + t.path + "/update_ratio", (w - t.previous).norm() / norm.clamp_min(1e-30));
        t.previous = torch::Tensor();
    }
    if (values.empty())
        return;
    const torch::Tensor all = torch::stack(values).cpu();
    const double* v = all.data_ptr<double>();
    for (size_t i = 0; i < tags.size(); ++i)
        m_report.add(tags[i], step.state.step, v[i]);
}

void InspectHook::histograms(const StepView& step)
{
    torch::NoGradGuard noGrad;
    const auto params = m_model->named_parameters();
    for (const Tracked& t : m_tracked) {
        if (!t.histogram)
            continue;
        const torch::Tensor& weight = params[t.name];
        m_report.addSnapshot(histogramOf(SnapshotKind::WeightHistogram, t.path, step.state.step, weight));
        if (weight.grad().defined())
            m_report.addSnapshot(histogramOf(SnapshotKind::GradientHistogram, t.path, step.state.step, weight.grad()));
    }
}

void InspectHook::boundary(int64_t step)
{
    torch::NoGradGuard noGrad;
    const TensorMap tensors = moduleTensors(*m_model);
    const int64_t r = m_inspect.boundaryResolution;
    const torch::Tensor probs = torch::softmax(specForward(m_spec.model.layers, m_grid, tensors, false), 1);
    const int64_t classes = probs.size(1);
    Snapshot s;
    s.kind = SnapshotKind::DecisionBoundary;
    s.step = step;
    s.shape = {classes, r, r};
    s.values = toFloats(probs.t());
    nlohmann::json meta = nlohmann::json::parse(m_gridMeta);
    meta["resolution"] = r;
    meta["classes"] = classes;
    meta["class_names"] = m_data.classNames;
    s.meta = meta.dump();
    m_report.addSnapshot(std::move(s));

    if (m_neuronLayers.empty())
        return;
    const int64_t coarse = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(m_coarseGrid.size(0)))));
    size_t found = 0;
    specForward(m_spec.model.layers, m_coarseGrid, tensors, false,
                [&](const std::string& path, const LayerSpec& layer, const torch::Tensor& out) {
                    for (size_t k = 0; k < m_neuronLayers.size(); ++k) {
                        if (m_neuronLayers[k] != path)
                            continue;
                        Snapshot n;
                        n.kind = SnapshotKind::NeuronBoundary;
                        n.name = path;
                        n.step = step;
                        n.shape = {out.size(1), coarse, coarse};
                        n.values = toFloats(out.t());
                        nlohmann::json m = nlohmann::json::parse(m_gridMeta);
                        m["resolution"] = coarse;
                        m["units"] = out.size(1);
                        m["layer_type"] = layer.type;
                        m["linear"] = m_neuronLinear[k];
                        n.meta = m.dump();
                        m_report.addSnapshot(std::move(n));
                        ++found;
                    }
                    return found < m_neuronLayers.size();   // the layers after the last shown one need not run
                });
}

void InspectHook::afterEvaluation(const EvalView& view, TrainRequests&)
{
    const Timed timed(m_seconds);
    if (!m_inspect.confusionMatrix || !m_classify || !view.hasValidation || !view.validation.predictions.defined())
        return;
    const torch::Tensor predicted = view.validation.predictions.to(torch::kCPU, torch::kInt64).contiguous();
    const auto& labels = m_data.validation.labels;
    const int64_t n = std::min<int64_t>(predicted.numel(), static_cast<int64_t>(labels.size()));
    const int64_t classes = std::max<int64_t>(m_data.numClasses, 1);
    std::vector<float> matrix(static_cast<size_t>(classes * classes), 0.0f);
    const int64_t* p = predicted.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t t = labels[static_cast<size_t>(i)], q = p[i];
        if (t >= 0 && t < classes && q >= 0 && q < classes)
            matrix[static_cast<size_t>(t * classes + q)] += 1.0f;
    }
    const int64_t step = view.state.step;
    for (int64_t c = 0; c < classes; ++c) {
        double predictedAs = 0, actual = 0;
        for (int64_t k = 0; k < classes; ++k) {
            predictedAs += matrix[static_cast<size_t>(k * classes + c)];
            actual += matrix[static_cast<size_t>(c * classes + k)];
        }
        const double hit = matrix[static_cast<size_t>(c * classes + c)];
        m_report.add("val/precision/" + std::to_string(c), step, predictedAs > 0 ? hit / predictedAs : 0.0);
        m_report.add("val/recall/" + std::to_string(c), step, actual > 0 ? hit / actual : 0.0);
    }
    if (!m_report.wantsSnapshots())
        return;
    Snapshot s;
    s.kind = SnapshotKind::ConfusionMatrix;
    s.name = "validation";
    s.step = step;
    s.shape = {classes, classes};
    s.values = std::move(matrix);
    s.meta = nlohmann::json{{"classes", classes},
                            {"class_names", m_data.classNames},
                            {"epoch", view.state.stepsPerEpoch > 0 ? step / view.state.stepsPerEpoch : 0},
                            {"samples", n}}
                 .dump();
    m_report.addSnapshot(std::move(s));
}

void InspectHook::rolledBack(const TrainState&, const std::string&)
{
    for (Tracked& t : m_tracked)   // from the abandoned trajectory
        t.previous = torch::Tensor();
}

} // namespace nnlab::detail
