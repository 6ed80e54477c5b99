// nnlab-cli: the engine headless, for scripts and CI. This program has no LibTorch, so the
// store commands (`runs ...`), `validate` and `version` start in a few milliseconds; every other command is handed to
// nnlab-engine, which takes over the process (engine_forward.h).
#include "cli_args.h"
#include "cli_help.h"
#include "engine_forward.h"
#include "runs_command.h"
#include "validate_command.h"

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
    if (args[0] == "validate") {
        args.erase(args.begin());
        return validateCommand(args);
    }
    if (args[0] == "version" || args[0] == "--version") {
        std::printf("nnlab %s\n", NNLAB_VERSION);
        return kExitOk;
    }
    return forwardToEngine();
}
