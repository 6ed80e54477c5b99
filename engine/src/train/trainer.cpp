#include "nnlab/trainer.h"

#include "builder.h"
#include "checkpoint.h"
#include "device.h"
#include "flat_optim.h"
#include "optim.h"
#include "session.h"
#include "tuning.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace nnlab {

void TrainControl::pause() { m_paused = true; }

void TrainControl::resume()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_paused = false;
    m_wake.notify_all();
}

void TrainControl::cancel()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_cancelled = true;
    m_wake.notify_all();
}

bool TrainControl::checkpoint()
{
    if (m_paused.load()) {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_wake.wait(lock, [this] { return !m_paused.load() || m_cancelled.load(); });
    }
    return !m_cancelled.load();
}

const char* toString(TrainStatus status)
{
    switch (status) {
    case TrainStatus::Finished: return "finished";
    case TrainStatus::Cancelled: return "cancelled";
    case TrainStatus::Failed: return "failed";
    }
    return "failed";
}

namespace {

using namespace nnlab::detail;
using Clock = std::chrono::steady_clock;

// Identifies the network and optimizer a checkpoint belongs to (FNV-1a over the layout).
uint64_t layoutHash(const ExperimentSpec& spec)
{
    Problems ignored;
    std::string text = spec.optimizer.type + spec.loss;
    for (const auto& row : inspectModel(spec.model, ignored).layers)
        text += row.name + row.type + shapeText(row.outputShape) + std::to_string(row.parameters);
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text)
        h = (h ^ c) * 1099511628211ull;
    return h & 0x7fffffffffffffffull;
}

bool hasLayer(const std::vector<LayerSpec>& layers, const std::string& type)
{
    for (const auto& l : layers)
        if (l.type == type || hasLayer(l.layers, type))
            return true;
    return false;
}

// Seeds that depend only on (seed, epoch) or (seed, step), so a resumed run draws the same
// shuffles and dropout masks as an uninterrupted one.
uint64_t mix(uint64_t seed, uint64_t n) { return (seed + 1) * 0x9E3779B97F4A7C15ull ^ (n * 0xBF58476D1CE4E5B9ull); }

void checkDataFits(const ExperimentSpec& spec, const DataBundle& data, const Shape& output)
{
    if (data.train.count() == 0)
        throw std::runtime_error("data: the training split is empty; raise data.train_limit or lower data.validation_fraction");
    if (data.train.sampleShape != spec.model.input)
        throw std::runtime_error("model.input: " + shapeText(spec.model.input) + " does not match the data's samples "
                                 + shapeText(data.train.sampleShape));
    if (spec.isClassification() && output != Shape{data.numClasses})
        throw std::runtime_error("model.layers: the model outputs " + shapeText(output) + " but the data has "
                                 + std::to_string(data.numClasses) + " classes");
    if (!spec.isClassification() && output != Shape{data.train.targetDim})
        throw std::runtime_error("model.layers: the model outputs " + shapeText(output) + " but the data has "
                                 + std::to_string(data.train.targetDim) + " regression target(s)");
}

