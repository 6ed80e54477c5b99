// Commands of the compression lab (nnlab/compress.h): `compress` (prune, quantize),
// `compare` (the Pareto table), `distill` and `sensitivity`.
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int compressCommand(std::vector<std::string> args);      // compress_command.cpp
int compareCommand(std::vector<std::string> args);       // compress_command.cpp
int distillCommand(std::vector<std::string> args);       // distill_command.cpp
int sensitivityCommand(std::vector<std::string> args);   // distill_command.cpp

} // namespace nnlab::cli
