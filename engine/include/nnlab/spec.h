// Experiment specification: plain value types, safe to copy between threads.
// JSON parsing lives in spec_json.h; validation and shape inference in model_info.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nnlab {

// One layer. Options are numbers keyed by their torch.nn name (booleans are 0/1); the
// layer-type table in layer_types.h lists each type's options with defaults and ranges,
// and the parser fills every option so a spec is always complete.
struct LayerSpec {
    std::string type;                       // torch.nn name in snake case: "conv2d", "relu", ...
    std::string name;                       // optional; parameter names use it, else the index
    std::map<std::string, double> options;  // every option of the type, defaults filled in
    std::vector<LayerSpec> layers;          // the body of a "residual" block, else empty

    double option(const std::string& key) const;   // the value, or the type's default
    int64_t intOption(const std::string& key) const { return static_cast<int64_t>(option(key)); }
    bool flag(const std::string& key) const { return option(key) != 0.0; }
};

struct ModelSpec {
    // Per-sample shape without the batch dimension: [features] or [channels, height, width].
    // Empty = taken from the data (JSON: "input" omitted); completeFromData (model_info.h) fills
    // it in once the data is loaded, and until then the shapes that depend on it are unknown.
    std::vector<int64_t> input{1, 28, 28};
    // The last top-level linear layer may have out_features 0 (JSON: omitted), meaning as many
    // outputs as the data needs: its number of classes (cross_entropy) or regression targets (mse).
    std::vector<LayerSpec> layers;
};

struct DataSpec {
    std::string source = "fashion-mnist";   // spiral|moons|circles|xor|blobs|fashion-mnist|idx|cifar10|csv
    std::string path;                        // folder or file; fashion-mnist defaults to the Debian package's folder
    std::string testPath;                    // csv: optional separate test file
    int64_t samples = 1000;                  // 2-D generators: number of points, >= 10
    int64_t classes = 2;                     // 2-D generators (spiral, blobs): number of classes, 2..10
    double noise = 0.1;                      // 2-D generators: noise level, 0..2
    int64_t trainLimit = 0;                  // use at most this many training samples; 0 = all
    double validationFraction = 0.1;         // share of the training data held out, 0 <= f < 1
    std::string normalize = "auto";          // auto|none|standardize|scale (auto: scale images to [0,1]
                                             // then standardize per channel; standardize tabular features)
    bool shuffle = true;                     // shuffle the training set each epoch
    std::string labelColumn;                 // csv: column name or 0-based index; default the last column
    std::string header = "auto";             // csv: auto|yes|no
    std::string delimiter = ",";             // csv: one character
    int64_t skipRows = 0;                    // csv: lines skipped at the top of the file, before the header
                                             // or data (metadata, a title), >= 0
    std::string comment;                     // csv: lines starting with this prefix (after spaces) are skipped
                                             // wherever they are, like pandas' comment; "" = none, one line
};

struct OptimizerSpec {
    std::string type = "adamw";              // sgd|adam|adamw|rmsprop
    double lr = 1e-3;                        // base learning rate, > 0
    double momentum = 0.0;                   // sgd, rmsprop: 0..1
    bool nesterov = false;                   // sgd: needs momentum > 0
    double weightDecay = 0.0;                // L2 (sgd, adam, rmsprop) or decoupled (adamw), >= 0
    double beta1 = 0.9;                      // adam, adamw
    double beta2 = 0.999;                    // adam, adamw
    double eps = 1e-8;                       // adam, adamw, rmsprop
    double alpha = 0.99;                     // rmsprop smoothing
};

