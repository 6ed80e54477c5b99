// The recipe pre-flight (Karpathy, "A Recipe for Training Neural Networks"): quick checks
// that catch a broken set-up before a long run does. Each check passes, warns or fails with
// one line on what to do and the numbers it measured. The checks that train use fresh
// models built from the experiment's seed; no run is recorded and nothing else is touched.
// Plain values, no LibTorch types: `nnlab-cli check` prints a report, the GUI shows one.
#pragma once

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/trainer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nnlab {

enum class CheckId {
    OutputLayer,      // no ReLU/sigmoid (non-negative) layer right before cross_entropy's logits
    LabelBalance,     // every class present, none with fewer than minClassExamples
    InputRange,       // what enters the network is normalised (feature std near 1, |x| <= 10)
    InitialLoss,      // the loss at initialisation is near ln(K) (mse: near the targets' mean square)
    Baseline,         // the real inputs train to a clearly lower loss than zeroed inputs
    OverfitBatch,     // one small batch can be fitted to near-zero loss
    GradientFlow,     // no vanishing, exploding or non-finite gradients, no dead ReLUs
};
const char* toString(CheckId id);   // "output_layer", "label_balance", ...

enum class CheckStatus { Pass, Warn, Fail, Skipped };
const char* toString(CheckStatus status);   // "PASS", "WARN", "FAIL", "SKIP"

// One measured number of a check, e.g. {"initial loss", 2.31}, {"ln(K)", 2.30}.
struct CheckNumber {
    std::string name;
    double value = 0.0;
};

struct CheckResult {
    CheckId id = CheckId::OutputLayer;
    std::string title;                  // "Initial loss near ln(K)"
    CheckStatus status = CheckStatus::Pass;
    std::string explanation;            // one line: what was found and, unless passed, what to do
    std::vector<CheckNumber> numbers;
};

// Gradient flow of one layer with parameters (or one ReLU), after a few training steps.
struct LayerFlow {
    std::string name;                   // parameter prefix ("0", "3.body.0") or the ReLU's module path
    std::string type;                   // "linear", "conv2d", "batchnorm2d", "relu", ...
    double gradNorm = 0.0;              // 2-norm of the layer's parameter gradients; 0 for a ReLU
    double weightNorm = 0.0;            // 2-norm of its parameters; 0 for a ReLU
    double deadFraction = -1.0;         // ReLU: share of units that are zero for every sample of a
                                        // batch, 0..1; -1 for other layers
    CheckStatus status = CheckStatus::Pass;
    std::string problem;                // "vanishing", "exploding", "not finite", "dead"; "" when fine
};

// Statistics of one input feature (tabular) or channel (images) over the training set.
struct FeatureRange {
    std::string name;                   // "x0", "feature 3", "channel 0"
    double min = 0.0, max = 0.0, mean = 0.0, std = 0.0;           // as the network sees it
    double rawMin = 0.0, rawMax = 0.0, rawMean = 0.0, rawStd = 0.0;  // de-normalised (source units)
};

// Exactly what enters the network: the first samples of the overfit batch, de-normalised
// with the data's inputShift/inputScale (images back to 0..255), with their labels, plus
// per-feature (or per-channel) ranges over the training set.
struct InputView {
    bool images = false;
    std::vector<int64_t> sampleShape;   // per sample: {C, H, W} or {F}
    std::vector<float> samples;         // sampleCount() * product(sampleShape), de-normalised
    std::vector<int64_t> labels;        // one class id per sample; empty for regression
    std::vector<std::string> classNames;
    std::vector<FeatureRange> features;
    bool normalized = false;            // the data has a normalization (inputShift non-empty)
    int64_t sampleCount() const;
};

struct PreflightOptions {
    int64_t overfitSamples = 16;        // size of the one batch to overfit, >= 1
    int64_t overfitSteps = 200;         // at most this many steps to overfit it, >= 1
    double overfitTarget = 0.05;        // passed when the loss falls below this share of its initial
                                        // value (or classification reaches 100% on the batch), 0..1
    int64_t baselineSteps = 200;        // at most this many steps of the real-vs-zeroed-input comparison
                                        // (compared every 20 steps; it stops once real inputs are ahead), >= 1
    int64_t gradientSteps = 5;          // training steps before the gradients are measured, >= 0
    int64_t minClassExamples = 10;      // warn for classes with fewer training examples
    int64_t lossSamples = 512;          // samples the initial loss is averaged over
    int64_t viewSamples = 16;           // samples in the InputView (at most overfitSamples)
};

struct PreflightReport {
    std::vector<CheckResult> checks;    // in CheckId order; every check present (Skipped when it could not run)
    std::vector<LayerFlow> layers;      // gradient flow per layer, in model order
    InputView input;
    std::vector<int64_t> classCounts;   // training examples per class; empty for regression
    double seconds = 0.0;               // wall time of the whole pre-flight
    bool cancelled = false;             // TrainControl::cancel() stopped it; checks not run are Skipped
    std::string error;                  // the pre-flight itself could not run (bad data, LibTorch error)

    bool failed() const;                // any check failed, or error set
    int count(CheckStatus status) const;
    const CheckResult* find(CheckId id) const;
};

// Reports progress 0..1 with the check under way ("overfitting one batch").
using PreflightProgress = std::function<void(double fraction, const std::string& stage)>;

// Runs every check. fitToData first when the experiment is not fitted yet. Never throws:
// problems end up in report.error. The control is looked at once per training step.
PreflightReport runPreflight(const PreparedExperiment& experiment, const DataBundle& data,
                             const PreflightProgress& progress, TrainControl& control,
                             const PreflightOptions& options = {});

// The checks that need no training (also run by runPreflight), for tests and the editor.
CheckResult checkOutputLayer(const ExperimentSpec& spec);
CheckResult checkLabelBalance(const DataBundle& data, int64_t minClassExamples, std::vector<int64_t>* counts = nullptr);
CheckResult checkInputRange(const DataBundle& data, std::vector<FeatureRange>* ranges = nullptr);

} // namespace nnlab
