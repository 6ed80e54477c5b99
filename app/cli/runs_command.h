// `nnlab-cli runs ...`: list, show, export, diff, delete, resume and import stored runs.
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int runsCommand(const std::vector<std::string>& args);  // argv after "runs"

} // namespace nnlab::cli