// The learning rate over a run, as PyTorch's schedulers compute it (learningRateAt):
//   constant       lr
//   step           StepLR per epoch: lr * gamma^floor(epoch / step_size)
//   exponential    ExponentialLR per epoch: lr * gamma^epoch
//   cosine         CosineAnnealingLR per step from lr to min_lr over the run (T_max = the steps
//                  after any warm-up); no warm-up unless warmup_steps is set
//   warmup_cosine  the same after a warm-up that defaults to 5% of the run's steps (at least 1)
//   onecycle       OneCycleLR, cosine annealing, lr = max_lr; the momentum is not cycled
// A warm-up (every type but onecycle) is LinearLR(start_factor = 1 / W, total_iters = W - 1):
// step s < W runs at lr * (s + 1) / W; step, exponential then continue at their own epoch.
struct ScheduleSpec {
    std::string type = "constant";           // constant|step|exponential|cosine|warmup_cosine|onecycle
    int64_t warmupSteps = 0;                 // linear warm-up steps W, >= 0; 0 = none (warmup_cosine: 5%)
    int64_t stepSize = 1;                    // step: epochs between decays, >= 1
    double gamma = 0.1;                      // step, exponential (per epoch): factor, 0 < g <= 1
    double minLr = 0.0;                      // cosine, warmup_cosine: final learning rate, >= 0
    double pctStart = 0.3;                   // onecycle: share of steps spent rising, 0 < p < 1
    double divFactor = 25.0;                 // onecycle: initial lr = lr / div_factor
    double finalDivFactor = 1e4;             // onecycle: final lr = initial lr / final_div_factor
};

// warmup_cosine's warm-up when warmup_steps is 0: this share of the run's steps, at least 1.
inline constexpr double kDefaultWarmupShare = 0.05;

struct TrainingSpec {
    int64_t epochs = 2;                      // >= 1
    int64_t batchSize = 64;                  // >= 1
    int64_t evalBatchSize = 0;               // batch size for validation and test; 0 = batchSize (batches
                                             // that stay in a CPU's caches evaluate fastest)
    double gradClipNorm = 0.0;               // clip the global gradient norm to this; 0 = off
    double gradClipValue = 0.0;              // clamp each gradient to +-this; 0 = off
    int64_t threads = 0;                     // intra-op threads; 0 = pick the fastest by measuring
    std::string device = "auto";             // auto|cpu|cuda|cuda:N (auto: the first CUDA device if any, else cpu)
    int64_t logEverySteps = 10;              // report train metrics every N steps, >= 1
    int64_t checkpointEverySteps = 0;        // also write the latest checkpoint every N steps; 0 = off
    double checkpointEverySeconds = 10;      // write the latest checkpoint when the last one is this old
                                             // (checked after each step); 0 = only at epoch ends and stops
    std::string bestMetric = "auto";         // keep a second checkpoint at the best value of this metric
                                             // ("val/accuracy", "val/loss", ...; its direction comes from the
                                             // name); auto: val/accuracy for classification, else val/loss;
                                             // "none": no best checkpoint
    bool deterministic = false;              // same metrics bit for bit on the same machine: a fixed thread
                                             // count (training.threads, else 1) and fixed kernel choices,
                                             // no measuring
    int64_t workers = 1;                     // data-parallel processes, 1..256: each takes a shard of every
                                             // batch (batch_size stays the global batch), gradients are
                                             // averaged over Gloo before each step; rank 0 records, checks
                                             // and evaluates. Local child processes, or the tasks of a Slurm
                                             // step (srun). No rollback monitors with more than one.
};

// A monitor rule: a recorded metric, a threshold (a fixed value, or coefficient x a running
// statistic of the metric) and what to do when the metric crosses it. JSON names in quotes.
enum class MonitorRule {
    NotFinite,          // "not_finite": NaN or infinite
    Above,              // "above": > value
    Below,              // "below": < value
    AboveRunningMin,    // "above_min": > coefficient x the lowest value so far (a diverging loss)
    BelowRunningMax,    // "below_max": < coefficient x the highest value so far (a collapsing accuracy)
    Spike,              // "spike": > coefficient x the mean of the previous `window` values
    Plateau,            // "plateau": no improvement by min_delta for `patience` evaluations (early stopping)
    SlowThroughput,     // "slow_throughput": < coefficient x the median of the previous `window` values
};

