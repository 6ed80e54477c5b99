// The compression lab: smaller or faster versions of a trained run, each a real model (no
// masks pretending to be savings), each recorded as a run whose parent is the source run, and
// every figure measured (accuracy, bytes on disk, latency), the parent measured the same way.
// Distillation is in nnlab/distill.h, sensitivity analysis in nnlab/sensitivity.h.
#pragma once

#include "nnlab/trainer.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nnlab {

class RunStore;

enum class CompressMethod {
    None,               // an uncompressed run
    PruneUnstructured,  // magnitude pruning; the model file is stored sparsely
    PruneStructured,    // whole filters / output features removed: a smaller experiment
    QuantizeStatic,     // post-training static int8 (conv and linear, activations calibrated)
    QuantizeDynamic,    // dynamic int8 (linear layers; activations quantized per call)
    Distill,            // a student trained on a teacher run's soft targets (nnlab/distill.h)
};
// "", "prune", "prune-structured", "int8-static", "int8-dynamic", "distill": the names the
// store (run info "compression.method"), the CLI and the compare table use.
const char* compressMethodName(CompressMethod method);
std::optional<CompressMethod> compressMethodFromName(const std::string& name);

enum class PruneNorm { L1, L2 };              // how filters are ranked (structured)
enum class PruneSchedule { OneShot, Agp };    // AGP: cubic sparsity ramp over fine-tuning (Zhu & Gupta 2017)

struct PruneOptions {
    double sparsity = 0.5;           // fraction of weights (unstructured) or of filters and output
                                     // features (structured) removed; [0, 1)
    bool structured = false;         // remove whole conv filters / linear outputs, physically
    bool global = false;             // unstructured: one magnitude threshold over all layers
                                     // (default: the same fraction in each layer)
    PruneNorm norm = PruneNorm::L1;  // structured: filters with the smallest norms go
    int64_t finetuneEpochs = 0;      // training epochs after pruning, masks held; 0 = none
    PruneSchedule schedule = PruneSchedule::OneShot;   // Agp needs finetuneEpochs >= 1
};

enum class QuantizeMode { Static, Dynamic };
enum class QuantEngine { Auto, OneDnn, Qnnpack, Fbgemm };   // Auto: the best this CPU supports

struct QuantizeOptions {
    QuantizeMode mode = QuantizeMode::Static;
    QuantEngine engine = QuantEngine::Auto;
    bool perChannel = false;             // weight scales per output channel (default per tensor)
    int64_t calibrationSamples = 1000;   // training samples that set activation ranges; >= 1
    double maxDrop = -1.0;               // accuracy-aware: keep the layers whose int8 costs most
                                         // in float until the validation accuracy drop is at
                                         // most this (0.01 = 1 point); < 0 = off
    bool fastestPerLayer = true;         // time each layer in int8 and float, keep the faster
    std::vector<std::string> floatLayers;   // layers kept in float whatever else is chosen
};

struct CompressRequest {
    CompressMethod method = CompressMethod::QuantizeStatic;   // PruneUnstructured/Structured or Quantize*
    PruneOptions prune;
    QuantizeOptions quantize;
    std::string databasePath;            // empty = defaultDatabasePath()
    std::string runName;                 // empty = "<parent name> <method>"
    int latencyThreads = 1;              // threads while timing (the figures: one)
    int latencyCalls = 50;               // timed calls per batch size after warm-up; >= 10
};

struct LatencyFigure {
    int64_t batch = 0;
    double medianMs = 0.0;
    double p10Ms = 0.0;                  // the spread: 10th and 90th percentile calls
    double p90Ms = 0.0;
    int calls = 0;
};

struct LayerMeasurement {
    std::string name;                    // state-dict path: "0", "3.body.0"
    std::string type;                    // "conv2d", "linear", ...
    int64_t parameters = 0;
    int64_t nonzeroParameters = 0;
    int64_t macs = 0;                    // per sample
    double latencyShare = 0.0;           // of the batch-64 forward pass, 0..1
    bool quantized = false;              // runs in int8
};

