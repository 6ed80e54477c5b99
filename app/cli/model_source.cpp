#include "model_source.h"

#include "nnlab/store.h"

#include <cctype>
#include <cstdio>

namespace nnlab::cli {

ModelSourceOptions modelSourceOptions(Args& args)
{
    ModelSourceOptions options;
    options.database = args.value("--db").value_or(defaultDatabasePath());
    if (const auto which = args.value("--checkpoint")) {
        if (*which == "best")
            options.checkpoint = CheckpointChoice::Best;
        else if (*which == "latest")
            options.checkpoint = CheckpointChoice::Latest;
        else
            options.error = "--checkpoint: '" + *which + "' is not best or latest";
    }
    return options;
}

int loadModel(const std::string& run, const ModelSourceOptions& options, LoadedModel& out)
{
    const bool file = run.size() > 12 && run.compare(run.size() - 12, 12, ".safetensors") == 0;
    try {
        if (file) {
            out.weights = weightsFromSafetensors(run);
            out.description = run;
            return kExitOk;
        }
        StoreOptions readOnly;
        readOnly.readOnly = true;
        auto store = RunStore::open(options.database, readOnly);
        if (!store.ok()) {
            std::fprintf(stderr, "nnlab-cli: %s\n", store.error.message.c_str());
            return kExitFailed;
        }
        out.weights = loadTrainedWeights(*store.value, run, options.checkpoint);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli: %s\n", e.what());
        return file ? kExitFailed : kExitUsage;
    }
    const bool best = out.weights.checkpointPath.size() > 8
                      && out.weights.checkpointPath.compare(out.weights.checkpointPath.size() - 8, 8, ".best.pt") == 0;
    out.description = "run " + out.weights.runId + " (" + out.weights.runName + "), "
                      + (best ? "best" : "latest") + " checkpoint";
    return kExitOk;
}

std::string defaultExportName(const TrainedWeights& weights, const std::string& extension)
{
    std::string name = weights.runName.empty() ? "model" : weights.runName;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
            c = '_';
    if (!weights.runId.empty())
        name += "-" + weights.runId.substr(weights.runId.rfind('-') + 1);
    return name + extension;
}

} // namespace nnlab::cli
