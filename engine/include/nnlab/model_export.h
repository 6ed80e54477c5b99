// Exports of a trained model for other tools. Each takes the same raw inputs as `predict`
// and `serve`: the training data's normalization is part of the exported model.
#pragma once

#include "nnlab/trained_model.h"

#include <optional>
#include <string>

namespace nnlab {

enum class ExportFormat {
    Safetensors,   // weights under their state-dict names; experiment and interface as metadata
    Onnx,          // opset 17: Sub/Div normalization first, logits and probabilities out
    Pytorch,       // FILE.py (an nn.Module that rebuilds the network) + FILE.safetensors beside it
};
const char* toString(ExportFormat format);                       // "safetensors", "onnx", "pytorch"
std::optional<ExportFormat> exportFormatFromString(const std::string& text);

// Writes the export atomically; returns the files written. Throws std::runtime_error naming
// the path, or the layer the format cannot express.
std::vector<std::string> exportModel(const TrainedWeights& weights, ExportFormat format,
                                     const std::string& path);

// The pieces, for tests and for the formats' own files.
void exportSafetensors(const TrainedWeights& weights, const std::string& path);
void exportOnnx(const TrainedWeights& weights, const std::string& path);
// Writes the Python module to `path` and its weights to `weightsPath`.
void exportPytorch(const TrainedWeights& weights, const std::string& path, const std::string& weightsPath);

} // namespace nnlab
