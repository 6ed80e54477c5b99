// An experiment on its way from file to run, prepared once: parsed, validated, its model
// inspected (per-layer shapes, parameters, MACs) and its layout hashed. The builder, the
// trainer, checkpoints and the store take this one value; none of them validates, inspects
// or hashes again. The path is one way:
//   file -> parseExperiment -> prepareExperiment -> (data loaded) fitToData -> builder ->
//   trainer -> callbacks -> store and charts
#pragma once

#include "nnlab/data.h"
#include "nnlab/model_info.h"
#include "nnlab/spec.h"
#include "nnlab/spec_json.h"

#include <cstdint>

namespace nnlab {

struct PreparedExperiment {
    ExperimentSpec spec;       // validated; after fitToData, completed from the data
    ModelInfo model;           // inspectModel(spec.model): shapes, parameters, MACs
    uint64_t layoutHash = 0;   // the network and optimizer a checkpoint belongs to
    bool fitted = false;       // fitToData checked it against loaded data
};

struct Preparation {
    PreparedExperiment experiment;   // usable when ok()
    Problems problems;
    bool ok() const { return problems.empty(); }
    std::string errorText() const;   // one problem a line
};

// Validates and inspects a spec (from the editor, or built in code).
Preparation prepareExperiment(const ExperimentSpec& spec);
// Takes a parse's own validation and model inspection instead of repeating them.
Preparation prepareExperiment(const ParseResult& parsed);

// Once the data is loaded: fills in what the experiment leaves to the data (an omitted
// model.input, the classifier's width), then checks that model and data fit. Problems name
// the field and what the data has.
Preparation fitToData(const PreparedExperiment& experiment, const DataBundle& data);

// FNV-1a over the optimizer type, the loss and each layer's name, type, output shape and
// parameter count: what must match for a checkpoint's weights and optimizer state to load.
uint64_t layoutHash(const ExperimentSpec& spec, const ModelInfo& model);

} // namespace nnlab
