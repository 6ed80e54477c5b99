// The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural
// Networks", 2017; fast.ai's lr_find): a fresh copy of the experiment's initial model is
// trained for a few hundred steps while the learning rate grows exponentially from startLr
// to endLr; the smoothed loss against the learning rate shows where training is fastest and
// where it diverges. Nothing of the user's is touched: the model is built anew from the
// experiment's seed, no checkpoint is read or written and no run is recorded.
#pragma once

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/run_types.h"
#include "nnlab/trainer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nnlab {

struct LrFinderOptions {
    double startLr = 1e-7;        // learning rate of the first step, > 0 (fast.ai's start_lr)
    double endLr = 10.0;          // learning rate of the last step, > startLr (fast.ai's end_lr)
    int64_t steps = 200;          // optimizer steps from startLr to endLr, 5..100000; batches cycle
                                  // through the shuffled training set, epoch after epoch
    double smoothing = 0.98;      // beta of the debiased exponential moving average of the loss, 0..1
    double divergeFactor = 4.0;   // stop once the smoothed loss exceeds this x its lowest value, > 1
};

// Empty when the options are usable, else what is wrong ("steps: must be >= 5, got 2").
std::string validateLrFinderOptions(const LrFinderOptions& options);

struct LrFinderPoint {
    double lr = 0.0;              // learning rate of this step
    double loss = 0.0;            // the step's training loss (mean over its batch)
    double smoothedLoss = 0.0;    // debiased exponential moving average of the losses so far
};

// Suggested learning rates, all within [startLr, endLr]. fast.ai's rules, on the points
// without the first tenth and the last five (the warm-up of the average, the blow-up):
struct LrSuggestions {
    bool valid = false;           // false when too few steps were recorded to judge
    double steepest = 0.0;        // fast.ai's `steep`: where the smoothed loss falls fastest per
                                  // decade of learning rate (the minimum of d loss / d log lr), looked
                                  // for up to the lowest loss only (past it the loss blows up and
                                  // can fall steeply again from a spike)
    double minimum = 0.0;         // fast.ai's `minimum`: the learning rate of the lowest smoothed
                                  // loss, / 10 (a step back from the edge of divergence)
    double minimumLossLr = 0.0;   // the learning rate of the lowest smoothed loss itself
    double minimumLoss = 0.0;     // that lowest smoothed loss
    double steepestLoss = 0.0;    // the smoothed loss at `steepest`
    // The maximum learning rate of a one-cycle schedule (schedule.type onecycle,
    // optimizer.lr = max_lr). fast.ai's advice for fit_one_cycle, and Smith's for the
    // 1cycle policy: the largest learning rate at which the loss still clearly falls, a
    // step back from the minimum, which is `minimum` again (the lowest loss's lr / 10).
    double oneCycleMax = 0.0;
};

struct LrFinderResult {
    TrainStatus status = TrainStatus::Failed;   // Finished (all steps, or stopped at divergence),
                                                // Cancelled, or Failed with `message`
    std::string message;          // why it failed or stopped early; empty when it ran to endLr
    bool diverged = false;        // stopped because the smoothed loss exceeded divergeFactor x its minimum
    std::vector<LrFinderPoint> points;   // one per step taken, in order of increasing lr
    LrSuggestions suggestions;    // from `points` (also after a cancel, if enough were recorded)
    LrFinderOptions options;      // what ran
    double seconds = 0.0;         // wall-clock time of the whole test
};

struct LrFinderProgress {
    int64_t step = 0;             // steps taken
    int64_t totalSteps = 0;       // options.steps (it may stop earlier on divergence)
    double lr = 0.0;              // learning rate of the last step
    double smoothedLoss = 0.0;
    double etaSeconds = 0.0;      // estimated time to the last step
};

// Called on the finder's thread after the first step, then at most every ~100 ms, and after
// the last step.
using LrFinderCallback = std::function<void(const LrFinderProgress&)>;

// The range test on a prepared experiment and its loaded data (fitToData first, or this
// does it): the experiment's model, seed, loss, batch size, gradient clipping and optimizer
// type and settings, except the learning rate; the schedule is ignored. The control's cancel
// ends it between steps, its pause holds it. Never throws: errors end it as Failed.
LrFinderResult findLearningRate(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
                                const LrFinderOptions& options = {}, const LrFinderCallback& progress = {});

// The suggestions for a recorded curve (what findLearningRate fills in), for tests and
// for results kept elsewhere. Learning rates are clamped to [startLr, endLr].
LrSuggestions suggestLearningRates(const std::vector<LrFinderPoint>& points, double startLr, double endLr);

// The learning rate of step `step` (0-based) of `steps`: startLr x (endLr / startLr)^(step / (steps - 1)).
double lrFinderRate(const LrFinderOptions& options, int64_t step);

} // namespace nnlab