TrainResult run(const ExperimentSpec& spec, const DataBundle& data, TrainControl& control,
                const TrainCallbacks& callbacks, const TrainOptions& options)
{
    const bool classify = spec.isClassification();
    const torch::Device device = selectDevice(spec.training.device);
    Problems problems;
    const ModelInfo info = inspectModel(spec.model, problems);
    if (!problems.empty())
        throw std::runtime_error(problems.front().text());
    checkDataFits(spec, data, info.outputShape);

    torch::manual_seed(spec.seed);
    torch::nn::Sequential model = buildModel(spec.model);
    model->to(device);
    const TensorSet train = toTensors(data.train, classify, device);
    const TensorSet val = toTensors(data.validation, classify, device);
    const TensorSet test = toTensors(data.test, classify, device);
    const int64_t batch = spec.training.batchSize;
    const int64_t stepsPerEpoch = (train.count + batch - 1) / batch;
    const int64_t totalSteps = stepsPerEpoch * spec.training.epochs;
    const int64_t evalBatch = spec.training.evalBatchSize > 0 ? spec.training.evalBatchSize : batch;

    const Execution execution = tuneExecution(spec, model, train, device);
    auto optimizer = makeOptimizer(spec.optimizer, model->parameters());   // the checkpoint format
    int64_t step = 0;
    if (!options.resumeFrom.empty()) {
        step = loadCheckpoint(options.resumeFrom, *model, *optimizer, layoutHash(spec));
        applyExecution(execution, model);   // the weights came back in the layout they were saved in
    }
    FlatOptimizer flat(spec.optimizer, model->parameters());
    flat.importState(*optimizer);
    ThreadGuard threadGuard(execution, spec.training.threads <= 0);
    const bool randomLayers = hasLayer(spec.model.layers, "dropout");
    if (callbacks.started)
        callbacks.started({device.str(), execution.threads, execution.description, info.parameters, stepsPerEpoch,
                           totalSteps, step, data.description});

    Reporter report(callbacks, options.reportInterval);
    auto lastCheckpoint = Clock::time_point{};
    const auto saveCheckpoint = [&](bool always) {
        const bool due = lastCheckpoint == Clock::time_point{}
                         || std::chrono::duration<double>(Clock::now() - lastCheckpoint).count() >= options.checkpointMinSeconds;
        if (options.checkpointPath.empty() || !(always || due))
            return;
        flat.exportState(*optimizer);
        detail::saveCheckpoint(options.checkpointPath, *model, *optimizer, step, layoutHash(spec));
        lastCheckpoint = Clock::now();
        report.event("checkpoint", options.checkpointPath);
    };
    const auto started = Clock::now();
    auto windowStart = started;
    torch::Tensor lossSum = torch::zeros({}, device), correct = torch::zeros({}, torch::TensorOptions(torch::kInt64).device(device));
    int64_t windowSamples = 0, windowSteps = 0, trainedSamples = 0;
    double trainSeconds = 0.0;
    const auto throughput = [&] { return trainSeconds > 0 ? static_cast<double>(trainedSamples) / trainSeconds : 0.0; };
    Progress progress{0, spec.training.epochs, step, totalSteps, 0.0, 0.0, 0.0, classify ? 0.0 : -1.0};
    model->train();
    // NNLAB_PROFILE=FILE writes a Chrome trace of every operator of the training loop (a
    // developer aid for the speed work: tests/bench/README.md).
    std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
    if (const char* path = std::getenv("NNLAB_PROFILE"); path && *path)
        profile = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(path));

    for (int64_t epoch = step / stepsPerEpoch; epoch < spec.training.epochs; ++epoch) {
        torch::manual_seed(mix(spec.seed, static_cast<uint64_t>(epoch)));
        const torch::Tensor order = spec.data.shuffle ? torch::randperm(train.count, torch::TensorOptions(torch::kInt64).device(device))
                                                      : torch::arange(train.count, torch::TensorOptions(torch::kInt64).device(device));
        progress.epoch = epoch + 1;
        for (int64_t b = step - epoch * stepsPerEpoch; b < stepsPerEpoch; ++b) {
            if (control.isPaused()) {
                report.progress(progress, true);
                report.event("paused", "step " + std::to_string(step));
            }
            const bool wasPaused = control.isPaused();
            const auto waitStart = Clock::now();
            if (!control.checkpoint()) {
                saveCheckpoint(true);
                report.flush();
                return {TrainStatus::Cancelled, "cancelled at step " + std::to_string(step), step, 0.0, throughput(), report.last()};
            }
            if (wasPaused) {
                windowStart += Clock::now() - waitStart;   // paused time is not training time
                report.event("resumed", "step " + std::to_string(step));
            }

            const torch::Tensor idx = order.slice(0, b * batch, std::min((b + 1) * batch, train.count));
            const torch::Tensor x = toExecutionFormat(train.x.index_select(0, idx), execution), y = train.y.index_select(0, idx);
            const double lr = learningRateAt(spec.schedule, spec.optimizer.lr, step, totalSteps, stepsPerEpoch);
            if (randomLayers)   // dropout masks depend only on (seed, step), so a resumed run replays them
                torch::manual_seed(mix(spec.seed ^ 0x5EEDull, static_cast<uint64_t>(step)));
            flat.zeroGrad();
            const torch::Tensor out = model->forward(x);
            const torch::Tensor loss = lossFunction(out, y, classify);
            loss.backward();
            torch::Tensor gradNorm;
            if (spec.training.gradClipValue > 0)
                flat.clipGradValue(spec.training.gradClipValue);
            if (spec.training.gradClipNorm > 0)
                gradNorm = flat.clipGradNorm(spec.training.gradClipNorm);
            flat.step(lr);
            ++step;
            lossSum.add_(loss.detach(), x.size(0));
            if (classify)
                correct.add_(out.argmax(1).eq(y).sum());
            windowSamples += x.size(0);
            ++windowSteps;

            if (step % spec.training.logEverySteps == 0 || b + 1 == stepsPerEpoch) {
                // The only reads of tensor values in the step loop: once per logging window.
                const double meanLoss = lossSum.item<double>() / static_cast<double>(windowSamples);
                if (!std::isfinite(meanLoss))
                    throw std::runtime_error("the training loss became " + std::string(std::isnan(meanLoss) ? "NaN" : "infinite")
                                             + " at step " + std::to_string(step) + " (epoch " + std::to_string(epoch + 1)
                                             + "); lower optimizer.lr or set training.grad_clip_norm");
                const double seconds = std::chrono::duration<double>(Clock::now() - windowStart).count();
                if (const std::string slow = threadGuard.check(windowSteps, seconds); !slow.empty())
                    report.event("threads", slow);
                trainSeconds += seconds;
                trainedSamples += windowSamples;
                progress.samplesPerSec = static_cast<double>(windowSamples) / std::max(seconds, 1e-9);
                progress.loss = meanLoss;
                report.add("train/loss", step, meanLoss);
                if (classify) {
                    progress.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(windowSamples);
                    report.add("train/accuracy", step, progress.accuracy);
                }
                report.add("lr", step, lr);
                report.add("grad_norm", step, (gradNorm.defined() ? gradNorm : flat.gradNorm()).item<double>());
                report.add("samples_per_sec", step, progress.samplesPerSec);
                progress.step = step;
                progress.etaSeconds = static_cast<double>(totalSteps - step) * seconds / static_cast<double>(windowSteps);
                report.progress(progress);
                lossSum.zero_();
                correct.zero_();
                windowSamples = windowSteps = 0;
                windowStart = Clock::now();
            }
            if (options.checkpointEverySteps > 0 && step % options.checkpointEverySteps == 0 && b + 1 < stepsPerEpoch)
                saveCheckpoint(true);
        }
        const Evaluation v = evaluate(model, val, evalBatch, classify);
        if (!val.empty()) {
            report.add("val/loss", step, v.loss);
            if (classify)
                report.add("val/accuracy", step, v.accuracy);
        }
        report.event("epoch", std::to_string(epoch + 1));
        saveCheckpoint(epoch + 1 == spec.training.epochs);
        report.progress(progress, true);
        windowStart = Clock::now();   // evaluation is not training time
    }
    if (!test.empty()) {
        const Evaluation t = evaluate(model, test, evalBatch, classify);
        report.add("test/loss", step, t.loss);
        if (classify)
            report.add("test/accuracy", step, t.accuracy);
    }
    report.flush();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return {TrainStatus::Finished, {}, step, seconds, throughput(), report.last()};
}

} // namespace

TrainResult train(const ExperimentSpec& spec, const DataBundle& data, TrainControl& control,
                  const TrainCallbacks& callbacks, const TrainOptions& options)
{
    const auto started = std::chrono::steady_clock::now();
    TrainResult result;
    try {
        result = run(spec, data, control, callbacks, options);
    } catch (const c10::Error& e) {
        result.status = TrainStatus::Failed;
        result.message = std::string("LibTorch: ") + e.what_without_backtrace();
    } catch (const std::bad_alloc&) {
        result.status = TrainStatus::Failed;
        result.message = "out of memory; lower training.batch_size or the model size";
    } catch (const std::exception& e) {
        result.status = TrainStatus::Failed;
        result.message = e.what();
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace nnlab
