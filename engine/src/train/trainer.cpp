#include "nnlab/trainer.h"

#include "builder.h"
#include "data_parallel.h"
#include "device.h"
#include "inspect_hook.h"
#include "monitor_hook.h"
#include "nnlab/model_interface.h"
#include "nnlab/trained_model.h"
#include "weights_io.h"
#include "train_pieces.h"

#include <ATen/Context.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace nnlab {

namespace {

using namespace nnlab::detail;

bool hasLayer(const std::vector<LayerSpec>& layers, const std::string& type)
{
    for (const auto& l : layers)
        if (l.type == type || hasLayer(l.layers, type))
            return true;
    return false;
}

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// training.deterministic: LibTorch's deterministic algorithms for the run, restored after.
class DeterministicScope {
public:
    explicit DeterministicScope(bool on)
        : m_before(at::globalContext().deterministicAlgorithms()),
          m_warnOnlyBefore(at::globalContext().deterministicAlgorithmsWarnOnly())
    {
        if (on)   // warn only: LibTorch's CPU kernels are deterministic at a fixed thread count
            at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
    }
    ~DeterministicScope() { at::globalContext().setDeterministicAlgorithms(m_before, m_warnOnlyBefore); }

private:
    bool m_before;
    bool m_warnOnlyBefore;
};

// One run: everything set up once in the constructor; run() is the loop.
class Trainer {
public:
    Trainer(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
            const TrainCallbacks& callbacks, const TrainOptions& options);
    TrainResult run();

private:
    TrainInfo info() const;
    void loadInitialWeights(const std::string& path);
    void trainStep();
    void endEpoch();
    struct Stop {
        TrainStatus status;
        std::string message;
    };
    std::optional<Stop> actOnRequests();
    TrainResult stopEveryone(TrainStatus status, const std::string& message);
    TrainResult end(TrainStatus status, const std::string& message);
    bool leader() const { return !m_parallel || m_parallel->leader(); }
    template <typename Call> void eachHook(Call call) { for (auto& hook : m_hooks) call(*hook); }
    int64_t evalBatchSize() const
    {
        return m_spec.training.evalBatchSize > 0 ? m_spec.training.evalBatchSize : m_spec.training.batchSize;
    }

