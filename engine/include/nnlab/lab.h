// Teaching labs (JSON, "format": "nnlab.lab/1"): a sequence of steps, each an experiment
// (or a change to the previous step's), the controls the teacher locks or hides, a "predict,
// then run" question, and observations that nnlab checks over the recorded metrics after the
// run. `nnlab-cli lab run` and the GUI's lab mode both read labs through here, run a step
// with runLabStep and judge it with evaluateObservations. No Qt, no LibTorch types.
//
// The file, key by key (every object may also hold "_comment" keys, which are ignored, so a
// template can explain itself; inline experiments too):
//   format "nnlab.lab/1", title, summary, steps[]
//   step:  id (unique, [a-z0-9_-]), title, text (a small Markdown subset: paragraphs, **bold**,
//          *italic*, `code`, "- " lists), figure (an image path relative to the lab file),
//          action "train" (default) or "check" (nnlab's pre-flight instead of training),
//          experiment: a path relative to the lab file, or an inline experiment object;
//          changes: a JSON merge patch (RFC 7386: objects merge, arrays and values replace)
//          on the previous step's experiment; set: {"key.path": value} as `--set` takes them.
//          The first step needs "experiment"; a later one without either repeats the previous.
//          runs: [{name, changes, set}] variants of the step's experiment trained one after
//          another (A and B, or seeds); none = one run named "run". A run may instead be
//          "compress": {from, method, sparsity, finetune_epochs} of an earlier run, or
//          trained with "distill": {teacher, alpha, temperature} from an earlier run.
//          locked: [{path, reason}], hidden: [path] (spec key paths: "optimizer.lr",
//          "training", "model.layers")
//          question: {prompt, choices[], answer (0-based index, optional), explanation}
//          observations: [observation]
//   observation (one of three forms, each with optional text, holds, fails explanations):
//     compare: {metric | gap: [a, b], run: "B" | [runs: mean], at, op: "<"|"<="|">"|">=",
//               value: number | than: {metric?, gap?, run?, at?, factor?}}
//              at: "final" (default), "first", "min", "max", "epoch N", "step N"
//              than: the other side, taking what it omits from the left (factor: x, default 1)
//     trend:   {metric | gap, run, trend: "grows"|"shrinks", from: at (default "epoch 1"),
//               at (default "final"), margin (default 0)}: the value at `at` beyond the
//               value at `from` by more than margin
//     check:   {check: "input_range" | ... (nnlab/preflight.h CheckId names), run,
//               status: "pass"|"warn"|"fail"|"ok" (pass or warn)}: for "check" steps
#pragma once

#include "nnlab/preflight.h"
#include "nnlab/spec.h"
#include "nnlab/trainer.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace nnlab {

class RunStore;

inline constexpr const char* kLabFormat = "nnlab.lab/1";

enum class LabAction { Train, Check };   // "train", "check"

// Where on a run's series a value is read.
enum class LabPoint { Final, First, Min, Max, Epoch, Step };   // "final", "first", "min", "max", "epoch N", "step N"

enum class CompareOp { Less, LessEqual, Greater, GreaterEqual };   // "<", "<=", ">", ">="
const char* toString(CompareOp op);

// One measured quantity: a metric, or the gap metric - minus, of some runs (their mean).
struct LabQuantity {
    std::string metric;                   // "train/loss", "layers/3/dead_fraction"
    std::string minus;                    // a gap: metric - minus; "" = none
    std::vector<std::string> runs;        // names of the step's runs; several = their mean
    LabPoint at = LabPoint::Final;
    int64_t index = 0;                    // Epoch: 1-based epoch; Step: the step
    std::string describe() const;         // "B's final train/loss", "A's gap train/accuracy - val/accuracy at epoch 3"
};

enum class ObservationKind { Compare, Trend, Check };

struct Observation {
    ObservationKind kind = ObservationKind::Compare;
    std::string text;                     // the claim as students read it; "" = generated
    std::string holds;                    // explanation shown when it holds
    std::string fails;                    // explanation shown when it fails
    LabQuantity left;
    // Compare: left op (value, or factor x right)
    CompareOp op = CompareOp::Less;
    bool againstRun = false;              // compare with `right` instead of `value`
    double value = 0.0;
    LabQuantity right;
    double factor = 1.0;
    // Trend: left at left.at against left at `from`
    bool grows = true;                    // false: shrinks
    LabPoint from = LabPoint::Epoch;
    int64_t fromIndex = 1;
    double margin = 0.0;                  // >= 0
    // Check: the pre-flight check of run left.runs[0] ends in one of `statuses`
    CheckId check = CheckId::OutputLayer;
    std::vector<CheckStatus> statuses;
    std::string claim() const;            // text, or a generated sentence
};

struct LabQuestion {
    std::string prompt;                   // "" = no question
    std::vector<std::string> choices;     // at least two when there is a prompt
    int answer = -1;                      // 0-based; -1 = no right answer (an opinion poll)
    std::string explanation;              // shown after the run
};

