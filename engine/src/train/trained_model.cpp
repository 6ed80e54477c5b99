// Trained models out of the store (nnlab/trained_model.h): weights as plain tensors, and the
// Predictor that runs them on raw inputs.
#include "nnlab/trained_model.h"

#include "builder.h"
#include "checkpoint.h"
#include "session.h"
#include "weights_io.h"
#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "../export/sparse_weights.h"   // nnlab_export's private header: the sparse list's metadata key

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace nnlab {

namespace {

PreparedExperiment preparedFor(const ExperimentSpec& spec, const std::string& what)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error(what + ": the experiment no longer validates: " + prepared.errorText());
    return prepared.experiment;
}

// The interface recorded with the run, or, for runs recorded before nnlab kept it, the one
// its data gives when loaded again (the same split and normalization: both are seeded).
ModelInterface interfaceOfRun(const RunDetails& run, const ExperimentSpec& spec)
{
    const nlohmann::json info = nlohmann::json::parse(run.infoJson, nullptr, false);
    if (info.is_object() && info.contains("interface") && info["interface"].is_object())
        return interfaceFromJson(info["interface"].dump());
    try {
        return interfaceOf(loadData(spec.data, spec.isClassification(), spec.seed));
    } catch (const std::exception& e) {
        throw std::runtime_error("run " + run.id + " was recorded without its input normalization, and its data "
                                 "cannot be loaded again to recover it: " + e.what());
    }
}

constexpr const char* kInt8Format = "nnlab.int8/1";   // engine/src/compress/quantize_file.cpp

// What works for an int8 model, which holds no float weights (nnlab_compress runs it).
std::string int8Refusal(const std::string& runId, const std::string& parentId = {})
{
    const std::string run = runId.empty() ? "RUN" : runId;
    return std::string(" holds int8 weights (") + kInt8Format + ") and no float weights, so it cannot be evaluated, "
           "predicted with, served, or exported to ONNX or PyTorch; what works: `nnlab-cli export " + run
           + " --format safetensors` copies the int8 file, `nnlab-cli compare " + run
           + "` shows the accuracy, size and latency measured when it was made, and its float parent run"
           + (parentId.empty() ? std::string() : " " + parentId) + " loads as usual";
}

// The method in a run's newest "compression" artifact; empty when it has none readable.
std::string compressionMethodOf(const std::vector<RunArtifact>& artifacts)
{
    for (auto it = artifacts.rbegin(); it != artifacts.rend(); ++it) {
        if (it->kind != "compression")
            continue;
        std::ifstream in(it->path);
        std::stringstream text;
        text << in.rdbuf();
        const nlohmann::json info = nlohmann::json::parse(text.str(), nullptr, false);
        return info.is_object() && info.contains("method") && info["method"].is_string() ? info["method"].get<std::string>()
                                                                                         : std::string();
    }
    return {};
}

} // namespace

RunModelFile runModelFile(const RunStore& store, const std::string& runIdOrPrefix)
{
    const auto id = store.resolveRunId(runIdOrPrefix);
    if (!id.ok())
        throw std::runtime_error(id.error.message);
    const auto artifacts = store.artifacts(id.value);
    if (!artifacts.ok())
        throw std::runtime_error(artifacts.error.message);
    RunModelFile out;
    for (auto it = artifacts.value.rbegin(); it != artifacts.value.rend(); ++it) {
        if (it->kind != "model")
            continue;
        out.path = it->path;
        break;
    }
    if (out.path.empty())
        return out;
    out.method = compressionMethodOf(artifacts.value);
    if (!std::filesystem::is_regular_file(out.path))
        throw std::runtime_error("run " + id.value + ": its model file " + out.path + " is gone");
    // The header says what the file is; the raw reader checks the whole file on the way.
    const SafetensorsRawContents raw = readSafetensorsRaw(out.path);
    const auto format = raw.metadata.find("format");
    if (format != raw.metadata.end() && format->second == kInt8Format)
        out.kind = ModelFileKind::Int8;
    else if (raw.metadata.count(detail::kSparseMetadataKey))
        out.kind = ModelFileKind::Sparse;
    else
        out.kind = ModelFileKind::Float;
    return out;
}

