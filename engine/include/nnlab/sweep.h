// Hyperparameter sweeps: the trials an experiment's `sweep` section defines, and running them.
//
// A sweep is a list of trials, each an ordinary recorded run of the experiment with some key
// paths set (as `--set` sets them) and the `sweep` section cleared. Every trial carries the tag
// "sweep:<sweep id>" and a note (sweepNote) holding the sweep's definition and its own values,
// so a run list can group trials and a sweep view can read what was searched. Trial i is a pure
// function of the experiment (the random draws come from a generator seeded by its seed), so a
// Slurm array task given an index trains exactly the trial a local queue would.
//
// Early termination (SweepSpec::pruner) compares trials by the sweep's metric at epoch ends:
//   asha    successive halving at rungs of min_epochs x reduction_factor^k epochs: a trial goes
//           past a rung only while its value there is among the best 1 / reduction_factor of
//           the trials that reached the rung (at least the best one), as Optuna's
//           SuccessiveHalvingPruner decides it
//   median  after min_epochs, a trial whose value at epoch e is worse than the median of the
//           completed trials' values at e stops (Optuna's MedianPruner, no start-up trials)
// A pruned trial ends finished (early), with the extra tag "pruned". Pruning needs trials that
// share one process (the local queue); Slurm array tasks train every trial to its end.
//
// No LibTorch here: the definitions live in nnlab_spec, runSweep in nnlab_engine.
#pragma once

#include "nnlab/experiment.h"
#include "nnlab/run_types.h"
#include "nnlab/spec.h"
#include "nnlab/spec_json.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nnlab {

class TrainControl;

const char* toString(SweepMethod method);   // "grid", "random"
const char* toString(SweepPruner pruner);   // "none", "asha", "median"
const char* toString(SweepScale scale);     // "linear", "log"
std::optional<SweepMethod> sweepMethodFromString(const std::string& text);
std::optional<SweepPruner> sweepPrunerFromString(const std::string& text);
std::optional<SweepScale> sweepScaleFromString(const std::string& text);

// One trial: the values it sets, as JSON texts, in the order of the sweep's parameters.
struct SweepTrial {
    int64_t index = 0;                                         // 0-based
    std::vector<std::pair<std::string, std::string>> values;   // {"optimizer.lr", "0.01"}
    std::vector<std::string> overrides() const;                // {"optimizer.lr=0.01"}
    std::string label() const;                                 // "lr=0.01 batch_size=32"
};

// A grid parameter from a command line's "path=v1,v2,...": commas inside brackets, braces or
// quotes do not split; each value is JSON when it parses as JSON, else a string (as --set reads
// it). nullopt, with `error` set, for a malformed assignment.
std::optional<SweepParameter> sweepParameterFromSet(const std::string& assignment, std::string& error);

// Grids above this many combinations are refused (sweep.parameters: too many).
constexpr int64_t kMaxSweepTrials = 10000;

// How many trials the sweep has: the product of the value counts (grid) or `trials` (random);
// 0 when it has no parameters.
int64_t sweepTrialCount(const SweepSpec& sweep);

// Every trial, in order. Grid: the combinations with the last parameter changing fastest (as
// itertools.product). Random: for each trial, each parameter in turn draws one of its values or
// a point of its range (log scale: log-uniform), rounded to 6 significant digits (integer: to
// the nearest integer), from one generator seeded by `seed`.
std::vector<SweepTrial> sweepTrials(const SweepSpec& sweep, uint64_t seed);

// The experiment a trial trains: `base` with the trial's values set and no sweep section,
// parsed and validated as a file with those --set overrides would be.
ParseResult trialExperiment(const ExperimentSpec& base, const SweepTrial& trial);

// The tag trials are ranked and pruned by: sweep.metric, or for "auto" training.best_metric
// (whose "auto" or "none" mean val/accuracy for classification, else val/loss).
std::string sweepMetric(const ExperimentSpec& spec);
// +1 when higher values of the metric are better (accuracy), -1 when lower are (loss).
int sweepMetricDirection(const std::string& metric);

// "20250114-093012-3fa9": UTC time and 16 random bits.
std::string newSweepId();
std::string sweepTag(const std::string& sweepId);   // "sweep:<id>"
inline constexpr const char* kPrunedTag = "pruned";

// A trial's run notes: a line for people, then one line of compact JSON
//   {"sweep": id, "trial": i, "trials": n, "values": {path: value, ...}, "definition": {the sweep section}}
std::string sweepNote(const std::string& sweepId, const SweepSpec& sweep, const SweepTrial& trial);
struct SweepNote {
    std::string sweepId;
    int64_t trial = 0;
    int64_t trials = 0;
    std::vector<std::pair<std::string, std::string>> values;   // path, JSON text
    SweepSpec sweep;
};
// Reads the note back from a run's notes; nullopt when they hold none.
std::optional<SweepNote> parseSweepNote(const std::string& notes);

// ---- Running trials (nnlab_engine) ----

struct SweepTrialResult {
    SweepTrial trial;
    std::string name;               // the run's name: "<experiment> #3 lr=0.01"
    std::string runId;              // empty when not recorded
    TrainStatus status = TrainStatus::Failed;
    std::string message;
    bool pruned = false;            // stopped by the pruner (then status is Finished)
    int64_t epochs = 0;             // epochs trained
    int64_t steps = 0;              // optimizer steps trained
    double seconds = 0.0;
    double value = 0.0;             // the best value of the metric at an epoch's end (else its
    bool hasValue = false;          // last reported value); hasValue false when never reported
};

struct SweepOptions {
    bool store = true;              // record the trials as runs
    std::string databasePath;       // empty = defaultDatabasePath()
    std::string sweepId;            // empty = newSweepId()
    int64_t concurrent = 0;         // trials trained at once; 0 = sweep.concurrent
    bool prune = true;              // false: train every trial to its end whatever sweep.pruner says
    // From the trials' threads (serialize your own output): a trial began, progressed, ended.
    std::function<void(const SweepTrial&, const std::string& name)> trialStarted;
    std::function<void(int64_t index, const Progress&)> progress;
    std::function<void(const SweepTrialResult&)> trialFinished;
};

struct SweepResult {
    std::string sweepId;
    std::string metric;
    int direction = 1;
    std::vector<SweepTrialResult> trials;   // in trial order; trials never started are left out
    int64_t totalSteps = 0;
    double seconds = 0.0;                   // wall time of the whole sweep
    std::string error;                      // the sweep could not run (bad trial experiment...)
    // Indices into `trials`, best first; trials without a value last.
    std::vector<size_t> ranking() const;
};

// Trains every trial of base.spec.sweep, `concurrent` at a time, pruning by sweep.pruner.
// Cancelling `control` stops the running trials (cancelled) and starts no more. Never throws.
SweepResult runSweep(const PreparedExperiment& base, TrainControl& control, const SweepOptions& options);

// Trains trial `index` alone (a Slurm array task): no pruning.
SweepTrialResult runSweepTrial(const PreparedExperiment& base, int64_t index, TrainControl& control,
                               const SweepOptions& options);

} // namespace nnlab