struct LabLock {
    std::string path;                     // spec key path: "optimizer.lr", "training", "model.layers"
    std::string reason;                   // shown as the control's tooltip
};

// A variant of the step's experiment, applied to whatever the step's experiment is when it
// runs (the student's edits of unlocked controls included).
struct LabVariant {
    std::string name;                     // unique in the step; "run" when the step names none
    std::string patch;                    // JSON merge patch text; "" = none
    std::vector<std::string> sets;        // "key.path=json value", after the patch
    // "compress": {from, method, sparsity, finetune_epochs}: not trained but a compression
    // (nnlab/compress.h) of an earlier run of the step; its figures are the compress/* and
    // parent/* metrics (compress/validation_accuracy, compress/file_bytes, ...).
    std::string compressFrom;             // "" = not a compression
    std::string compressMethod = "prune"; // prune | prune-structured | int8-static | int8-dynamic
    double sparsity = 0.5;                // prune: [0, 1)
    int64_t finetuneEpochs = 0;           // prune: epochs of fine-tuning, masks held
    // "distill": {teacher, alpha, temperature}: trained on the soft targets of an earlier run
    // of the step (nnlab/distill.h); its own experiment is the student.
    std::string distillTeacher;           // "" = ordinary training
    double alpha = 0.7;                   // weight of the teacher's soft targets, [0, 1]
    double temperature = 4.0;             // > 0
};

struct LabStep {
    std::string id;
    std::string title;
    std::string text;                     // Markdown subset (see above)
    std::string figure;                   // absolute path; "" = none
    LabAction action = LabAction::Train;
    ExperimentSpec experiment;            // validated; data paths absolute
    std::vector<LabVariant> runs;         // at least one
    std::vector<LabLock> locked;
    std::vector<std::string> hidden;
    LabQuestion question;
    std::vector<Observation> observations;
};

struct Lab {
    std::string path;                     // the file; "" when parsed from text
    std::string title;
    std::string summary;
    std::vector<LabStep> steps;           // at least one
    const LabStep* findStep(const std::string& id) const;
};

struct LabParseResult {
    Lab lab;
    Problems problems;                    // path-qualified: "steps[2].observations[0].op: ..."
    bool ok() const { return problems.empty(); }
    std::string errorText() const;        // one problem a line
};

// `baseDir`: what relative experiment and figure paths are relative to.
LabParseResult parseLab(const std::string& jsonText, const std::string& baseDir);
// Problems with the file itself carry its name as their path.
LabParseResult loadLabFile(const std::string& path);

// The spec of one variant: `base` (the step's experiment, maybe edited) with the variant's
// patch and sets, validated. Problems are path-qualified within the experiment.
Problems variantSpec(const ExperimentSpec& base, const LabVariant& variant, ExperimentSpec& out);

// A lab file that `lab new` writes: every key shown, explained by "_comment" keys.
std::string labTemplate();

// ---- Judging a step's runs --------------------------------------------------------------

// The runs of one step: variant name -> stored run id (train steps), or -> its pre-flight
// checks (check steps).
struct StepRuns {
    std::map<std::string, std::string> runIds;
    std::map<std::string, std::vector<CheckResult>> checks;
};

struct ObservationResult {
    std::string claim;                    // Observation::claim()
    bool holds = false;
    std::string measured;                 // "B's final train/loss 0.21 < A's final train/loss 0.53"
    std::string explanation;              // the observation's holds or fails text
    std::string error;                    // could not be measured (missing metric or run); holds = false
};

// Pure: reads the store's series and events (the store may be null for check steps).
ObservationResult evaluateObservation(const Observation& observation, const LabStep& step, const RunStore* store,
                                      const StepRuns& runs);
std::vector<ObservationResult> evaluateObservations(const LabStep& step, const RunStore* store, const StepRuns& runs);

// ---- Running a step headless ------------------------------------------------------------

struct LabRunOptions {
    std::string databasePath;             // the store the runs are recorded in (required)
    std::string labName;                  // runs are named "<labName>/<step id>/<variant>" and tagged "lab:<labName>"
};

struct LabStepCallbacks {
    // Before each variant: its name, 0-based index and the step's count.
    std::function<void(const std::string& variant, int index, int count, const ExperimentSpec& spec)> runStarted;
    TrainCallbacks train;                 // each train variant's callbacks
    PreflightProgress checkProgress;      // check variants
    std::function<void(const std::string& variant, const std::string& runId, const TrainResult& result)> runFinished;
};

struct LabStepOutcome {
    StepRuns runs;
    std::vector<ObservationResult> observations;
    std::string error;                    // a run could not be started or failed; observations still judged
    bool cancelled = false;
    double seconds = 0.0;
    bool allHold() const;
};

// Trains (or checks) each variant of `step` on `base` (normally step.experiment) one after
// another, then judges the observations. Never throws.
LabStepOutcome runLabStep(const LabStep& step, const ExperimentSpec& base, TrainControl& control,
                          const LabRunOptions& options, const LabStepCallbacks& callbacks = {});

} // namespace nnlab
