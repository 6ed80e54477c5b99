// The training loop's hook points. Later features (monitors, early stopping, layer
// statistics, pruning masks, distillation) attach here without editing the loop: pass them
// in TrainOptions::hooks. The loop's own pieces are hooks too: the window statistics run
// first (so the metrics of the step are reported before other hooks look), the checkpoint
// policy last (so a state some hook rejects by asking for a rollback is never saved).
//
// Threads: every hook runs on the training thread, between steps, with the model and the
// optimizer in a consistent state. Nothing here may block for long or touch Qt; results for
// another thread go through TrainCallbacks (batched by the Reporter).
#pragma once

#include "flat_optim.h"
#include "session.h"

#include <torch/torch.h>

#include <optional>
#include <string>

namespace nnlab::detail {

// What the loop owns and hooks may read.
struct TrainState {
    int64_t step = 0;            // optimizer steps taken
    int64_t stepsPerEpoch = 0;
    int64_t totalSteps = 0;
    double lr = 0.0;             // the rate the last step used (schedule x lrScale)
    double lrScale = 1.0;        // the factor hooks applied to the schedule's rate so far
    int64_t epoch() const { return stepsPerEpoch > 0 ? step / stepsPerEpoch : 0; }   // 0-based, of the next step
};

// Right after an optimizer step: its batch, outputs, loss and gradients are still there.
struct StepView {
    const TrainState& state;            // state.step counts this step
    const torch::Tensor& input;
    const torch::Tensor& target;
    const torch::Tensor& output;
    const torch::Tensor& loss;          // the batch's mean loss (0-d; reading it waits for the step)
    const torch::Tensor& gradNorm;      // the norm before clipping when clipping by norm, else undefined
    double seconds;                     // wall time of this step (batch gathering included)
    // Data-parallel runs: [loss x samples, correct, samples] summed over every worker's shard
    // (float64, on the CPU); undefined for one worker.
    const torch::Tensor& workerTotals;
    torch::nn::Sequential& model;
    FlatOptimizer& optimizer;           // gradients() of this step, until the next zeroGrad
};

// Before the backward pass: the batch, the model's output and the experiment's loss. A hook
// may return another loss to minimize (distillation adds a teacher's soft targets).
struct LossView {
    const TrainState& state;            // state.step counts the steps before this one
    const torch::Tensor& input;
    const torch::Tensor& target;
    const torch::Tensor& output;
    const torch::Tensor& loss;          // the experiment's loss, or an earlier hook's replacement
    Reporter& report;                   // for the parts of a replaced loss (train/kd ...)
};

// After the validation pass at an epoch's end.
struct EvalView {
    const TrainState& state;
    bool hasValidation;                 // false when data.validation_fraction is 0
    Evaluation validation;
};

// How a requested stop ends the run.
enum class StopKind {
    Finished,          // early, as finished (early stopping)
    FinishedBest,      // early, as finished, with the best checkpoint's weights restored first
    Failed,            // as failed (a non-finite loss)
};

// What hooks ask of the loop. It acts once the current hook point has run, in this order:
// roll back, change the learning rate, stop; each hook then hears what was done.
class TrainRequests {
public:
    void rollBack(const std::string& why) { m_rollback = why; }   // to the latest checkpoint
    void multiplyLearningRate(double factor, const std::string& why) { m_lrFactor = factor; m_lrWhy = why; }
    void stop(const std::string& why, StopKind kind = StopKind::Finished)
    {
        m_stop = why;
        m_stopKind = kind;
    }
    StopKind stopKind() const { return m_stopKind; }

    bool empty() const { return !m_rollback && !m_lrFactor && !m_stop; }
    bool rollingBack() const { return m_rollback.has_value(); }
    std::optional<std::string> takeRollback() { return take(m_rollback); }
    std::optional<std::pair<double, std::string>> takeLearningRate()
    {
        std::optional<std::pair<double, std::string>> out;
        if (m_lrFactor)
            out = std::make_pair(*m_lrFactor, m_lrWhy);
        m_lrFactor.reset();
        return out;
    }
    std::optional<std::string> takeStop() { return take(m_stop); }

private:
    static std::optional<std::string> take(std::optional<std::string>& value)
    {
        std::optional<std::string> out = std::move(value);
        value.reset();
        return out;
    }
    std::optional<std::string> m_rollback;
    std::optional<double> m_lrFactor;
    std::string m_lrWhy;
    std::optional<std::string> m_stop;
    StopKind m_stopKind = StopKind::Finished;
};

class TrainHook {
public:
    virtual ~TrainHook() = default;
    // Before the first step (after a resume, at the checkpoint's step).
    virtual void started(const TrainState&) {}
    // Each metric point as it is reported (train/* and lr ... at each logging window, val/*
    // after evaluation), from inside the hook point that reported it.
    virtual void metricReported(const TrainState&, const MetricPoint&, TrainRequests&) {}
    // The loss this step minimizes instead of view.loss; undefined (the default) keeps it.
    // train/loss reports what is minimized.
    virtual torch::Tensor lossFor(const LossView&) { return {}; }
    virtual void afterStep(const StepView&, TrainRequests&) {}
    virtual void afterEvaluation(const EvalView&, TrainRequests&) {}
    // After evaluation; `epoch` is the 1-based number of the epoch that ended.
    virtual void atEpochEnd(const TrainState&, int64_t /*epoch*/, TrainRequests&) {}
    // The loop acted on a request:
    // state.step is the checkpoint's; the learning-rate scale in use is kept.
    virtual void rolledBack(const TrainState&, const std::string& /*why*/) {}
    virtual void learningRateChanged(const TrainState&, double /*factor*/, const std::string& /*why*/) {}
    // The run ends (finished, stopped, cancelled): the last chance to save. Not called when it fails.
    virtual void ending(const TrainState&, TrainStatus) {}
};

} // namespace nnlab::detail
