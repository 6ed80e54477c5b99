// `nnlab-cli check`: the recipe pre-flight (nnlab/preflight.h) with one line per check.
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int checkCommand(const std::vector<std::string>& args);   // argv after "check"

} // namespace nnlab::cli
