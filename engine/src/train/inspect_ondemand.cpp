// inspect.h: feature maps, first-layer filters and the confusion report of trained weights,
// run through the spec's layers (inspect_forward.h) from the plain tensors.
#include "nnlab/inspect.h"

#include "inspect_forward.h"
#include "session.h"
#include "nnlab/data.h"
#include "nnlab/model_info.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>

namespace nnlab {

using namespace detail;

namespace {

TensorMap tensorsOf(const TrainedWeights& weights)
{
    const std::string problems = checkWeightsFit(weights.spec, weights.tensors);
    if (!problems.empty())
        throw std::runtime_error("the weights do not fit the experiment's model:\n" + problems);
    TensorMap out;
    for (const NamedTensor& t : weights.tensors)
        out[t.name] = torch::tensor(t.values, torch::kFloat32).reshape(t.shape);
    return out;
}

void collectLayers(const std::vector<LayerSpec>& layers, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string path = layerPath(prefix, layers[i], i);
        out.emplace_back(path, layers[i].type);
        collectLayers(layers[i].layers, path + ".body.", out);
    }
}

// x' = (x - shift) / scale per channel (images) or feature, as the interface says; inverse too.
torch::Tensor normalization(const std::vector<float>& values, const std::vector<int64_t>& sampleShape, bool images)
{
    std::vector<int64_t> shape{1};
    if (images) {
        shape.push_back(static_cast<int64_t>(values.size()));
        shape.insert(shape.end(), sampleShape.size() - 1, 1);
    } else {
        shape.insert(shape.end(), sampleShape.begin(), sampleShape.end());
    }
    return torch::tensor(values, torch::kFloat32).reshape(shape);
}

torch::Tensor normalize(const ModelInterface& m, const torch::Tensor& raw)
{
    if (m.inputShift.empty())
        return raw;
    return (raw - normalization(m.inputShift, m.sampleShape, m.images)) / normalization(m.inputScale, m.sampleShape, m.images);
}

torch::Tensor denormalize(const ModelInterface& m, const torch::Tensor& x)
{
    if (m.inputShift.empty())
        return x;
    return x * normalization(m.inputScale, m.sampleShape, m.images) + normalization(m.inputShift, m.sampleShape, m.images);
}

std::vector<float> floats(const torch::Tensor& t)
{
    const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

} // namespace

std::vector<InspectableLayer> inspectableLayers(const TrainedWeights& weights)
{
    Problems problems;
    const ModelInfo info = inspectModel(weights.spec.model, problems);
    std::vector<std::pair<std::string, std::string>> layers;
    collectLayers(weights.spec.model.layers, "", layers);
    std::map<std::string, Shape> shapes;
    for (const auto& row : info.layers)
        if (row.type != "shortcut")
            shapes[row.name] = row.outputShape;
    std::vector<InspectableLayer> out;
    for (const auto& [path, type] : layers)
        out.push_back({path, type, shapes.count(path) ? shapes[path] : Shape{}});
    return out;
}

FeatureMaps featureMaps(const TrainedWeights& weights, const std::string& path, const std::vector<float>& rawInput)
{
    const ModelInterface& m = weights.interface;
    if (static_cast<int64_t>(rawInput.size()) != m.sampleSize())
        throw std::runtime_error("the input has " + std::to_string(rawInput.size()) + " values; the model takes "
                                 + std::to_string(m.sampleSize()));
    std::vector<std::pair<std::string, std::string>> layers;
    collectLayers(weights.spec.model.layers, "", layers);
    const auto found = std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.first == path; });
    if (found == layers.end()) {
        std::string valid;
        for (const auto& l : layers)
            valid += (valid.empty() ? "" : ", ") + l.first;
        throw std::runtime_error("no layer \"" + path + "\" in the model; one of " + valid);
    }
    std::vector<int64_t> shape{1};
    shape.insert(shape.end(), m.sampleShape.begin(), m.sampleShape.end());
    torch::NoGradGuard noGrad;
    const torch::Tensor x = normalize(m, torch::tensor(rawInput, torch::kFloat32).reshape(shape));
    torch::Tensor captured;
    specForward(weights.spec.model.layers, x, tensorsOf(weights), /*training*/ false,
                [&](const std::string& p, const LayerSpec&, const torch::Tensor& out) {
                    if (p != path)
                        return true;
                    captured = out[0].clone();
                    return false;
                });
    FeatureMaps maps;
    maps.layerPath = path;
    maps.layerType = found->second;
    maps.shape.assign(captured.sizes().begin(), captured.sizes().end());
    maps.values = floats(captured);
    const torch::Tensor perChannel = captured.dim() == 3 ? captured.reshape({captured.size(0), -1}) : captured.reshape({1, -1});
    maps.minimum = floats(std::get<0>(perChannel.min(1)));
    maps.maximum = floats(std::get<0>(perChannel.max(1)));
    return maps;
}

