// The small named pieces the training loop is made of, kept out of it so that the loop
// reads as what it does: pausing, the batches of each epoch, the logging window, the
// checkpoint policy and the optional profiler.
#pragma once

#include "checkpoint.h"
#include "train_hooks.h"
#include "tuning.h"

#include "nnlab/experiment.h"
#include "nnlab/trainer.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <memory>
#include <optional>

namespace nnlab::detail {

using Clock = std::chrono::steady_clock;

// Seeds that depend only on (seed, epoch) or (seed, step), so a resumed or rolled-back run
// draws the same shuffles and dropout masks as an uninterrupted one.
uint64_t mixSeed(uint64_t seed, uint64_t n);

// Blocks while the run is paused, with "paused" and "resumed" on the timeline.
class PauseGate {
public:
    PauseGate(TrainControl& control, Reporter& report) : m_control(control), m_report(report) {}
    // False when the run was cancelled (before or while paused).
    bool waitWhilePaused(const TrainState& state, const Progress& progress);

private:
    TrainControl& m_control;
    Reporter& m_report;
};

// The training set in each epoch's order: shuffled from (seed, epoch) when data.shuffle.
class Batches {
public:
    // `shard` of `shards`: data-parallel workers each take their contiguous share of every
    // global batch (all draw the same shuffled order).
    Batches(const TensorSet& train, const ExperimentSpec& spec, const Execution& execution, const torch::Device& device,
            int shard = 0, int shards = 1);
    struct Batch {
        torch::Tensor x, y;
    };
    Batch forStep(int64_t step);   // the batch that step `step` (0-based) trains on

private:
    const TensorSet& m_train;
    const Execution& m_execution;
    torch::Device m_device;
    uint64_t m_seed;
    bool m_shuffle;
    int64_t m_batch;
    int64_t m_stepsPerEpoch;
    int64_t m_epoch = -1;
    torch::Tensor m_order;
    int m_shard = 0, m_shards = 1;
};

// The logging window: mean loss and accuracy over the last training.log_every_steps steps,
// throughput, ETA, and the thread guard. Reads tensor values only once per window. A
// non-finite loss is reported like any other; the monitor rules act on it (monitor_hook.h).
class WindowStats : public TrainHook {
public:
    WindowStats(const ExperimentSpec& spec, Reporter& report, ThreadGuard& guard, Progress& progress);
    void afterStep(const StepView& step, TrainRequests&) override;
    void afterEvaluation(const EvalView& eval, TrainRequests&) override;
    void rolledBack(const TrainState& state, const std::string&) override
    {
        reset();
        m_progress.step = state.step;   // the progress bar goes back with the run
        m_progress.epoch = state.epoch() + 1;
    }
    double samplesPerSec() const { return m_trainSeconds > 0 ? static_cast<double>(m_trainedSamples) / m_trainSeconds : 0.0; }

private:
    void reset();
    const ExperimentSpec& m_spec;
    Reporter& m_report;
    ThreadGuard& m_guard;
    Progress& m_progress;
    torch::Tensor m_lossSum, m_correct;
    int64_t m_samples = 0, m_steps = 0, m_trainedSamples = 0;
    double m_seconds = 0.0, m_trainSeconds = 0.0;
};

// Where checkpoints go and when: the latest every training.checkpoint_every_steps steps,
// when the last is training.checkpoint_every_seconds old, at the first and the final epoch's
// end (and at other epoch ends the seconds rule allows), and when the run ends early; the
// best by training.best_metric whenever an evaluation improves it. The hook points only
// decide what is due; the loop writes it (commit) after it has acted on the hooks'
// requests, so a state a hook rejects (a rollback) is never saved, and a learning-rate
// change made at the same step is in the checkpoint.
class CheckpointPolicy : public TrainHook {
public:
    CheckpointPolicy(const PreparedExperiment& experiment, const TrainOptions& options, torch::nn::Sequential& model,
                     FlatOptimizer& optimizer, const Execution& execution, Reporter& report);
    // Restores a checkpoint into the model and optimizer (a resume); returns its state.
    CheckpointState restore(const std::string& path);
    // Restores the latest checkpoint (a hook's rollback); the best value so far is kept.
    // Throws when there is none.
    CheckpointState rollBack();
    bool canRollBack() const { return !m_options.checkpointPath.empty() && m_lastSavedStep >= 0; }
    // Loads the best checkpoint's weights and optimizer state (a stop that keeps the best);
    // returns its step, or nothing when there is no best checkpoint. The latest checkpoint
    // is left as it was.
    std::optional<int64_t> restoreBest(const TrainState& state);
    // Writes what the hook points found due.
    void commit(const TrainState& state);

    void afterStep(const StepView& step, TrainRequests&) override;
    void afterEvaluation(const EvalView& eval, TrainRequests&) override;
    void atEpochEnd(const TrainState& state, int64_t epoch, TrainRequests&) override;
    void rolledBack(const TrainState& state, const std::string& why) override;
    void ending(const TrainState& state, TrainStatus status) override;

private:
    CheckpointState load(const std::string& path);
    void save(const std::string& path, EventKind kind, const TrainState& state);
    void saveLatest(const TrainState& state);
    bool improves(double value) const;

    const PreparedExperiment& m_experiment;
    const TrainOptions& m_options;
    torch::nn::Sequential& m_model;
    FlatOptimizer& m_optimizer;
    const Execution& m_execution;
    Reporter& m_report;
    std::string m_bestMetric;            // "" = no best checkpoint
    bool m_higherIsBetter = false;
    double m_bestValue = std::numeric_limits<double>::quiet_NaN();
    Clock::time_point m_lastSave = Clock::now();
    int64_t m_lastSavedStep = -1;
    bool m_saveDue = false;              // the latest checkpoint is due at the next commit
    bool m_bestDue = false;              // a new best is due at the next commit
    bool m_epochSaved = false;           // an epoch end has been checkpointed in this call
};

// NNLAB_PROFILE=FILE writes a Chrome trace of every operator of the training loop (a
// developer aid for the speed work: tests/bench/README.md).
class ProfileScope {
public:
    ProfileScope();

private:
    std::unique_ptr<torch::autograd::profiler::RecordProfile> m_profile;
};

} // namespace nnlab::detail