namespace detail {

std::vector<NamedTensor> weightsOf(torch::nn::Module& model)
{
    std::vector<NamedTensor> out;
    auto add = [&](const std::string& name, const torch::Tensor& value) {
        const torch::Tensor t = value.detach().to(torch::kCPU, torch::kFloat32).contiguous();
        NamedTensor tensor{name, t.sizes().vec(), {}};
        tensor.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
        out.push_back(std::move(tensor));
    };
    for (const auto& p : model.named_parameters())
        add(p.key(), p.value());
    for (const auto& b : model.named_buffers())
        add(b.key(), b.value());
    return out;
}

// Copies plain tensors into a built model by name; every parameter and buffer must be given.
void loadWeightsInto(torch::nn::Module& model, const std::vector<NamedTensor>& tensors)
{
    std::map<std::string, const NamedTensor*> byName;
    for (const NamedTensor& t : tensors)
        byName[t.name] = &t;
    torch::NoGradGuard noGrad;
    auto copy = [&](const std::string& name, torch::Tensor& target) {
        const auto it = byName.find(name);
        if (it == byName.end())
            throw std::runtime_error("weights: no tensor '" + name + "'");
        const NamedTensor& t = *it->second;
        if (t.shape != target.sizes().vec())
            throw std::runtime_error("weights: tensor '" + name + "' has the wrong shape");
        target.copy_(torch::from_blob(const_cast<float*>(t.values.data()), t.shape, torch::kFloat32));
    };
    for (auto& p : model.named_parameters())
        copy(p.key(), p.value());
    for (auto& b : model.named_buffers())
        copy(b.key(), b.value());
}

} // namespace detail

TrainedWeights loadTrainedWeights(const RunStore& store, const std::string& runIdOrPrefix, CheckpointChoice choice)
{
    const auto id = store.resolveRunId(runIdOrPrefix);
    if (!id.ok())
        throw std::runtime_error(id.error.message);
    const auto run = store.getRun(id.value);
    if (!run.ok())
        throw std::runtime_error(run.error.message);
    const ParseResult parsed = parseExperiment(run.value.experimentJson);
    if (!parsed.ok())
        throw std::runtime_error("run " + id.value + ": its stored experiment no longer parses");

    TrainedWeights weights;
    weights.runId = id.value;
    weights.runName = run.value.name;
    weights.interface = interfaceOfRun(run.value, parsed.spec);
    weights.spec = completeForInterface(parsed.spec, weights.interface);
    const PreparedExperiment prepared = preparedFor(weights.spec, "run " + id.value);

    const std::string best = checkpointPathFor(store.path(), id.value, CheckpointKind::Best);
    const std::string latest = checkpointPathFor(store.path(), id.value, CheckpointKind::Latest);
    const bool useBest = choice == CheckpointChoice::Best && std::filesystem::exists(best);
    weights.checkpointPath = useBest ? best : latest;
    if (!std::filesystem::exists(weights.checkpointPath)) {
        const std::string who = "run " + id.value + " (" + run.value.name + ")";
        RunModelFile file;
        try {
            file = runModelFile(store, id.value);
        } catch (const std::exception& e) {
            throw std::runtime_error(who + " has no checkpoint, and its compressed model file cannot be read: " + e.what());
        }
        if (file.kind == ModelFileKind::None)
            throw std::runtime_error(who + " has no checkpoint (looked for " + latest
                                     + "); only runs that wrote a checkpoint can be exported or served");
        const std::string method = file.method.empty() ? std::string() : " (method " + file.method + ")";
        if (file.kind == ModelFileKind::Int8)
            throw std::runtime_error(who + " is a compression result" + method + " whose model file " + file.path
                                     + int8Refusal(id.value, run.value.parentId));
        // A pruned result not fine-tuned: its model file, dense or sparse, with its own experiment.
        SafetensorsContents contents;
        try {
            contents = readSafetensors(file.path);   // sparse files come back dense
        } catch (const SafetensorsError& e) {
            throw std::runtime_error(who + " has no checkpoint, and its model file cannot be read: " + e.what());
        }
        const std::string problems = checkWeightsFit(weights.spec, contents.tensors);
        if (!problems.empty())
            throw std::runtime_error(who + ": its model file " + file.path + " does not fit the run's experiment:\n" + problems);
        weights.checkpointPath.clear();
        weights.modelFilePath = file.path;
        weights.tensors = std::move(contents.tensors);
        return weights;
    }

    // The checkpoint holds the module tree training built; fused and plain builds name every
    // parameter and buffer alike, so either reads it, and the tensors come out the same.
    const bool fused = detail::fusionEnabled();
    for (bool fuse : {fused, !fused}) {
        torch::nn::Sequential model = detail::buildModel(weights.spec.model, prepared.model, fuse);
        try {
            detail::loadCheckpointWeights(weights.checkpointPath, *model, prepared.layoutHash);
        } catch (const std::runtime_error&) {
            if (fuse != fused)
                throw;
            continue;
        }
        weights.tensors = detail::weightsOf(*model);
        return weights;
    }
    throw std::runtime_error(weights.checkpointPath + ": unreadable");
}

