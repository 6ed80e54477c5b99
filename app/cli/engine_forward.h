// nnlab-cli comes in two programs so that the store commands start fast: LibTorch takes
// about half a second to load before main() runs, which `runs list` at 10,000 runs must not
// pay. `nnlab-cli` (no LibTorch) runs the `runs` commands itself and hands every other
// command to `nnlab-engine` (everything), which replaces it by exec with the same command
// line: the same process id, signals and exit status, as if it were one program.
#pragma once

#include <string>
#include <vector>

namespace nnlab::cli {

// Called once by main with the whole command line.
void setCommandLine(int argc, char** argv);

// Where nnlab-engine is: beside this program (the build tree), else
// ../libexec/nnlab/nnlab-engine (installed). Empty when neither exists.
std::string enginePath();

// Execs nnlab-engine with this process's command line; returns only when that fails (after
// printing why), with exit status 1.
int forwardToEngine();

} // namespace nnlab::cli