    const PreparedExperiment& m_experiment;
    const ExperimentSpec& m_spec;
    const DataBundle& m_data;
    const TrainCallbacks& m_callbacks;
    const bool m_classify;
    const DeterministicScope m_deterministic;
    const torch::Device m_device;
    torch::nn::Sequential m_model;
    const TensorSet m_train, m_validation, m_test;
    const Execution m_execution;
    FlatOptimizer m_optimizer;
    ThreadGuard m_threadGuard;
    Reporter m_report;
    TrainState m_state;
    Progress m_progress;
    TrainRequests m_requests;
    PauseGate m_pause;
    Batches m_batches;
    std::shared_ptr<WindowStats> m_stats;
    std::shared_ptr<CheckpointPolicy> m_checkpoints;
    std::vector<std::shared_ptr<TrainHook>> m_hooks;   // m_stats, TrainOptions::hooks, m_checkpoints
    const bool m_randomLayers;
    std::unique_ptr<DataParallel> m_parallel;          // data-parallel runs only
    const Clock::time_point m_started = Clock::now();
};

torch::nn::Sequential seededModel(const PreparedExperiment& e, const torch::Device& device)
{
    // LibTorch's modules draw their initial weights from the process-wide generator: trainers
    // in threads of one process (a sweep's trials) seed and build one at a time, so each gets
    // exactly its seed's weights.
    static std::mutex initialization;
    std::lock_guard<std::mutex> lock(initialization);
    torch::manual_seed(e.spec.seed);
    torch::nn::Sequential model = buildModel(e.spec.model, e.model);
    model->to(device);
    return model;
}

Trainer::Trainer(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
                 const TrainCallbacks& callbacks, const TrainOptions& options)
    : m_experiment(experiment), m_spec(experiment.spec), m_data(data), m_callbacks(callbacks),
      m_classify(m_spec.isClassification()), m_deterministic(m_spec.training.deterministic),
      m_device(selectDevice(m_spec.training.device)), m_model(seededModel(experiment, m_device)),
      m_train(toTensors(data.train, m_classify, m_device)), m_validation(toTensors(data.validation, m_classify, m_device)),
      m_test(toTensors(data.test, m_classify, m_device)), m_execution(tuneExecution(m_spec, m_model, m_train, m_device)),
      m_optimizer(m_spec.optimizer, m_model->parameters()),
      m_threadGuard(m_execution, m_spec.training.threads <= 0 && !m_spec.training.deterministic),
      m_report(callbacks, options.reportInterval), m_pause(control, m_report),
      m_batches(m_train, m_spec, m_execution, m_device, options.distributed.rank, options.distributed.worldSize),
      m_randomLayers(hasLayer(m_spec.model.layers, "dropout"))
{
    m_state.stepsPerEpoch = (m_train.count + m_spec.training.batchSize - 1) / m_spec.training.batchSize;
    m_state.totalSteps = m_state.stepsPerEpoch * m_spec.training.epochs;
    m_stats = std::make_shared<WindowStats>(m_spec, m_report, m_threadGuard, m_progress);
    m_checkpoints = std::make_shared<CheckpointPolicy>(experiment, options, m_model, m_optimizer, m_execution, m_report);
    // Statistics first (hooks read what it reported), checkpoints last (a hook that asks
    // for a rollback keeps the state it rejects out of the checkpoint).
    m_hooks.push_back(m_stats);
    m_hooks.push_back(std::make_shared<MonitorHook>(m_spec.monitors, m_report, [this] { return m_checkpoints->canRollBack(); }));
    if (InspectHook::wanted(m_spec, data))   // spec.inspect: layer statistics, snapshots
        m_hooks.push_back(std::make_shared<InspectHook>(m_spec, m_model, m_train, data, m_report));
    m_hooks.insert(m_hooks.end(), options.hooks.begin(), options.hooks.end());
    m_hooks.push_back(m_checkpoints);
    m_report.setListener([this](const MetricPoint& point) {
        eachHook([&](TrainHook& h) { h.metricReported(m_state, point, m_requests); });
    });
    if (!options.initWeights.empty() && options.resumeFrom.empty())
        loadInitialWeights(options.initWeights);
    if (!options.resumeFrom.empty()) {
        const CheckpointState restored = m_checkpoints->restore(options.resumeFrom);
        m_state.step = restored.step;
        m_state.lrScale = restored.lrScale;
    }
    if (options.distributed.active()) {
        m_parallel = std::make_unique<DataParallel>(options.distributed, m_spec.training.logEverySteps, m_report);
        m_parallel->syncState(*m_model, m_optimizer, m_state);
        if (!m_parallel->leader())
            m_hooks = {m_stats};   // rank 0 alone checks, checkpoints and decides
    }
    m_progress.epochs = m_spec.training.epochs;
    m_progress.totalSteps = m_state.totalSteps;
    m_progress.step = m_state.step;
    m_progress.accuracy = m_classify ? 0.0 : -1.0;
}

// The loop. Everything else is a named piece: the pause gate, the batches, the step, the
// epoch's end, and the hooks (window statistics, TrainOptions::hooks, checkpoints).
TrainResult Trainer::run()
{
    const ProfileScope profile;
    if (m_callbacks.started)
        m_callbacks.started(info());
    eachHook([&](TrainHook& h) { h.started(m_state); });
    m_model->train();

    while (m_state.step < m_state.totalSteps) {
        if (!m_pause.waitWhilePaused(m_state, m_progress))
            return stopEveryone(TrainStatus::Cancelled, "cancelled at step " + std::to_string(m_state.step));
        if (m_parallel)
            if (const auto ended = m_parallel->control(m_state))
                return end(*ended, "ended by rank 0 at step " + std::to_string(m_state.step));
        trainStep();
        if (m_state.step % m_state.stepsPerEpoch == 0 && !m_requests.rollingBack() && leader())
            endEpoch();
        if (const auto stopped = actOnRequests())
            return stopEveryone(stopped->status, stopped->message);
        m_checkpoints->commit(m_state);   // after the requests: a state a hook rejected is never saved
    }
    return end(TrainStatus::Finished, {});
}

// Fine-tuning: weights from an exported safetensors file, checked against this network.
void Trainer::loadInitialWeights(const std::string& path)
{
    const SafetensorsContents file = readSafetensors(path);
    const std::string problems = checkWeightsFit(m_spec, file.tensors);
    if (!problems.empty())
        throw std::runtime_error("initial weights " + path + " do not fit this model:\n" + problems);
    detail::loadWeightsInto(*m_model, file.tensors);
    m_optimizer.repack();   // the parameters' values changed under the flat optimizer's views
    m_report.event(EventKind::Note, 0, "initialized from " + path);
}

// What the run tells about itself before its first step.
TrainInfo Trainer::info() const
{
    TrainInfo info;
    info.device = m_device.str();
    info.threads = m_execution.threads;
    info.threadChoice = m_execution.description;
    info.parameters = m_experiment.model.parameters;
    info.stepsPerEpoch = m_state.stepsPerEpoch;
    info.totalSteps = m_state.totalSteps;
    info.startStep = m_state.step;
    info.dataDescription = m_data.description;
    info.interfaceJson = interfaceToJson(interfaceOf(m_data));
    info.workers = m_parallel ? m_parallel->workers() : 1;
    return info;
}

// One optimizer step on the next batch, then the afterStep hooks.
void Trainer::trainStep()
{
    const auto started = Clock::now();
    const Batches::Batch batch = m_batches.forStep(m_state.step);
    m_state.lr = m_state.lrScale * learningRateAt(m_spec.schedule, m_spec.optimizer.lr, m_state.step,
                                                  m_state.totalSteps, m_state.stepsPerEpoch);
    if (m_randomLayers)   // dropout masks depend only on (seed, step), so a resumed run replays them
        torch::manual_seed(mixSeed(m_spec.seed ^ 0x5EEDull, static_cast<uint64_t>(m_state.step)));
    m_optimizer.zeroGrad();
    const torch::Tensor output = m_model->forward(batch.x);
    torch::Tensor loss = lossFunction(output, batch.y, m_classify);
    eachHook([&](TrainHook& h) {   // a hook may minimize another loss (distillation)
        if (torch::Tensor other = h.lossFor(LossView{m_state, batch.x, batch.y, output, loss, m_report}); other.defined())
            loss = std::move(other);
    });
    loss.backward();
    const torch::Tensor workerTotals =
        m_parallel ? m_parallel->afterBackward(m_optimizer, loss, output, batch.y, m_classify, m_state) : torch::Tensor();
    torch::Tensor gradNorm;
    if (m_spec.training.gradClipValue > 0)
        m_optimizer.clipGradValue(m_spec.training.gradClipValue);
    if (m_spec.training.gradClipNorm > 0)
        gradNorm = m_optimizer.clipGradNorm(m_spec.training.gradClipNorm);
    m_optimizer.step(m_state.lr);
    ++m_state.step;
    const StepView view{/*state*/ m_state,     /*input*/ batch.x,         /*target*/ batch.y,
                        /*output*/ output,     /*loss*/ loss,             /*gradNorm*/ gradNorm,
                        /*seconds*/ secondsSince(started), /*workerTotals*/ workerTotals,
                        /*model*/ m_model, /*optimizer*/ m_optimizer};
    eachHook([&](TrainHook& h) { h.afterStep(view, m_requests); });
}

// Validation, the afterEvaluation and atEpochEnd hooks, and the epoch on the timeline.
void Trainer::endEpoch()
{
    const int64_t epoch = m_state.step / m_state.stepsPerEpoch;
    const EvalView view{m_state, !m_validation.empty(),
                        evaluate(m_model, m_validation, evalBatchSize(), m_classify)};
    eachHook([&](TrainHook& h) { h.afterEvaluation(view, m_requests); });
    m_report.event(EventKind::Epoch, m_state.step, std::to_string(epoch));
    eachHook([&](TrainHook& h) { h.atEpochEnd(m_state, epoch, m_requests); });
    m_report.progress(m_progress, true);
}

// Acts on what hooks asked: roll back, change the learning rate, stop (how, then).
std::optional<Trainer::Stop> Trainer::actOnRequests()
{
    if (m_requests.empty())
        return std::nullopt;
    if (const auto why = m_requests.takeRollback()) {
        const int64_t from = m_state.step;
        // The weights and the step come back; the learning-rate scale in use stays (a rule
        // that rolls back usually lowers it too, and rolling back to the same checkpoint
        // again must not undo that, or a deterministic run replays the same divergence).
        m_state.step = m_checkpoints->rollBack().step;
        m_report.event(EventKind::Rollback, m_state.step, "step " + std::to_string(from) + " -> " + std::to_string(m_state.step) + ": " + *why);
        eachHook([&](TrainHook& h) { h.rolledBack(m_state, *why); });
    }
    if (const auto change = m_requests.takeLearningRate()) {
        m_state.lrScale *= change->first;
        m_report.event(EventKind::LearningRate, m_state.step, "x" + std::to_string(change->first) + ": " + change->second);
        eachHook([&](TrainHook& h) { h.learningRateChanged(m_state, change->first, change->second); });
    }
    if (const auto why = m_requests.takeStop()) {
        const StopKind kind = m_requests.stopKind();
        m_report.event(EventKind::Stop, m_state.step, *why);
        std::string message = "stopped at step " + std::to_string(m_state.step) + ": " + *why;
        if (kind == StopKind::FinishedBest) {
            if (const auto best = m_checkpoints->restoreBest(m_state)) {
                message += "; the weights of step " + std::to_string(*best) + " (the best checkpoint) restored";
                // The restored weights' numbers are the run's final ones.
                const EvalView view{m_state, !m_validation.empty(), evaluate(m_model, m_validation, evalBatchSize(), m_classify)};
                m_stats->afterEvaluation(view, m_requests);
            }
        }
        if (kind == StopKind::Failed)
            return Stop{TrainStatus::Failed, *why};
        return Stop{TrainStatus::Finished, message};
    }
    return std::nullopt;
}

// Rank 0 (or a single process) ends the run; data-parallel workers are told first.
TrainResult Trainer::stopEveryone(TrainStatus status, const std::string& message)
{
    if (m_parallel)
        m_parallel->announceStop(status);
    return end(status, message);
}

TrainResult Trainer::end(TrainStatus status, const std::string& message)
{
    // Rank 0 (or a single process) checkpoints, evaluates and reports; a data-parallel worker
    // has nothing of its own to add.
    if (leader() && status != TrainStatus::Failed) {
        m_checkpoints->commit(m_state);
        eachHook([&](TrainHook& h) { h.ending(m_state, status); });
    }
    if (leader() && status == TrainStatus::Finished && !m_test.empty()) {
        const Evaluation t = evaluate(m_model, m_test, evalBatchSize(), m_classify);
        m_report.add("test/loss", m_state.step, t.loss);
        if (m_classify)
            m_report.add("test/accuracy", m_state.step, t.accuracy);
    }
    m_report.flush();
    TrainResult result;
    result.status = status;
    result.message = message;
    result.steps = m_state.step;
    result.seconds = secondsSince(m_started);
    result.samplesPerSec = m_stats->samplesPerSec();
    result.finalMetrics = m_report.last();
    return result;
}

} // namespace

TrainResult train(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
                  const TrainCallbacks& callbacks, const TrainOptions& options)
{
    const auto started = std::chrono::steady_clock::now();
    TrainResult result;
    bool workerLost = false;
    const std::string failure = failureOf([&] {
        try {
            const PreparedExperiment fitted = fittedTo(experiment, data);
            Trainer trainer(fitted, data, control, callbacks, options);
            result = trainer.run();
        } catch (const WorkerLost&) {
            workerLost = true;
            throw;
        }
    });
    if (!failure.empty()) {
        result.status = TrainStatus::Failed;
        result.message = failure;
        result.workerLost = workerLost;
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace nnlab
