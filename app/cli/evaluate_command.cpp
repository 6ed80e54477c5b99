// `nnlab-cli evaluate MODEL [--experiment EXPERIMENT.json]`: loss and accuracy of trained
// weights on an experiment's validation and test data.
#include "model_commands.h"

#include "cli_args.h"
#include "experiment_arg.h"
#include "model_source.h"

#include "nnlab/data.h"

#include <cstdio>

namespace nnlab::cli {

namespace {

const char* kEvaluateHelp = R"(Usage: nnlab-cli evaluate MODEL [EXPERIMENT.json] [options]

Evaluates trained weights on an experiment's data: its validation and test splits, loaded,
split and normalized as training does. MODEL is a run id (or unique prefix), or a
FILE.safetensors from `nnlab-cli export` or another tool that names its tensors as nnlab
does ("0.weight", "3.body.0.weight", ...). The experiment is the one stored with the run or
in the file's metadata, unless EXPERIMENT.json is given: then the weights are evaluated on
that experiment's data and must fit its model (every tensor named, each shape right).

Options:
  --set key.path=value     override a field of EXPERIMENT.json (repeatable)
  --checkpoint best|latest which weights of a run (default best, when it kept one)
  --db PATH                run store file (default $NNLAB_DB, else ~/.local/share/nnlab/runs.db)
  -h, --help               this help

Exit status: 0 evaluated, 1 failed (data unreadable), 2 bad arguments, unknown run, or weights
that do not fit the experiment.
)";

} // namespace

int evaluateCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kEvaluateHelp, stdout);
        return kExitOk;
    }
    const ModelSourceOptions source = modelSourceOptions(args);
    const std::vector<std::string> overrides = args.values("--set");
    std::string error;
    std::vector<std::string> positionals = args.positionals(error);
    if (!error.empty() || !args.missingValue().empty())
        return usageError("evaluate", error.empty() ? args.missingValue() + " needs a value" : error);
    if (positionals.empty() || positionals.size() > 2)
        return usageError("evaluate", "expected MODEL and optionally EXPERIMENT.json");
    if (!source.ok())
        return usageError("evaluate", source.error);

    LoadedModel model;
    if (const int status = loadModel(positionals[0], source, model); status != kExitOk)
        return status;
    ExperimentSpec spec = model.weights.spec;
    if (positionals.size() == 2) {
        Args experimentArgs({positionals[1]});
        const ExperimentArgument experiment = experimentArgument("evaluate", experimentArgs, overrides);
        if (experiment.exitStatus != 0)
            return experiment.exitStatus;
        spec = experiment.experiment.spec;
    }
    std::vector<WeightsEvaluation> results;
    try {
        results = evaluateWeights(spec, model.weights.tensors);
    } catch (const DataError& e) {
        std::fprintf(stderr, "nnlab-cli evaluate: %s\n", e.what());
        return kExitFailed;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli evaluate: %s\n", e.what());
        return kExitUsage;
    }
    std::printf("%s on %s data\n", model.description.c_str(), spec.data.source.c_str());
    std::printf("  %-10s %8s %10s %10s\n", "split", "samples", "loss", "accuracy");
    for (const WeightsEvaluation& e : results) {
        if (e.accuracy >= 0)
            std::printf("  %-10s %8lld %10.4f %10.4f\n", e.split.c_str(), static_cast<long long>(e.samples), e.loss, e.accuracy);
        else
            std::printf("  %-10s %8lld %10.4f %10s\n", e.split.c_str(), static_cast<long long>(e.samples), e.loss, "-");
    }
    return kExitOk;
}

} // namespace nnlab::cli
