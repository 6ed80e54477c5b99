#include "train_pieces.h"

#include "nnlab/store.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace nnlab::detail {

uint64_t mixSeed(uint64_t seed, uint64_t n) { return (seed + 1) * 0x9E3779B97F4A7C15ull ^ (n * 0xBF58476D1CE4E5B9ull); }

bool PauseGate::waitWhilePaused(const TrainState& state, const Progress& progress)
{
    if (!m_control.isPaused())
        return !m_control.isCancelled();
    m_report.progress(progress, true);
    m_report.event(EventKind::Paused, state.step, "step " + std::to_string(state.step));
    if (!m_control.waitWhilePaused())
        return false;
    m_report.event(EventKind::Resumed, state.step, "step " + std::to_string(state.step));
    return true;
}

Batches::Batches(const TensorSet& train, const ExperimentSpec& spec, const Execution& execution, const torch::Device& device,
                 int shard, int shards)
    : m_train(train), m_execution(execution), m_device(device), m_seed(spec.seed), m_shuffle(spec.data.shuffle),
      m_batch(spec.training.batchSize), m_stepsPerEpoch((train.count + spec.training.batchSize - 1) / spec.training.batchSize),
      m_shard(shard), m_shards(shards)
{
}

Batches::Batch Batches::forStep(int64_t step)
{
    const int64_t epoch = step / m_stepsPerEpoch;
    if (epoch != m_epoch) {
        // A generator of its own (seeded per epoch), not the process-wide one: the order does
        // not depend on what else draws random numbers, in this thread or another.
        const auto options = torch::TensorOptions(torch::kInt64);
        auto generator = at::detail::createCPUGenerator(mixSeed(m_seed, static_cast<uint64_t>(epoch)));
        m_order = (m_shuffle ? torch::randperm(m_train.count, generator, options) : torch::arange(m_train.count, options))
                      .to(m_device);
        m_epoch = epoch;
    }
    const int64_t b = step - epoch * m_stepsPerEpoch;
    const int64_t begin = b * m_batch;
    const int64_t size = std::min((b + 1) * m_batch, m_train.count) - begin;
    const torch::Tensor idx = m_order.slice(0, begin + size * m_shard / m_shards, begin + size * (m_shard + 1) / m_shards);
    return {toExecutionFormat(m_train.x.index_select(0, idx), m_execution), m_train.y.index_select(0, idx)};
}

WindowStats::WindowStats(const ExperimentSpec& spec, Reporter& report, ThreadGuard& guard, Progress& progress)
    : m_spec(spec), m_report(report), m_guard(guard), m_progress(progress)
{
}

void WindowStats::reset()
{
    m_lossSum = torch::Tensor();
    m_correct = torch::Tensor();
    m_samples = m_steps = 0;
    m_seconds = 0.0;
}

void WindowStats::afterStep(const StepView& step, TrainRequests&)
{
    const bool classify = m_spec.isClassification();
    int64_t n = step.input.size(0);
    if (!m_lossSum.defined()) {
        m_lossSum = torch::zeros({}, step.loss.options());
        m_correct = torch::zeros({}, torch::TensorOptions(torch::kInt64).device(step.loss.device()));
    }
    if (step.workerTotals.defined()) {   // data-parallel: the sums over every worker's shard
        const auto totals = step.workerTotals.accessor<double, 1>();
        n = static_cast<int64_t>(totals[2]);
        m_lossSum.add_(totals[0]);
        if (classify)
            m_correct.add_(static_cast<int64_t>(totals[1]));
    } else {
        m_lossSum.add_(step.loss.detach(), n);
        if (classify)
            m_correct.add_(step.output.argmax(1).eq(step.target).sum());
    }
    m_samples += n;
    ++m_steps;
    m_seconds += step.seconds;
    const TrainState& state = step.state;
    // A window ends every training.log_every_steps steps and at each epoch's end, except
    // that a short tail (under half a window since the last report) runs on into the next
    // window: the mean of one or two small batches is noise that monitor rules would act on.
    const int64_t every = m_spec.training.logEverySteps;
    const bool epochEnd = state.step % state.stepsPerEpoch == 0;
    const bool shortTail = m_steps * 2 < every && state.step < state.totalSteps;
    if (state.step % every != 0 && (!epochEnd || shortTail))
        return;

    // The window's reads of tensor values: once per logging window (a not_finite rule on
    // train/loss also reads each step's loss). A non-finite loss is reported as it is: the
    // monitor rules decide what happens (monitor_hook.h).
    const double meanLoss = m_lossSum.item<double>() / static_cast<double>(m_samples);
    if (const std::string slow = m_guard.check(m_steps, m_seconds); !slow.empty())
        m_report.event(EventKind::Threads, state.step, slow);
    m_trainSeconds += m_seconds;
    m_trainedSamples += m_samples;
    m_progress.samplesPerSec = static_cast<double>(m_samples) / std::max(m_seconds, 1e-9);
    m_progress.loss = meanLoss;
    m_report.add("train/loss", state.step, meanLoss);
    if (classify) {
        m_progress.accuracy = static_cast<double>(m_correct.item<int64_t>()) / static_cast<double>(m_samples);
        m_report.add("train/accuracy", state.step, m_progress.accuracy);
    }
    m_report.add("lr", state.step, state.lr);
    m_report.add("grad_norm", state.step, (step.gradNorm.defined() ? step.gradNorm : step.optimizer.gradNorm()).item<double>());
    m_report.add("samples_per_sec", state.step, m_progress.samplesPerSec);
    m_report.add("step_time", state.step, m_seconds / static_cast<double>(m_steps));
    m_progress.step = state.step;
    m_progress.epoch = (state.step - 1) / state.stepsPerEpoch + 1;
    m_progress.etaSeconds = static_cast<double>(state.totalSteps - state.step) * m_seconds / static_cast<double>(m_steps);
    m_report.progress(m_progress);
    reset();
}

