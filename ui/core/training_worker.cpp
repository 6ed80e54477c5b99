#include "training_worker.h"

#include "core/cli_path.h"

#include "nnlab/distill.h"
#include "nnlab/run_session.h"
#include "nnlab/runtime.h"

TrainingWorker::TrainingWorker(nnlab::ExperimentSpec spec, QString databasePath, QString resumeRunId)
    : m_spec(std::move(spec)), m_databasePath(std::move(databasePath)), m_resumeRunId(std::move(resumeRunId))
{
}

void TrainingWorker::run()
{
    QString runId;
    try {
        nnlab::prepareProcess();
        nnlab::RunSessionOptions options;
        options.store = !m_databasePath.isEmpty();
        options.databasePath = m_databasePath.toStdString();
        options.workerExecutable = nnlabCliPath().toStdString();   // data-parallel workers run the CLI

        nnlab::RunSessionHooks hooks;
        hooks.recorded = [&](const std::string& id, const nnlab::ExperimentSpec&) { runId = QString::fromStdString(id); };
        hooks.stage = [&](const std::string& text) { emit stage(QString::fromStdString(text)); };
        hooks.callbacks.started = [&](const nnlab::TrainInfo& info) {
            const QString summary = QStringLiteral("%1 · %2 · %3 thread(s) · %4 parameters")
                                        .arg(QString::fromStdString(info.dataDescription),
                                             QString::fromStdString(info.device))
                                        .arg(info.threads)
                                        .arg(info.parameters);
            emit started(runId, summary, info.totalSteps);
        };
        // The trainer already batches (every ~100 ms): one signal per batch, never per step.
        hooks.callbacks.snapshots = [&](const std::vector<nnlab::Snapshot>& batch) {
            emit snapshots(runId, QVector<nnlab::Snapshot>(batch.begin(), batch.end()));
        };
        hooks.callbacks.metrics = [&](const std::vector<nnlab::MetricPoint>& points) {
            emit metrics(runId, QVector<nnlab::MetricPoint>(points.begin(), points.end()));
        };
        hooks.callbacks.progress = [&](const nnlab::Progress& p) { emit progress(runId, p); };
        hooks.callbacks.event = [&](nnlab::EventKind kind, int64_t, const std::string& detail) {
            emit eventOccurred(runId, kind, QString::fromStdString(detail));
        };
        // A resume trains the stored run's own experiment; a new run prepares the editor's.
        const nnlab::RunSessionResult outcome =
            m_resumeRunId.isEmpty()
                ? nnlab::runTrainingSession(nnlab::prepareExperiment(m_spec).experiment, m_control, options, hooks)
                : nnlab::resumeDistillSession(m_resumeRunId.toStdString(), m_control, options, hooks);   // a distilled student keeps its teacher
        QString message = QString::fromStdString(outcome.result.message);
        if (!outcome.storeError.empty() && outcome.result.status != nnlab::TrainStatus::Failed)
            message = QStringLiteral("run store: ") + QString::fromStdString(outcome.storeError);
        emit throughput(outcome.result.samplesPerSec);
        emit finished(runId, outcome.result.status, message);
    } catch (const std::exception& e) {
        emit finished(runId, nnlab::TrainStatus::Failed, QString::fromUtf8(e.what()));
    } catch (...) {
        emit finished(runId, nnlab::TrainStatus::Failed, QStringLiteral("unexpected error in the training thread"));
    }
}