FilterBank firstLayerFilters(const TrainedWeights& weights)
{
    std::vector<std::pair<std::string, std::string>> layers;
    collectLayers(weights.spec.model.layers, "", layers);
    FilterBank bank;
    for (const auto& [path, type] : layers) {
        if (type != "conv2d")
            continue;
        for (const NamedTensor& t : weights.tensors)
            if (t.name == path + ".weight") {
                bank.layerPath = path;
                bank.shape = t.shape;
                bank.values = t.values;
                return bank;
            }
    }
    return bank;
}

ClassScores classScores(const std::vector<float>& matrix, int64_t classes)
{
    ClassScores s;
    if (classes <= 0 || static_cast<int64_t>(matrix.size()) != classes * classes)
        return s;
    double hits = 0, total = 0;
    for (int64_t c = 0; c < classes; ++c) {
        double predicted = 0, actual = 0;
        for (int64_t k = 0; k < classes; ++k) {
            predicted += matrix[static_cast<size_t>(k * classes + c)];
            actual += matrix[static_cast<size_t>(c * classes + k)];
        }
        const double hit = matrix[static_cast<size_t>(c * classes + c)];
        s.precision.push_back(predicted > 0 ? hit / predicted : 0.0);
        s.recall.push_back(actual > 0 ? hit / actual : 0.0);
        hits += hit;
        total += actual;
    }
    s.samples = static_cast<int64_t>(total);
    s.accuracy = total > 0 ? hits / total : 0.0;
    return s;
}

ConfusionReport confusionReport(const TrainedWeights& weights, const ConfusionOptions& options)
{
    const ExperimentSpec& spec = weights.spec;
    if (!spec.isClassification())
        throw std::runtime_error("a confusion matrix needs a classification model (loss cross_entropy); this one is "
                                 + spec.loss);
    if (spec.data.validationFraction <= 0)
        throw std::runtime_error("the experiment has no validation split (data.validation_fraction is 0)");
    const DataBundle data = loadData(spec.data, true, spec.seed);
    const TensorSet set = toTensors(data.validation, true, torch::Device(torch::kCPU));
    if (set.empty())
        throw std::runtime_error("the validation split is empty");
    const TensorMap tensors = tensorsOf(weights);
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < set.count; start += 256)
        parts.push_back(torch::softmax(specForward(spec.model.layers, set.x.slice(0, start, std::min(start + 256, set.count)),
                                                   tensors, false), 1));
    const torch::Tensor probs = torch::cat(parts).contiguous();
    const torch::Tensor predicted = probs.argmax(1).contiguous();
    const int64_t classes = probs.size(1);

    ConfusionReport report;
    report.classes = classes;
    report.classNames = data.classNames;
    report.sampleShape = data.validation.sampleShape;
    report.matrix.assign(static_cast<size_t>(classes * classes), 0.0f);
    report.examples.resize(static_cast<size_t>(classes * classes));
    const float* p = probs.data_ptr<float>();
    const int64_t* q = predicted.data_ptr<int64_t>();
    const auto& labels = data.validation.labels;
    struct Candidate {
        int64_t index;
        float probability, trueProbability;
    };
    std::vector<std::vector<Candidate>> cells(report.examples.size());
    for (int64_t i = 0; i < set.count; ++i) {
        const int64_t t = labels[static_cast<size_t>(i)], k = q[i];
        if (t < 0 || t >= classes)
            continue;
        const size_t cell = static_cast<size_t>(t * classes + k);
        report.matrix[cell] += 1.0f;
        if (t != k || options.correctExamples)
            cells[cell].push_back({i, p[i * classes + k], p[i * classes + t]});
    }
    report.scores = classScores(report.matrix, classes);
    const ModelInterface interface = interfaceOf(data);
    for (size_t cell = 0; cell < cells.size(); ++cell) {
        auto& c = cells[cell];
        std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.probability > b.probability; });
        if (static_cast<int64_t>(c.size()) > options.examplesPerCell)
            c.resize(static_cast<size_t>(std::max<int64_t>(0, options.examplesPerCell)));
        for (const Candidate& k : c) {
            ConfusionExample e;
            e.index = k.index;
            e.probability = k.probability;
            e.trueProbability = k.trueProbability;
            e.raw = floats(denormalize(interface, set.x[k.index].unsqueeze(0))[0]);
            report.examples[cell].push_back(std::move(e));
        }
    }
    return report;
}

} // namespace nnlab
