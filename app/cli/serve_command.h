// `nnlab-cli serve RUN`: a trained run behind a local HTTP inference server (nnlab/serve.h).
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

int serveCommand(const std::vector<std::string>& args);   // argv after "serve"

} // namespace nnlab::cli