void WindowStats::afterEvaluation(const EvalView& eval, TrainRequests&)
{
    if (!eval.hasValidation)
        return;
    m_report.add("val/loss", eval.state.step, eval.validation.loss);
    if (m_spec.isClassification())
        m_report.add("val/accuracy", eval.state.step, eval.validation.accuracy);
}

CheckpointPolicy::CheckpointPolicy(const PreparedExperiment& experiment, const TrainOptions& options,
                                   torch::nn::Sequential& model, FlatOptimizer& optimizer, const Execution& execution,
                                   Reporter& report)
    : m_experiment(experiment), m_options(options), m_model(model), m_optimizer(optimizer), m_execution(execution),
      m_report(report)
{
    const std::string& metric = experiment.spec.training.bestMetric;
    if (!options.bestCheckpointPath.empty() && metric != "none") {
        m_bestMetric = metric != "auto" ? metric : experiment.spec.isClassification() ? "val/accuracy" : "val/loss";
        m_higherIsBetter = metricDirection(m_bestMetric) > 0;
    }
}

CheckpointState CheckpointPolicy::load(const std::string& path)
{
    // The weights come back in the memory format they were saved in: apply this run's.
    return loadCheckpoint(path, *m_model, m_optimizer, m_experiment.layoutHash, [&] { applyLayout(m_execution, m_model); });
}

CheckpointState CheckpointPolicy::restore(const std::string& path)
{
    const CheckpointState state = load(path);
    m_bestValue = state.bestValue;
    m_lastSave = Clock::now();
    m_lastSavedStep = state.step;
    return state;
}

CheckpointState CheckpointPolicy::rollBack()
{
    if (m_options.checkpointPath.empty() || m_lastSavedStep < 0)
        throw std::runtime_error("cannot roll back: no checkpoint has been written yet");
    const double best = m_bestValue;   // the best so far stays the best: the checkpoint's may lag it
    const CheckpointState state = restore(m_options.checkpointPath);
    m_bestValue = best;
    return state;
}

std::optional<int64_t> CheckpointPolicy::restoreBest(const TrainState& state)
{
    if (m_bestMetric.empty() || std::isnan(m_bestValue))
        return std::nullopt;
    const CheckpointState best = load(m_options.bestCheckpointPath);
    m_lastSavedStep = state.step;   // the latest checkpoint keeps the state it had when the run stopped
    m_saveDue = m_bestDue = false;
    return best.step;
}

void CheckpointPolicy::save(const std::string& path, EventKind kind, const TrainState& state)
{
    saveCheckpoint(path, *m_model, m_optimizer, {state.step, state.lrScale, m_bestValue}, m_experiment.layoutHash);
    m_report.event(kind, state.step, path);
}

void CheckpointPolicy::saveLatest(const TrainState& state)
{
    m_saveDue = false;
    if (m_options.checkpointPath.empty() || state.step == m_lastSavedStep)
        return;
    save(m_options.checkpointPath, EventKind::Checkpoint, state);
    m_lastSave = Clock::now();
    m_lastSavedStep = state.step;
}

void CheckpointPolicy::commit(const TrainState& state)
{
    if (m_bestDue) {
        m_bestDue = false;
        save(m_options.bestCheckpointPath, EventKind::BestCheckpoint, state);
    }
    if (m_saveDue)
        saveLatest(state);
}

void CheckpointPolicy::afterStep(const StepView& step, TrainRequests&)
{
    const TrainingSpec& t = m_experiment.spec.training;
    const bool bySteps = t.checkpointEverySteps > 0 && step.state.step % t.checkpointEverySteps == 0;
    const bool bySeconds = t.checkpointEverySeconds > 0
                           && std::chrono::duration<double>(Clock::now() - m_lastSave).count() >= t.checkpointEverySeconds;
    m_saveDue = m_saveDue || bySteps || bySeconds;
}

bool CheckpointPolicy::improves(double value) const
{
    if (!std::isfinite(value))
        return false;
    if (std::isnan(m_bestValue))
        return true;
    return m_higherIsBetter ? value > m_bestValue : value < m_bestValue;
}

void CheckpointPolicy::afterEvaluation(const EvalView&, TrainRequests&)
{
    if (m_bestMetric.empty())
        return;
    const auto it = m_report.last().find(m_bestMetric);
    if (it == m_report.last().end() || !improves(it->second))
        return;
    m_bestValue = it->second;
    m_bestDue = true;
}

void CheckpointPolicy::atEpochEnd(const TrainState&, int64_t epoch, TrainRequests&)
{
    // The first epoch's end always has one (a short run killed later can resume), the last's
    // too; between them, the seconds policy holds.
    const double age = std::chrono::duration<double>(Clock::now() - m_lastSave).count();
    const double every = m_experiment.spec.training.checkpointEverySeconds;
    if (!m_epochSaved || epoch == m_experiment.spec.training.epochs || every <= 0 || age >= every)
        m_saveDue = true;
    m_epochSaved = true;
}

void CheckpointPolicy::rolledBack(const TrainState&, const std::string&)
{
    // What was due belonged to the state the rollback rejected. The best value found on the
    // way (kept by rollBack) stays, but its checkpoint is not written from the rejected state.
    m_saveDue = m_bestDue = false;
}

void CheckpointPolicy::ending(const TrainState& state, TrainStatus)
{
    saveLatest(state);
}

ProfileScope::ProfileScope()
{
    if (const char* path = std::getenv("NNLAB_PROFILE"); path && *path)
        m_profile = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(path));
}

} // namespace nnlab::detail
