#include "model_source.h"

#include "nnlab/store.h"

#include <cctype>
#include <cstdio>
#include <filesystem>

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
    if (!out.weights.modelFilePath.empty()) {   // a pruned result not fine-tuned: its model file
        out.description = "run " + out.weights.runId + " (" + out.weights.runName + "), compressed model "
                          + out.weights.modelFilePath;
        return kExitOk;
    }
    const bool best = out.weights.checkpointPath.size() > 8
                      && out.weights.checkpointPath.compare(out.weights.checkpointPath.size() - 8, 8, ".best.pt") == 0;
    out.description = "run " + out.weights.runId + " (" + out.weights.runName + "), "
                      + (best ? "best" : "latest") + " checkpoint";
    return kExitOk;
}

Int8Result int8ResultOf(const std::string& run, const ModelSourceOptions& options)
{
    Int8Result out;
    if (run.size() > 12 && run.compare(run.size() - 12, 12, ".safetensors") == 0)
        return out;
    StoreOptions readOnly;
    readOnly.readOnly = true;
    auto store = RunStore::open(options.database, readOnly);
    if (!store.ok())
        return out;
    try {
        const auto id = store.value->resolveRunId(run);
        if (!id.ok())
            return out;
        if (std::filesystem::exists(checkpointPathFor(store.value->path(), id.value, CheckpointKind::Latest))
            || std::filesystem::exists(checkpointPathFor(store.value->path(), id.value, CheckpointKind::Best)))
            return out;   // a checkpoint wins, as in loadTrainedWeights
        const RunModelFile file = runModelFile(*store.value, id.value);
        if (file.kind != ModelFileKind::Int8)
            return out;
        const auto details = store.value->getRun(id.value);
        out = {id.value, details.ok() ? details.value.name : std::string(), file.path, file.method,
               details.ok() ? details.value.parentId : std::string()};
    } catch (const std::exception&) {
        return {};   // loadModel says what is wrong
    }
    return out;
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
