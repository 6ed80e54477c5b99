// nnlab-cli: the engine headless, for scripts and CI. This program has no LibTorch, so the
// store commands (`runs ...`) start in a tenth of a second; every other command is handed to
// nnlab-engine, which takes over the process (engine_forward.h).
#include "cli_args.h"
#include "cli_help.h"
#include "engine_forward.h"
#include "runs_command.h"

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    using namespace nnlab::cli;
    setCommandLine(argc, argv);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kHelp, args.empty() ? stderr : stdout);
        return args.empty() ? kExitUsage : kExitOk;
    }
    if (args[0] == "runs") {
        args.erase(args.begin());
        return runsCommand(args);   // `runs resume` trains: it forwards too
    }
    return forwardToEngine();
}