struct ModelMeasurement {
    double validationAccuracy = -1.0;    // -1: no such split
    double testAccuracy = -1.0;
    int64_t parameters = 0;
    int64_t nonzeroParameters = 0;
    int64_t fileBytes = 0;               // the saved model on disk
    LatencyFigure batch1;
    LatencyFigure batch64;
    double throughput = 0.0;             // samples/s at batch 64
    std::vector<LayerMeasurement> layers;
};

struct CompressProgress {
    std::string stage;                   // "pruning", "fine-tuning", "calibrating", "measuring", ...
    int64_t done = 0;
    int64_t total = 0;                   // 0 = unknown
};
using CompressProgressFn = std::function<void(const CompressProgress&)>;

struct CompressResult {
    std::string runId;                   // the new run
    std::string parentId;
    CompressMethod method = CompressMethod::None;
    ModelMeasurement measurement;
    ModelMeasurement parent;             // the parent, measured the same way in the same process
    std::string modelPath;               // the saved model (an artifact of the run, kind "model")
    std::string summary;                 // one line for the CLI and the GUI
};

// Where a result goes in the run store (written by compressRun and by distillation, read by
// compareRuns; engine/src/compress/compress_record.h):
// - a run whose parentId is the source run, status finished; with fine-tuning it is the
//   fine-tuning run itself (its curves, checkpoints), else a run of no training steps;
// - metrics at step 0: compress/<figure> for the result and parent/<figure> for the parent
//   measured in the same process, figures test_accuracy, validation_accuracy, file_bytes,
//   parameters, nonzero_parameters, latency_b1_ms (+ _p10_ms, _p90_ms), latency_b64_ms
//   (+ _p10_ms, _p90_ms), throughput, latency_calls;
// - artifact "model": the saved model, beside the checkpoints (<store>/checkpoints/<run id>
//   .int8.safetensors, .sparse.safetensors or .safetensors);
// - artifact "compression": <run id>.compression.json beside it, {"method", "parent",
//   "options" (the method's settings and report), "model", "layers", "parent_layers"} with
//   the layers as LayerMeasurement fields in snake_case.
//
// Compresses a stored run (an id or a unique prefix) and records the result as a new run.
// Throws std::invalid_argument for bad options (the message names the option: "--prune: a
// sparsity must be in [0, 1), got 1.2") and std::runtime_error for a run that cannot be
// compressed (no checkpoint, a layer the quantized back end cannot run), naming it.
// Cancelling through `control` stops between stages and records nothing (the result's summary
// starts with "cancelled"), except during fine-tuning, whose run is recorded as cancelled
// (its id in runId).
CompressResult compressRun(const std::string& runIdOrPrefix, const CompressRequest& request,
                           TrainControl& control, const CompressProgressFn& progress = {});

// Measures a stored run's model (compressed or not) as compressRun measures its results.
ModelMeasurement measureRun(const RunStore& store, const std::string& runId, int latencyThreads = 1,
                            int latencyCalls = 50, const CompressProgressFn& progress = {});

// One row of `nnlab-cli compare` and of the Pareto chart.
struct CompareRow {
    std::string runId;
    std::string name;
    std::string parentId;
    CompressMethod method = CompressMethod::None;
    ModelMeasurement measurement;
    // The parent as measured in the same process as this row (compressRun, distillation), for
    // like-with-like ratios; testAccuracy and fileBytes stay -1 and 0 when none was recorded.
    ModelMeasurement parentMeasurement;
};
// Rows for the given runs, from what compressRun recorded; an uncompressed run without a
// recorded measurement is measured now (measureRun) when `measureMissing`.
std::vector<CompareRow> compareRuns(const RunStore& store, const std::vector<std::string>& runIds,
                                    bool measureMissing = true, const CompressProgressFn& progress = {});

enum class ParetoCost { FileBytes, LatencyBatch1, LatencyBatch64 };
// Indices of the rows on the frontier: no other row has higher test accuracy at lower cost.
std::vector<size_t> paretoFrontier(const std::vector<CompareRow>& rows, ParetoCost cost);

} // namespace nnlab