enum class MonitorAction {
    Annotate,           // "annotate": an alert on the timeline, the charts and the Alerts dock only
    Notify,             // "notify": also a desktop notification (GUI)
    Stop,               // "stop": end the run early, as finished (as failed for not_finite)
    StopKeepBest,       // "stop_keep_best": end it and restore the best checkpoint's weights
    Rollback,           // "rollback": back to the last checkpoint, learning rate x lr_factor, at most
                        // max_rollbacks times (then stop)
    MultiplyLr,         // "multiply_lr": learning rate x lr_factor (reduce on plateau)
};

struct MonitorSpec {
    std::string name;                        // shown in alerts; empty = "<metric> <rule>"
    std::string metric = "train/loss";       // a recorded tag: train/loss, val/accuracy, grad_norm,
                                             // samples_per_sec, step_time, ...
    MonitorRule rule = MonitorRule::NotFinite;
    double value = 0.0;                      // above, below: the fixed threshold
    double coefficient = 1.0;                // above_min, below_max, spike, slow_throughput: threshold =
                                             // coefficient x statistic; > 0
    int64_t window = 20;                     // spike, slow_throughput: values in the mean / median, >= 1
    double minDelta = 0.0;                   // plateau: a smaller improvement does not count, >= 0
    int64_t patience = 5;                    // plateau: evaluations (points) without improvement, >= 1
    std::vector<MonitorAction> actions{MonitorAction::Annotate};   // at least one
    double lrFactor = 0.5;                   // rollback, multiply_lr: 0 < f
    int64_t maxRollbacks = 3;                // rollback: at most this many, >= 1
};

// The rules a run gets when the experiment names none: a non-finite training loss stops it
// (as failed, naming the step and the first layer whose gradient went non-finite).
std::vector<MonitorSpec> defaultMonitors();

// A hyperparameter search over key paths of the experiment (as `--set` takes them).
enum class SweepMethod { Grid, Random };          // "grid": every combination; "random": `trials` draws
enum class SweepPruner { None, Asha, Median };    // "none", "asha" (successive halving), "median" stopping
enum class SweepScale { Linear, Log };            // random ranges: uniform, or log-uniform

struct SweepParameter {
    std::string path;                        // "optimizer.lr", "model.layers[0].out_channels"
    std::vector<std::string> values;         // grid, or a random choice: JSON texts ("0.01", "\"sgd\"")
    double min = 0.0;                        // random range, when values is empty: min < max
    double max = 0.0;
    SweepScale scale = SweepScale::Linear;   // log needs min > 0
    bool integer = false;                    // round drawn values
};

struct SweepSpec {
    SweepMethod method = SweepMethod::Grid;
    std::vector<SweepParameter> parameters;  // empty = no sweep
    int64_t trials = 10;                     // random: how many, >= 1
    int64_t concurrent = 1;                  // trials trained at once on this machine, >= 1
    std::string metric = "auto";             // what the trials are ranked by; auto = training.best_metric's
    SweepPruner pruner = SweepPruner::None;
    int64_t reductionFactor = 3;             // asha: keep 1 in this many at each rung, >= 2
    int64_t minEpochs = 1;                   // asha: epochs of the first rung; median: epochs before stopping, >= 1
};

