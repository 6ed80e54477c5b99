// Where `export`, `predict` and `serve` take a trained model from: a run in the store (id or
// prefix, --db, --checkpoint best|latest) or an exported safetensors file.
#pragma once

#include "cli_args.h"

#include "nnlab/trained_model.h"

#include <string>

namespace nnlab::cli {

struct ModelSourceOptions {
    std::string database;                              // --db, else the default store
    CheckpointChoice checkpoint = CheckpointChoice::Best;
    std::string error;                                 // a bad --checkpoint
    bool ok() const { return error.empty(); }
};

// Takes --db and --checkpoint out of `args`.
ModelSourceOptions modelSourceOptions(Args& args);

struct LoadedModel {
    TrainedWeights weights;
    std::string description;   // "run 3f2a9c1e (fashion-cnn), best checkpoint"
};

// RUN may be a run id or prefix, or a .safetensors file. Prints the problem and returns
// kExitUsage (unknown run, no checkpoint) or kExitFailed (unreadable file); kExitOk when loaded.
int loadModel(const std::string& run, const ModelSourceOptions& options, LoadedModel& out);

// A compression result whose only model is an int8 file (nnlab.int8/1: no checkpoint, no
// float weights). `export --format safetensors` copies that file; everything needing float
// weights gets loadTrainedWeights' message naming the run, its method and what works instead.
struct Int8Result {
    std::string runId, runName, path, method, parentId;
    bool found() const { return !path.empty(); }
};
// Empty when RUN is a file, is not such a run, or cannot be looked up (loadModel reports that).
Int8Result int8ResultOf(const std::string& run, const ModelSourceOptions& options);

// "<run name>-<first 8 of the id><extension>", safe as a file name.
std::string defaultExportName(const TrainedWeights& weights, const std::string& extension);

} // namespace nnlab::cli