std::string checkWeightsFit(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        return prepared.errorText();
    torch::nn::Sequential model = detail::buildModel(spec.model, prepared.experiment.model, false);
    std::map<std::string, const NamedTensor*> given;
    for (const NamedTensor& t : tensors)
        given[t.name] = &t;
    std::ostringstream problems;
    std::set<std::string> expected;
    int count = 0;
    constexpr int kShown = 12;   // the first problems tell what is wrong; the rest are counted
    auto check = [&](const std::string& name, const torch::Tensor& target) {
        expected.insert(name);
        const auto it = given.find(name);
        const bool bad = it == given.end() || it->second->shape != target.sizes().vec();
        if (bad && ++count > kShown)
            return;
        if (it == given.end())
            problems << "tensor '" << name << "' is missing (the model needs " << shapeText(target.sizes().vec()) << ")\n";
        else if (it->second->shape != target.sizes().vec())
            problems << "tensor '" << name << "' has shape " << shapeText(it->second->shape) << ", the model needs "
                     << shapeText(target.sizes().vec()) << "\n";
    };
    for (const auto& p : model->named_parameters())
        check(p.key(), p.value());
    for (const auto& b : model->named_buffers())
        check(b.key(), b.value());
    for (const NamedTensor& t : tensors)
        if (!expected.count(t.name) && ++count <= kShown)
            problems << "tensor '" << t.name << "' is not part of this model\n";
    if (count > kShown)
        problems << "... and " << count - kShown << " more\n";
    std::string text = problems.str();
    if (!text.empty())
        text.pop_back();
    return text;
}

TrainedWeights weightsFromSafetensors(const std::string& path)
{
    SafetensorsContents contents = readSafetensors(path);   // sparse files come back dense
    if (const auto format = contents.metadata.find("format");
        format != contents.metadata.end() && format->second == kInt8Format) {
        const auto run = contents.metadata.find("run");
        const auto parent = contents.metadata.find("parent");
        throw std::runtime_error(path + ": this int8 model file"
                                 + int8Refusal(run == contents.metadata.end() ? "" : run->second,
                                               parent == contents.metadata.end() ? "" : parent->second));
    }
    const auto experiment = contents.metadata.find("experiment");
    const auto interface = contents.metadata.find("interface");
    if (experiment == contents.metadata.end() || interface == contents.metadata.end())
        throw std::runtime_error(path + ": no nnlab experiment and interface in its metadata (export it with "
                                 "`nnlab-cli export RUN --format safetensors`)");
    const ParseResult parsed = parseExperiment(experiment->second);
    if (!parsed.ok())
        throw std::runtime_error(path + ": the experiment in its metadata does not validate");
    TrainedWeights weights;
    try {
        weights.interface = interfaceFromJson(interface->second);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": metadata " + e.what());
    }
    weights.spec = completeForInterface(parsed.spec, weights.interface);
    weights.runName = parsed.spec.name;
    if (const auto run = contents.metadata.find("run"); run != contents.metadata.end())
        weights.runId = run->second;
    const std::string problems = checkWeightsFit(weights.spec, contents.tensors);
    if (!problems.empty())
        throw std::runtime_error(path + ": the weights do not fit the experiment in its metadata:\n" + problems);
    weights.tensors = std::move(contents.tensors);
    return weights;
}

