#include "nnlab/run_session.h"

#include "nnlab/run_recorder.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"

#include <filesystem>
#include <memory>
#include <stdexcept>

namespace nnlab {

namespace {

// The session's state from the store's opening to the record's end.
class Session {
public:
    Session(TrainControl& control, const RunSessionOptions& options, const RunSessionHooks& hooks)
        : m_control(control), m_options(options), m_hooks(hooks)
    {
    }

    RunSessionResult start(const PreparedExperiment& experiment)
    {
        return guarded([&] {
            if (m_options.store) {
                if (!openStore())
                    return;
                RunStartInfo info;
                info.torchVersion = torchVersion();
                info.name = m_options.runName;
                info.tags = m_options.tags;
                info.notes = m_options.notes;
                info.parentId = m_options.parentId;
                auto id = m_recorder->begin(experiment.spec, experimentToJson(experiment.spec), info);
                if (!id.ok())
                    return storeFailed(id.error.message);
                m_out.runId = id.value;
                m_train.checkpointPath = checkpointPathFor(m_recorder->path(), m_out.runId, CheckpointKind::Latest);
                m_train.bestCheckpointPath = checkpointPathFor(m_recorder->path(), m_out.runId, CheckpointKind::Best);
            }
            trainRecorded(experiment);
        });
    }

    RunSessionResult resume(const std::string& runId)
    {
        return guarded([&] {
            if (!openStore())
                return;
            auto point = m_recorder->resume(runId);
            if (!point.ok())
                return storeFailed(point.error.message, "");
            m_out.runId = point.value.runId;
            const Preparation prepared = prepareExperiment(parseExperiment(point.value.experimentJson));
            if (!prepared.ok())
                return fail("the stored experiment of run " + m_out.runId + " no longer validates: " + prepared.errorText());
            m_train.resumeFrom = m_train.checkpointPath = point.value.checkpointPath;
            m_train.bestCheckpointPath = checkpointPathFor(m_recorder->path(), m_out.runId, CheckpointKind::Best);
            trainRecorded(prepared.experiment);
        });
    }

private:
    template <typename Body>
    RunSessionResult guarded(Body body)
    {
        try {
            body();
        } catch (const std::exception& e) {
            // Only an allocation failure or a bug gets here; the record still ends.
            fail(e.what());
        }
        return m_out;
    }

    void stage(const std::string& text)
    {
        if (m_hooks.stage)
            m_hooks.stage(text);
    }

    bool openStore()
    {
        stage("opening the run store");
        const std::string db = m_options.databasePath.empty() ? defaultDatabasePath() : m_options.databasePath;
        auto opened = RunRecorder::open(db);
        if (!opened.ok()) {
            storeFailed(opened.error.message);
            return false;
        }
        m_recorder = std::move(opened.value);
        return true;
    }

    void storeFailed(const std::string& message, const std::string& prefix = "run store: ")
    {
        m_out.storeError = message;
        m_out.result.message = prefix + message;
    }

    // Ends the run as failed, recorded when there is a record.
    void fail(const std::string& message)
    {
        m_out.result.status = TrainStatus::Failed;
        m_out.result.message = message;
        finishRecord();
    }

    void finishRecord()
    {
        if (!m_recorder || m_out.runId.empty())
            return;
        const StoreError e = m_recorder->finish(m_out.result);
        if (!e.ok())
            m_out.storeError = e.message;
    }

    // A store that cannot take the run's records (a full disk, an I/O error, a file made
    // read-only) ends it: training on would record nothing and hold every point in memory.
    // A lock another process holds is waited out. The trainer turns this into a failed run.
    void stopIfStoreFails()
    {
        const StoreError error = m_recorder->lastError();
        if (!error.ok() && error.code != StoreErrorCode::Locked)
            throw std::runtime_error("run store: " + error.message);
    }

