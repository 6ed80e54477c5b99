// Commands on a trained model: `export` (safetensors, ONNX, PyTorch code), `predict` and
// `evaluate`.
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int exportCommand(std::vector<std::string> args);
int predictCommand(std::vector<std::string> args);
int evaluateCommand(std::vector<std::string> args);

} // namespace nnlab::cli
