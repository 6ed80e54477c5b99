// Sensitivity analysis: how much validation accuracy a trained run loses when one layer alone
// is pruned to each of a ladder of sparsities, or runs alone in int8 with every other layer in
// float. The GUI draws it as a heat map (layers x settings, colour = accuracy drop).
//
// Where it is kept: each analysis is recorded as a run of its own, parentId = the analysed
// run, status finished, tag "sensitivity", with the whole result as a JSON artifact of kind
// "sensitivity" (sensitivityToJson) and the base accuracy as metric sensitivity/base_accuracy
// at step 0. So it lists under its source, is deleted and imported like any run, and
// loadSensitivity reads it back from either the analysis run or its source.
#pragma once

#include "nnlab/compress.h"
#include "nnlab/trainer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nnlab {

class RunStore;

struct SensitivityOptions {
    std::vector<double> sparsities{0.2, 0.4, 0.6, 0.8};   // each in [0, 1); 0 is allowed (= base)
    bool structured = false;          // remove whole filters / outputs (PruneOptions::structured)
                                      // instead of single weights by magnitude
    PruneNorm norm = PruneNorm::L1;   // structured: how filters are ranked
    bool int8 = true;                 // also one column: the layer alone in static int8
    int64_t calibrationSamples = 1000;   // int8: training samples that set activation ranges
    std::string databasePath;         // empty = defaultDatabasePath()
    bool record = true;               // record the result as a run (see above)
};

// Problems with the options alone, one a line naming the option ("--sparsities: 1.2 is not in
// [0, 1)"); empty when fine.
std::string checkSensitivityOptions(const SensitivityOptions& options);

enum class SensitivityKind { Sparsity, Int8 };

// One column of the heat map.
struct SensitivitySetting {
    SensitivityKind kind = SensitivityKind::Sparsity;
    double sparsity = 0.0;            // Sparsity only
    std::string label() const;        // "20%", "int8"
};

// One row: a prunable layer (conv2d, or linear except the model's last layer).
struct SensitivityLayer {
    std::string name;                 // state-dict prefix: "0", "3.body.0" (LayerMeasurement::name)
    std::string type;                 // "conv2d", "linear"
    std::vector<int> specPath;        // indices into spec.model.layers (then .layers of a block):
                                      // what the model editor selects
    int64_t parameters = 0;           // weights and bias
};

struct SensitivityCell {
    double accuracy = -1.0;           // validation accuracy with this setting; -1 when not run
    double drop = 0.0;                // baseAccuracy - accuracy (positive = worse)
    std::string error;                // why it could not run (e.g. int8 of a layer the back end
                                      // cannot run); empty when it ran
    bool ran() const { return accuracy >= 0.0; }
};

struct SensitivityResult {
    std::string sourceRunId;
    std::string runId;                // the recorded analysis; empty when not recorded
    bool structured = false;
    double baseAccuracy = -1.0;       // the unchanged model, same data, same process
    std::string split;                // "validation" (or "test" when the run has no validation split)
    std::vector<SensitivityLayer> layers;
    std::vector<SensitivitySetting> settings;
    std::vector<std::vector<SensitivityCell>> cells;   // [layer][setting]
    bool cancelled = false;           // stopped early: the cells not reached have accuracy -1
    double seconds = 0.0;
};

struct SensitivityProgress {
    int64_t done = 0;                 // cells evaluated
    int64_t total = 0;
    std::string layer;                // the cell being evaluated
    std::string setting;
};
using SensitivityProgressFn = std::function<void(const SensitivityProgress&)>;

// Analyses a stored run (an id or a unique prefix), its best checkpoint. Throws
// std::invalid_argument for bad options (the message names the option) and
// std::runtime_error for a run that cannot be analysed (no such run, no checkpoint, nothing
// prunable), naming it. TrainControl: checked between cells (pause waits, cancel returns the
// cells done so far with cancelled = true, recorded as a cancelled run). One cell's failure
// (an int8 layer the back end cannot run) is kept in that cell's error; the rest go on.
SensitivityResult runSensitivity(const std::string& runIdOrPrefix, const SensitivityOptions& options,
                                 TrainControl& control, const SensitivityProgressFn& progress = {});

// The analysis recorded as `runId`, or, when `runId` is an analysed run, its latest recorded
// analysis. Throws std::runtime_error naming the run when there is none.
SensitivityResult loadSensitivity(const RunStore& store, const std::string& runId);

// The analysis runs recorded for a source run, newest first.
std::vector<std::string> sensitivityRunsOf(const RunStore& store, const std::string& sourceRunId);

std::string sensitivityToJson(const SensitivityResult& result);
// Throws std::runtime_error naming the field when `json` is not a sensitivity result.
SensitivityResult sensitivityFromJson(const std::string& json);

} // namespace nnlab
