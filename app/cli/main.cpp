// nnlab-cli: the engine headless, for scripts and CI.
#include "check_command.h"
#include "cli_args.h"
#include "lr_find_command.h"
#include "model_commands.h"
#include "runs_command.h"
#include "serve_command.h"
#include "sweep_command.h"
#include "train_command.h"

#include <cstdio>
#include <string>
#include <vector>

namespace {

const char* kHelp = R"(Usage: nnlab-cli COMMAND [options]

Commands:
  train [EXPERIMENT.json]   train an experiment (default: the Fashion-MNIST CNN) and record the run
  validate EXPERIMENT.json  check an experiment; print layer shapes, parameters and MACs
  lr-find [EXPERIMENT.json] find a learning rate: the range test's curve and suggestions
  check [EXPERIMENT.json]   the recipe pre-flight: initial loss, overfit one batch, gradient flow, ...
  sweep EXPERIMENT.json     a hyperparameter sweep: grid or random, pruned by ASHA, locally or on Slurm
  runs ...                  list, show, export, diff, delete, resume and import stored runs
  serve RUN                 serve a trained run over HTTP: batching, Prometheus metrics, drift monitors
  export RUN --format F     write a run's model as safetensors, ONNX or PyTorch code
  predict RUN INPUT         class probabilities for images, IDX, CIFAR, CSV or JSON lines
  evaluate MODEL [EXP.json] loss and accuracy of a run's or a safetensors file's weights
  version                   print the nnlab and LibTorch versions

'nnlab-cli COMMAND --help' describes each command.
)";

} // namespace

int main(int argc, char** argv)
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
