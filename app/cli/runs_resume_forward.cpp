// `runs resume` in the light nnlab-cli: training needs LibTorch, so the engine takes over
// this process with the same command line (engine_forward.h).
#include "engine_forward.h"
#include "runs_subcommands.h"

namespace nnlab::cli {

int resumeRunCommand(RunsInvocation&)
{
    return forwardToEngine();
}

} // namespace nnlab::cli