std::vector<WeightsEvaluation> evaluateWeights(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error(prepared.errorText());
    const bool classify = spec.isClassification();
    const DataBundle data = loadData(spec.data, classify, spec.seed);
    const PreparedExperiment fitted = detail::fittedTo(prepared.experiment, data);
    const std::string problems = checkWeightsFit(fitted.spec, tensors);
    if (!problems.empty())
        throw std::runtime_error("the weights do not fit the experiment's model:\n" + problems);
    torch::nn::Sequential model = detail::buildModel(fitted.spec.model, fitted.model);
    detail::loadWeightsInto(*model, tensors);
    const torch::Device cpu(torch::kCPU);
    std::vector<WeightsEvaluation> out;
    const std::pair<const char*, const Dataset*> splits[] = {{"validation", &data.validation}, {"test", &data.test}};
    for (const auto& [name, set] : splits) {
        const detail::TensorSet tensorSet = detail::toTensors(*set, classify, cpu);
        if (tensorSet.empty())
            continue;
        const int64_t batch = std::max<int64_t>(256, spec.training.batchSize);
        const detail::Evaluation e = detail::evaluate(model, tensorSet, batch, classify);
        out.push_back({name, tensorSet.count, e.loss, e.accuracy});
    }
    return out;
}

struct Predictor::Impl {
    ExperimentSpec spec;
    ModelInterface interface;
    torch::nn::Sequential model;
    torch::Tensor shift, scale;   // shaped to broadcast over a batch; undefined when none
    int64_t outputs = 0;
    std::mutex mutex;             // one forward at a time: modules are not promised to be reentrant
};

Predictor::Predictor(const TrainedWeights& weights, int threads) : m_impl(std::make_unique<Impl>())
{
    if (threads > 0)
        torch::set_num_threads(threads);
    m_impl->spec = weights.spec;
    m_impl->interface = weights.interface;
    const PreparedExperiment prepared = preparedFor(weights.spec, weights.runId.empty() ? "weights" : "run " + weights.runId);
    m_impl->model = detail::buildModel(weights.spec.model, prepared.model);
    detail::loadWeightsInto(*m_impl->model, weights.tensors);
    m_impl->model->eval();
    m_impl->outputs = 1;
    for (int64_t d : prepared.model.outputShape)
        m_impl->outputs *= d;
    if (prepared.model.outputShape.empty())
        m_impl->outputs = weights.interface.outputs;
    const ModelInterface& m = weights.interface;
    if (!m.inputShift.empty()) {
        std::vector<int64_t> shape{1, int64_t(m.inputShift.size())};
        if (m.images)
            shape = {1, int64_t(m.inputShift.size()), 1, 1};
        m_impl->shift = torch::tensor(m.inputShift).reshape(shape);
        m_impl->scale = torch::tensor(m.inputScale).reshape(shape);
        if (!m.images && m.sampleShape.size() > 1) {   // per-feature statistics of a [C, L] sample
            std::vector<int64_t> full{1};
            full.insert(full.end(), m.sampleShape.begin(), m.sampleShape.end());
            m_impl->shift = m_impl->shift.reshape(full);
            m_impl->scale = m_impl->scale.reshape(full);
        }
    }
}

Predictor::~Predictor() = default;

const ModelInterface& Predictor::interface() const { return m_impl->interface; }
const ExperimentSpec& Predictor::spec() const { return m_impl->spec; }
int64_t Predictor::outputs() const { return m_impl->outputs; }

std::vector<float> Predictor::predict(const float* raw, int64_t count, PredictOutput output) const
{
    if (count <= 0)
        return {};
    std::vector<int64_t> shape{count};
    shape.insert(shape.end(), m_impl->interface.sampleShape.begin(), m_impl->interface.sampleShape.end());
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    torch::InferenceMode inference;
    torch::Tensor x = torch::from_blob(const_cast<float*>(raw), shape, torch::kFloat32);
    if (m_impl->shift.defined())
        x = (x - m_impl->shift) / m_impl->scale;
    else
        x = x.clone();
    torch::Tensor y = m_impl->model->forward(x);
    if (output == PredictOutput::Probabilities && m_impl->interface.classification())
        y = torch::softmax(y, 1);
    y = y.reshape({count, -1}).contiguous().to(torch::kFloat32);
    return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
}

} // namespace nnlab
