#include "nnlab/run_session.h"

#include "nnlab/run_recorder.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"

#include <filesystem>
#include <memory>

namespace nnlab {

std::string checkpointPathFor(const std::string& databasePath, const std::string& runId)
{
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(databasePath).parent_path() / "checkpoints";
    std::error_code ec;
    fs::create_directories(dir, ec);
    return (dir / (runId + ".pt")).string();
}

namespace {

void finishRecord(RunRecorder* recorder, const TrainResult& result, RunSessionResult& out)
{
    if (!recorder)
        return;
    const StoreError e = recorder->finish(result);
    if (!e.ok())
        out.storeError = e.message;
}

} // namespace

RunSessionResult runTrainingSession(const ExperimentSpec& spec, TrainControl& control,
                                    const RunSessionOptions& options, const RunSessionHooks& hooks)
{
    RunSessionResult out;
    TrainOptions trainOptions;
    std::unique_ptr<RunRecorder> recorder;
    const auto stage = [&](const std::string& text) {
        if (hooks.stage)
            hooks.stage(text);
    };
    try {
        if (options.store) {
            stage("opening the run store");
            const std::string db = options.databasePath.empty() ? defaultDatabasePath() : options.databasePath;
            auto opened = RunRecorder::open(db);
            if (!opened.ok()) {
                out.storeError = opened.error.message;
                out.result.message = "run store: " + opened.error.message;
                return out;
            }
            recorder = std::move(opened.value);
            if (!options.resumeRunId.empty()) {
                auto point = recorder->resume(options.resumeRunId);
                if (!point.ok()) {
                    out.storeError = point.error.message;
                    out.result.message = point.error.message;
                    return out;
                }
                out.runId = point.value.runId;
                trainOptions.resumeFrom = trainOptions.checkpointPath = point.value.checkpointPath;
            } else {
                RunStartInfo info;
                info.torchVersion = torchVersion();
                auto id = recorder->begin(spec, experimentToJson(spec), info);
                if (!id.ok()) {
                    out.storeError = id.error.message;
                    out.result.message = "run store: " + id.error.message;
                    return out;
                }
                out.runId = id.value;
                trainOptions.checkpointPath = checkpointPathFor(recorder->path(), out.runId);
            }
            if (hooks.recorded)
                hooks.recorded(out.runId);
        }

        stage("loading " + spec.data.source);
        DataBundle data;
        try {
            data = loadData(spec.data, spec.isClassification(), spec.seed, hooks.dataProgress);
        } catch (const DataError& e) {
            out.result.status = TrainStatus::Failed;
            out.result.message = e.what();
            finishRecord(recorder.get(), out.result, out);
            return out;
        }

        stage("training");
        TrainCallbacks callbacks;
        const TrainCallbacks& user = hooks.callbacks;
        callbacks.started = [&](const TrainInfo& info) {
            if (recorder)
                recorder->updateInfo(info);
            if (user.started)
                user.started(info);
        };
        callbacks.metrics = [&](const std::vector<MetricPoint>& points) {
            if (recorder)
                recorder->addMetrics(points);
            if (user.metrics)
                user.metrics(points);
        };
        callbacks.progress = user.progress;
        callbacks.event = [&](const std::string& kind, const std::string& detail) {
            if (recorder) {
                recorder->addEvent(kind, detail);
                if (kind == "checkpoint")
                    recorder->addArtifact(detail, "checkpoint");
            }
            if (user.event)
                user.event(kind, detail);
        };
        out.result = train(spec, data, control, callbacks, trainOptions);
        finishRecord(recorder.get(), out.result, out);
    } catch (const std::exception& e) {
        // Only an allocation failure or a bug gets here; the record still ends.
        out.result.status = TrainStatus::Failed;
        out.result.message = e.what();
        finishRecord(recorder.get(), out.result, out);
    }
    return out;
}

} // namespace nnlab
