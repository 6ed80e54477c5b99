// Experiment files (JSON, "format": "nnlab.experiment/1") to and from ExperimentSpec.
// Parsing rejects unknown keys, wrong types and bad values, each with its JSON path, and
// then runs the full validation (shapes included) so one call reports every problem.
#pragma once

#include "nnlab/model_info.h"
#include "nnlab/spec.h"

#include <string>
#include <vector>

namespace nnlab {

inline constexpr const char* kExperimentFormat = "nnlab.experiment/1";

struct ParseResult {
    ExperimentSpec spec;     // complete (defaults filled) when ok()
    ModelInfo model;         // the validation's inspection of spec.model (when complete)
    Problems problems;
    // The document was read whole: only value and shape problems remain, so an editor can
    // open the spec and show them in place.
    bool complete = false;
    bool ok() const { return problems.empty(); }
    std::string errorText() const;   // one problem a line
};

// `overrides` are "key.path=value" strings (as `--set`): the value is read as JSON when it
// parses as JSON, else as a string; paths may index arrays: "model.layers[5].out_features".
ParseResult parseExperiment(const std::string& jsonText, const std::vector<std::string>& overrides = {});

// Reads the file; problems with the file itself carry the file name as their path.
// Relative data.path and data.test_path in the file are relative to the file's folder (as in
// every tool users know) and come back absolute, so the spec loads from any working
// directory; absolute paths and an empty path (fashion-mnist's default) stay as they are.
// Paths set by `overrides` are applied after that and stay relative to the working directory.
// nnlab-cli and the GUI both open files through here. A spec from parseExperiment or built
// in memory keeps its paths as they are: relative ones are read from the working directory.
ParseResult loadExperimentFile(const std::string& path, const std::vector<std::string>& overrides = {});

// Pretty JSON that parses back to an equal spec. Only the options that apply to the chosen
// types are written (an adam optimizer has no momentum key).
std::string experimentToJson(const ExperimentSpec& spec);

// Writes atomically (temporary file + rename). Returns an error message, or "" on success.
// Data paths are written for the file's folder, so that a document saved elsewhere still
// finds its data: relative to that folder when the data and the file share a folder below
// the root ("../data/iris.csv"), else absolute ("/usr/share/datasets/..."). A relative path
// in `spec` is first taken as relative to the working directory.
std::string saveExperimentFile(const ExperimentSpec& spec, const std::string& path);

} // namespace nnlab
