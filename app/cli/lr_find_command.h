// `nnlab-cli lr-find`: the learning-rate range test with a table and suggestions.
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int lrFindCommand(const std::vector<std::string>& args);   // argv after "lr-find"

} // namespace nnlab::cli
