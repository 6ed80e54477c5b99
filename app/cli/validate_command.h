// `nnlab-cli validate`: needs the spec and data libraries only, so the light nnlab-cli runs it
// itself, without loading LibTorch (engine_forward.h).
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int validateCommand(const std::vector<std::string>& args);   // argv after "validate"

} // namespace nnlab::cli
