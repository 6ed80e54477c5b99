// nnlab-engine: every nnlab-cli command, LibTorch loaded (engine_forward.h). nnlab-cli
// execs it for everything but the store commands; it can also be run directly.
#include "check_command.h"
#include "compress_commands.h"
#include "lab_command.h"
#include "cli_args.h"
#include "cli_help.h"
#include "lr_find_command.h"
#include "model_commands.h"
#include "runs_command.h"
#include "serve_command.h"
#include "sweep_command.h"
#include "train_command.h"
#include "validate_command.h"

#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

int runCommand(int argc, char** argv)
{
    using namespace nnlab::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kHelp, args.empty() ? stderr : stdout);
        return args.empty() ? kExitUsage : kExitOk;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (command == "train")
        return trainCommand(args);
    if (command == "validate")
        return validateCommand(args);
    if (command == "lr-find")
        return lrFindCommand(args);
    if (command == "check")
        return checkCommand(args);
    if (command == "runs")
        return runsCommand(args);
    if (command == "export")
        return exportCommand(args);
    if (command == "predict")
        return predictCommand(args);
    if (command == "evaluate")
        return evaluateCommand(args);
    if (command == "serve")
        return serveCommand(args);
    if (command == "compress")
        return compressCommand(args);
    if (command == "compare")
        return compareCommand(args);
    if (command == "distill")
        return distillCommand(args);
    if (command == "sensitivity")
        return sensitivityCommand(args);
    if (command == "lab")
        return labCommand(args);
    if (command == "sweep")
        return sweepCommand(args);
    if (command == "sweep-trial")   // hidden: one trial of a sweep, for a Slurm array task
        return sweepTrialCommand(args);
    if (command == "version" || command == "--version") {
        std::printf("nnlab %s\n", NNLAB_VERSION);
        return kExitOk;
    }
    std::fprintf(stderr, "nnlab-cli: unknown command '%s'\n%s", command.c_str(), kHelp);
    return kExitUsage;
}

} // namespace

int main(int argc, char** argv)
{
    const int status = runCommand(argc, argv);
    // Every command has joined its threads and closed its store and files by the time it
    // returns; what is left at exit is LibTorch's static destructors (operator deregistration),
    // 0.1-0.15 s of every process on the 2-core VM (bench_speed's exit column). Skip them.
    // Sanitizer builds exit normally so that LeakSanitizer's exit-time check still runs.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    std::fflush(nullptr);
    _exit(status);
#else
    return status;
#endif
}
