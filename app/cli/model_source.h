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

// "<run name>-<first 8 of the id><extension>", safe as a file name.
std::string defaultExportName(const TrainedWeights& weights, const std::string& extension);

} // namespace nnlab::cli
