// Where a compression result goes in the run store (documented in nnlab/compress.h): metrics
// "compress/<figure>" and "parent/<figure>" at step 0, the model file as artifact kind "model",
// and a JSON artifact kind "compression" holding the method, its options and both models'
// per-layer measurements. Read back by compareRuns.
#pragma once

#include "nnlab/compress.h"
#include "nnlab/run_types.h"
#include "nnlab/store.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nnlab {
class RunRecorder;
}

namespace nnlab::compress {

constexpr const char* kResultPrefix = "compress";   // the result's own figures
constexpr const char* kParentPrefix = "parent";     // the parent's, measured in the same process

// "<prefix>/test_accuracy", "<prefix>/latency_b64_p90_ms", ... at `step`.
std::vector<MetricPoint> measurementMetrics(const std::string& prefix, const ModelMeasurement& m, int64_t step = 0);
// The figures back from a run's metric summaries; nullopt when the run has none under `prefix`.
std::optional<ModelMeasurement> measurementFromMetrics(const std::map<std::string, MetricSummary>& metrics,
                                                       const std::string& prefix);

nlohmann::json layersToJson(const std::vector<LayerMeasurement>& layers);
std::vector<LayerMeasurement> layersFromJson(const nlohmann::json& layers);

// "<store folder>/checkpoints/<run id><suffix>" (".int8.safetensors"): beside the run's
// checkpoints, so that the store's folder holds everything of the run. Creates the folder.
std::string modelPathFor(const std::string& databasePath, const std::string& runId, const std::string& suffix);

struct ResultRecord {
    CompressMethod method = CompressMethod::None;
    nlohmann::json options = nlohmann::json::object();   // the method's settings, as the CLI names them
    ModelMeasurement measurement;
    ModelMeasurement parent;
    std::string modelPath;                                // already saved
    std::string parentId;
};
// Adds a result's metrics and artifacts to a run begun on `recorder` (its own session or a
// fine-tuning session's beforeFinish). The "compression" JSON is written atomically beside
// the model. Throws std::runtime_error naming the file that could not be written.
void addResult(RunRecorder& recorder, const std::string& runId, const ResultRecord& record);

// A run's "compression" artifact (its newest), parsed; an empty object when it has none or
// the file is gone.
nlohmann::json compressionInfoOf(const RunStore& store, const std::string& runId);

} // namespace nnlab::compress