// "Inside the network": what the trainer records beyond the loss (nnlab/snapshot.h). Each
// cadence counts optimizer steps; 0 = off. Defaults cost the default Fashion-MNIST CNN under
// 2% of its speed (README, "Inside the network"), and the spiral MLP's live boundary under 5%.
struct InspectSpec {
    // Metrics layers/<path>/act_mean, act_std, dead_fraction (relu family), weight_norm,
    // grad_norm, update_ratio, from one extra forward pass over the step's batch, >= 0.
    int64_t layerStatsEverySteps = 100;
    int64_t histogramsEverySteps = 100;      // weight and gradient histograms of conv2d/linear layers, >= 0
    // Decision boundary (2-feature classification only; ignored otherwise), >= 0. One costs a
    // forward pass over R x R points: about 2 training steps of the spiral MLP at R = 32.
    int64_t boundaryEverySteps = 100;
    int64_t boundaryResolution = 32;         // grid cells per side, 8..256 (neuron maps: half of it, >= 8)
    bool confusionMatrix = true;             // validation confusion matrix and per-class precision/recall
                                             // at each evaluation (classification only)
};
inline constexpr int64_t kMinBoundaryResolution = 8;
inline constexpr int64_t kMaxBoundaryResolution = 256;

struct ExperimentSpec {
    std::string name = "experiment";
    uint64_t seed = 0;
    DataSpec data;
    ModelSpec model;
    std::string loss = "cross_entropy";      // cross_entropy|mse
    OptimizerSpec optimizer;
    ScheduleSpec schedule;
    TrainingSpec training;
    std::vector<MonitorSpec> monitors = defaultMonitors();
    SweepSpec sweep;
    InspectSpec inspect;

    bool isClassification() const { return loss == "cross_entropy"; }
};

// The default experiment: the Fashion-MNIST CNN that nnlab opens with.
ExperimentSpec defaultExperiment();

// One problem found in a spec: the JSON path and what is wrong with it.
struct Problem {
    std::string path;      // "model.layers[3].kernel_size"; empty for the document itself
    std::string message;   // "must be >= 1, got 0"
    std::string text() const { return path.empty() ? message : path + ": " + message; }
};
using Problems = std::vector<Problem>;

// Learning rate at optimizer step `step` (0-based) of a run of `totalSteps` steps with
// `stepsPerEpoch` steps an epoch. Pure: the trainer and the editor's preview both use it.
double learningRateAt(const ScheduleSpec& schedule, double baseLr, int64_t step,
                      int64_t totalSteps, int64_t stepsPerEpoch);

// Structural equality: every field compared, layer options and residual bodies included.
// (Comparing serialized JSON would hide a field the serializer drops.) spec.cpp lists each
// struct's fields in one binding that stops compiling when a field is added, until the new
// field is listed and so compared.
bool operator==(const LayerSpec& a, const LayerSpec& b);
bool operator!=(const LayerSpec& a, const LayerSpec& b);
bool operator==(const ModelSpec& a, const ModelSpec& b);
bool operator!=(const ModelSpec& a, const ModelSpec& b);
bool operator==(const DataSpec& a, const DataSpec& b);
bool operator!=(const DataSpec& a, const DataSpec& b);
bool operator==(const OptimizerSpec& a, const OptimizerSpec& b);
bool operator!=(const OptimizerSpec& a, const OptimizerSpec& b);
bool operator==(const ScheduleSpec& a, const ScheduleSpec& b);
bool operator!=(const ScheduleSpec& a, const ScheduleSpec& b);
bool operator==(const TrainingSpec& a, const TrainingSpec& b);
bool operator!=(const TrainingSpec& a, const TrainingSpec& b);
bool operator==(const MonitorSpec& a, const MonitorSpec& b);
bool operator!=(const MonitorSpec& a, const MonitorSpec& b);
bool operator==(const SweepParameter& a, const SweepParameter& b);
bool operator!=(const SweepParameter& a, const SweepParameter& b);
bool operator==(const SweepSpec& a, const SweepSpec& b);
bool operator!=(const SweepSpec& a, const SweepSpec& b);
bool operator==(const InspectSpec& a, const InspectSpec& b);
bool operator!=(const InspectSpec& a, const InspectSpec& b);
bool operator==(const ExperimentSpec& a, const ExperimentSpec& b);
bool operator!=(const ExperimentSpec& a, const ExperimentSpec& b);

} // namespace nnlab
