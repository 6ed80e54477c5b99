#include "nnlab/model_export.h"

#include "nnlab/spec_json.h"

#include <filesystem>
#include <stdexcept>

namespace nnlab {

const char* toString(ExportFormat format)
{
    switch (format) {
    case ExportFormat::Safetensors: return "safetensors";
    case ExportFormat::Onnx: return "onnx";
    case ExportFormat::Pytorch: return "pytorch";
    }
    return "?";
}

std::optional<ExportFormat> exportFormatFromString(const std::string& text)
{
    for (ExportFormat f : {ExportFormat::Safetensors, ExportFormat::Onnx, ExportFormat::Pytorch})
        if (text == toString(f))
            return f;
    return std::nullopt;
}

void exportSafetensors(const TrainedWeights& weights, const std::string& path)
{
    writeSafetensors(path, weights.tensors,
                     {{"format", "nnlab.safetensors/1"},
                      {"experiment", experimentToJson(weights.spec)},
                      {"interface", interfaceToJson(weights.interface)},
                      {"run", weights.runId}});
}

std::vector<std::string> exportModel(const TrainedWeights& weights, ExportFormat format, const std::string& path)
{
    switch (format) {
    case ExportFormat::Safetensors:
        exportSafetensors(weights, path);
        return {path};
    case ExportFormat::Onnx:
        exportOnnx(weights, path);
        return {path};
    case ExportFormat::Pytorch: {
        const std::string weightsPath = std::filesystem::path(path).replace_extension(".safetensors").string();
        exportPytorch(weights, path, weightsPath);
        return {path, weightsPath};
    }
    }
    throw std::invalid_argument("export: unknown format");
}

} // namespace nnlab
