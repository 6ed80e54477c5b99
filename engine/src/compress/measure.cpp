// The compression lab's measurement (measure.h): one code path for every result and its parent.
#include "measure.h"

#include "nnlab/data.h"
#include "nnlab/model_info.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace nnlab::compress {

namespace {

// Sets LibTorch's intra-op threads for the measurement and puts back what was there: timing
// with one thread is what the figures mean, and the caller's setting is not ours.
class ThreadsGuard {
public:
    explicit ThreadsGuard(int threads) : m_previous(at::get_num_threads())
    {
        if (threads >= 1 && threads != m_previous)
            at::set_num_threads(threads);
    }
    ~ThreadsGuard()
    {
        if (at::get_num_threads() != m_previous)
            at::set_num_threads(m_previous);
    }
    ThreadsGuard(const ThreadsGuard&) = delete;
    ThreadsGuard& operator=(const ThreadsGuard&) = delete;

private:
    int m_previous;
};

double millisSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// `batch` real samples (repeated when the set is smaller), so that latency is measured on the
// kind of input the model sees and not on zeros, which some kernels short-cut.
torch::Tensor sampleBatch(const MeasureData& data, int64_t batch)
{
    const detail::TensorSet& set = !data.test.empty() ? data.test : !data.validation.empty() ? data.validation : data.train;
    if (set.empty())
        throw std::runtime_error("measurement: the experiment's data has no samples to time the model on");
    const torch::Tensor index = torch::arange(batch, torch::kLong).remainder(set.count);
    return set.x.index_select(0, index).contiguous();
}

std::pair<int64_t, int64_t> countOf(const torch::Tensor& tensor)
{
    torch::Tensor t = tensor;
    if (t.is_quantized())
        t = t.dequantize();   // zero exactly when the stored integer is the zero point
    return {t.numel(), t.ne(0).sum().item<int64_t>()};
}

// The layer a parameter belongs to: its name without the last component ("3.body.0.weight"
// -> "3.body.0").
std::string layerOf(const std::string& parameter)
{
    const size_t dot = parameter.rfind('.');
    return dot == std::string::npos ? parameter : parameter.substr(0, dot);
}

} // namespace

MeasurableModel floatModel(const ExperimentSpec& spec, torch::nn::Sequential model, const std::string& filePath)
{
    MeasurableModel out;
    out.spec = spec;
    out.filePath = filePath;
    model->eval();
    size_t index = 0;
    for (const auto& child : model->named_children()) {
        const size_t i = index++;
        out.stages.push_back({child.key(), [model, i](const torch::Tensor& x) mutable { return (model->begin() + i)->forward(x); }, false});
    }
    for (const auto& p : model->named_parameters())
        out.parameters.emplace_back(p.key(), p.value().detach());
    return out;
}

MeasureData loadMeasureData(const ExperimentSpec& spec)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error("measurement: the experiment does not validate: " + prepared.errorText());
    MeasureData out;
    out.classification = spec.isClassification();
    const DataBundle data = loadData(spec.data, out.classification, spec.seed);
    out.fitted = detail::fittedTo(prepared.experiment, data);
    // toTensors aliases the bundle's vectors, which go with it: the sets own copies.
    const torch::Device cpu(torch::kCPU);
    auto owned = [&](const Dataset& split) {
        detail::TensorSet set = detail::toTensors(split, out.classification, cpu);
        if (!set.empty()) {
            set.x = set.x.clone();
            set.y = set.y.clone();
        }
        return set;
    };
    out.train = owned(data.train);
    out.validation = owned(data.validation);
    out.test = owned(data.test);
    return out;
}

double accuracyOf(const ForwardFn& forward, const detail::TensorSet& set, bool classification, int64_t batch)
{
    if (set.empty() || !classification)
        return -1.0;
    torch::InferenceMode inference;
    int64_t correct = 0;
    for (int64_t begin = 0; begin < set.count; begin += batch) {
        const int64_t end = std::min(set.count, begin + batch);
        const torch::Tensor logits = forward(set.x.slice(0, begin, end)).reshape({end - begin, -1});
        correct += logits.argmax(1).eq(set.y.slice(0, begin, end)).sum().item<int64_t>();
    }
    return double(correct) / double(set.count);
}

torch::Tensor runStages(const MeasurableModel& model, const torch::Tensor& input)
{
    torch::Tensor x = input;
    for (const ModelStage& stage : model.stages)
        x = stage.forward(x);
    return x;
}

LatencyFigure latencyOf(std::vector<double> millis, int64_t batch)
{
    LatencyFigure out;
    out.batch = batch;
    out.calls = int(millis.size());
    if (millis.empty())
        return out;
    std::sort(millis.begin(), millis.end());
    // Nearest rank: the value at or below which the fraction q of the calls lie.
    auto rank = [&](double q) {
        const size_t i = size_t(std::max(0.0, std::ceil(q * double(millis.size())) - 1.0));
        return millis[std::min(i, millis.size() - 1)];
    };
    const size_t n = millis.size();
    out.medianMs = n % 2 ? millis[n / 2] : 0.5 * (millis[n / 2 - 1] + millis[n / 2]);
    out.p10Ms = rank(0.10);
    out.p90Ms = rank(0.90);
    return out;
}

