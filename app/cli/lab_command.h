// `nnlab-cli lab run LAB.json` and `lab new`: teaching labs (nnlab/lab.h).
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int labCommand(std::vector<std::string> args);

} // namespace nnlab::cli