    void trainRecorded(const PreparedExperiment& experiment)
    {
        if (m_hooks.recorded)
            m_hooks.recorded(m_out.runId, experiment.spec);
        const ExperimentSpec& spec = experiment.spec;
        if (!startWorkers(spec))
            return;
        stage("loading " + spec.data.source);
        DataBundle data;
        try {
            data = loadData(spec.data, spec.isClassification(), spec.seed, m_hooks.dataProgress);
        } catch (const DataError& e) {
            return fail(e.what());
        }
        const Preparation fitted = fitToData(experiment, data);
        if (!fitted.ok())
            return fail(fitted.problems.front().text());

        stage("training");
        TrainCallbacks callbacks;
        const TrainCallbacks& user = m_hooks.callbacks;
        callbacks.started = [&](const TrainInfo& info) {
            if (m_recorder)
                m_recorder->updateInfo(info);
            if (user.started)
                user.started(info);
        };
        callbacks.metrics = [&](const std::vector<MetricPoint>& points) {
            if (m_recorder) {
                m_recorder->addMetrics(points);
                stopIfStoreFails();
            }
            if (user.metrics)
                user.metrics(points);
        };
        if (m_recorder || user.snapshots)   // else left empty: the trainer then makes none
            callbacks.snapshots = [&](const std::vector<Snapshot>& snapshots) {
                if (m_recorder)
                    m_recorder->addSnapshots(snapshots);
                if (user.snapshots)
                    user.snapshots(snapshots);
            };
        callbacks.progress = user.progress;
        callbacks.event = [&](EventKind kind, int64_t step, const std::string& detail) {
            if (m_recorder) {
                m_recorder->addEvent(kind, detail, step);
                if (kind == EventKind::Checkpoint || kind == EventKind::BestCheckpoint)
                    m_recorder->addArtifact(detail, toString(kind), step);
            }
            if (user.event)
                user.event(kind, step, detail);
        };
        m_train.hooks = m_hooks.trainHooks;
        if (m_train.resumeFrom.empty())
            m_train.initWeights = m_options.initWeights;
        m_out.result = train(fitted.experiment, data, m_control, callbacks, m_train);
        if (m_workers) {
            const std::string workers = m_workers->wait(30.0);
            if (!workers.empty() && m_out.result.status == TrainStatus::Finished)
                m_out.result.message += (m_out.result.message.empty() ? "" : "; ") + workers;
        }
        if (m_recorder && !m_out.runId.empty() && m_hooks.beforeFinish && m_out.result.status == TrainStatus::Finished) {
            try {
                m_hooks.beforeFinish(*m_recorder, m_out.runId, m_out.result);
            } catch (const std::exception& e) {
                m_out.result.status = TrainStatus::Failed;
                m_out.result.message = e.what();
            }
        }
        finishRecord();
    }

    // Data-parallel: this process is a worker started elsewhere, or rank 0 starting the
    // others as local child processes. False (the run failed) when they cannot start.
    bool startWorkers(const ExperimentSpec& spec)
    {
        if (m_options.distributed.active()) {
            m_train.distributed = m_options.distributed;
            return true;
        }
        if (spec.training.workers <= 1)
            return true;
        stage("starting " + std::to_string(spec.training.workers - 1) + " worker process(es)");
        try {
            const std::string executable =
                m_options.workerExecutable.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : m_options.workerExecutable;
            m_workers = std::make_unique<LocalWorkers>(executable, experimentToJson(spec), int(spec.training.workers));
            m_train.distributed = m_workers->rank0();
        } catch (const std::exception& e) {
            fail(e.what());
            return false;
        }
        return true;
    }

    TrainControl& m_control;
    const RunSessionOptions& m_options;
    const RunSessionHooks& m_hooks;
    std::unique_ptr<RunRecorder> m_recorder;
    TrainOptions m_train;
    RunSessionResult m_out;
    std::unique_ptr<LocalWorkers> m_workers;   // rank 0 of a local data-parallel run
};

} // namespace

RunSessionResult runTrainingSession(const PreparedExperiment& experiment, TrainControl& control,
                                    const RunSessionOptions& options, const RunSessionHooks& hooks)
{
    return Session(control, options, hooks).start(experiment);
}

RunSessionResult resumeTrainingSession(const std::string& runId, TrainControl& control,
                                       const RunSessionOptions& options, const RunSessionHooks& hooks)
{
    return Session(control, options, hooks).resume(runId);
}

} // namespace nnlab