std::vector<ModelMeasurement> measureModels(const std::vector<const MeasurableModel*>& models, const MeasureData& data,
                                            const MeasureOptions& options, const CompressProgressFn& progress,
                                            TrainControl* control)
{
    if (options.threads < 1)
        throw std::invalid_argument("--latency-threads: must be >= 1, got " + std::to_string(options.threads));
    if (options.calls < 10)
        throw std::invalid_argument("--latency-calls: must be >= 10, got " + std::to_string(options.calls));
    for (const MeasurableModel* model : models)
        if (model->stages.empty())
            throw std::runtime_error("measurement: the model has no layers to run");
    auto report = [&](const std::string& stage, int64_t done, int64_t total) {
        if (progress)
            progress({stage, done, total});
    };
    auto cancelled = [&] { return control && control->isCancelled(); };
    const size_t n = models.size();
    std::vector<ModelMeasurement> out(n);
    const int64_t steps = 4;

    // Accuracy, parameters (as each model holds them, grouped by layer) and file bytes.
    report("measuring accuracy", 0, steps);
    std::vector<std::map<std::string, std::pair<int64_t, int64_t>>> byLayer(n);
    for (size_t k = 0; k < n; ++k) {
        const MeasurableModel& model = *models[k];
        const ForwardFn forward = [&model](const torch::Tensor& x) { return runStages(model, x); };
        out[k].validationAccuracy = accuracyOf(forward, data.validation, data.classification);
        out[k].testAccuracy = accuracyOf(forward, data.test, data.classification);
        for (const auto& [name, tensor] : model.parameters) {
            const auto [count, nonzero] = countOf(tensor);
            out[k].parameters += count;
            out[k].nonzeroParameters += nonzero;
            byLayer[k][layerOf(name)].first += count;
            byLayer[k][layerOf(name)].second += nonzero;
        }
        if (!model.filePath.empty()) {
            std::error_code error;
            const auto bytes = std::filesystem::file_size(model.filePath, error);
            if (error)
                throw std::runtime_error("measurement: cannot read the size of " + model.filePath + ": " + error.message());
            out[k].fileBytes = int64_t(bytes);
        }
        if (cancelled())
            return out;
    }

    // Latency: the models' calls interleaved, one of each in turn, so that load that comes
    // and goes on a shared machine falls on all of them alike.
    ThreadsGuard threads(options.threads);
    torch::InferenceMode inference;
    int64_t done = 1;
    for (int64_t batch : {int64_t(1), int64_t(64)}) {
        report("timing batch " + std::to_string(batch), done++, steps);
        const torch::Tensor x = sampleBatch(data, batch);
        for (int i = 0; i < options.warmupCalls; ++i)
            for (const MeasurableModel* model : models)
                runStages(*model, x);
        std::vector<std::vector<double>> millis(n);
        for (int i = 0; i < options.calls; ++i) {
            for (size_t k = 0; k < n; ++k) {
                const auto start = std::chrono::steady_clock::now();
                runStages(*models[k], x);
                millis[k].push_back(millisSince(start));
            }
        }
        for (size_t k = 0; k < n; ++k)
            (batch == 1 ? out[k].batch1 : out[k].batch64) = latencyOf(std::move(millis[k]), batch);
        if (cancelled())
            return out;
    }
    for (ModelMeasurement& m : out)
        m.throughput = m.batch64.medianMs > 0 ? 64.0 * 1000.0 / m.batch64.medianMs : 0.0;

    // Latency share of each top-level layer at batch 64: the stages timed one by one, summed
    // over as many passes as the latency calls.
    report("timing layers", done++, steps);
    std::vector<std::map<std::string, double>> stageMillis(n);
    std::vector<double> totalMillis(n, 0.0);
    const torch::Tensor x64 = sampleBatch(data, 64);
    for (int i = 0; i < options.calls; ++i) {
        for (size_t k = 0; k < n; ++k) {
            torch::Tensor x = x64;
            for (const ModelStage& stage : models[k]->stages) {
                const auto start = std::chrono::steady_clock::now();
                x = stage.forward(x);
                const double ms = millisSince(start);
                stageMillis[k][stage.name] += ms;
                totalMillis[k] += ms;
            }
        }
    }

    for (size_t k = 0; k < n; ++k) {
        std::map<std::string, bool> stageQuantized;
        for (const ModelStage& stage : models[k]->stages)
            stageQuantized[stage.name] = stage.quantized;
        Problems problems;
        const ModelInfo info = inspectModel(models[k]->spec.model, problems);
        for (const LayerInfo& layer : info.layers) {
            LayerMeasurement m;
            m.name = layer.name;
            m.type = layer.type;
            m.macs = layer.macs;
            const auto counted = byLayer[k].find(layer.name);
            if (counted != byLayer[k].end()) {
                m.parameters = counted->second.first;
                m.nonzeroParameters = counted->second.second;
            }
            if (layer.depth == 0) {
                const auto timed = stageMillis[k].find(layer.name);
                if (timed != stageMillis[k].end() && totalMillis[k] > 0)
                    m.latencyShare = timed->second / totalMillis[k];
                m.quantized = stageQuantized[layer.name];
            } else {
                // A nested layer runs in int8 when its top-level layer does.
                m.quantized = stageQuantized[layer.name.substr(0, layer.name.find('.'))];
            }
            out[k].layers.push_back(std::move(m));
        }
    }
    report("measured", steps, steps);
    return out;
}

ModelMeasurement measureModel(const MeasurableModel& model, const MeasureData& data, const MeasureOptions& options,
                              const CompressProgressFn& progress, TrainControl* control)
{
    return measureModels({&model}, data, options, progress, control).front();
}

} // namespace nnlab::compress
