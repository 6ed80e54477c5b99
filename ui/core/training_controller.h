// Owns the worker thread of the run in progress (the Qt Worker/Controller pattern): start,
// pause/resume, stop; forwards the worker's signals to the GUI thread. The destructor stops
// a run and waits for its thread.
#pragma once

#include "training_worker.h"

#include <QObject>
#include <QPointer>
#include <QThread>

class TrainingController : public QObject {
    Q_OBJECT
public:
    explicit TrainingController(QObject* parent = nullptr);
    ~TrainingController() override;

    void setDatabasePath(const QString& path) { m_databasePath = path; }
    QString databasePath() const { return m_databasePath; }
    bool isRunning() const { return m_thread != nullptr; }
    bool isPaused() const { return m_worker && m_worker->isPaused(); }
    QString currentRunId() const { return m_runId; }
    double lastSamplesPerSec() const { return m_lastSamplesPerSec; }   // of the last finished run

public slots:
    // Returns false (and does nothing) while a run is in progress.
    bool start(const nnlab::ExperimentSpec& spec);
    // Continues a stored run with the experiment it was recorded with (the engine's one
    // resume path); why it cannot resume arrives as a failed runFinished.
    bool resumeStoredRun(const QString& runId);
    void pause();
    void resume();
    void stop();

signals:
    void stage(const QString& text);
    void runStarted(const QString& runId, const QString& summary, qint64 totalSteps);
    void metricsArrived(const QString& runId, const QVector<nnlab::MetricPoint>& batch);
    void snapshotsArrived(const QString& runId, const QVector<nnlab::Snapshot>& batch);
    void progressChanged(const QString& runId, const nnlab::Progress& progress);
    void eventOccurred(const QString& runId, nnlab::EventKind kind, const QString& detail);
    void runFinished(const QString& runId, nnlab::TrainStatus status, const QString& message);
    void stateChanged();   // running, paused or idle changed

private:
    bool launch(const nnlab::ExperimentSpec& spec, const QString& resumeRunId);
    void cleanUp();

    QString m_databasePath;
    QThread* m_thread = nullptr;
    QPointer<TrainingWorker> m_worker;
    QString m_runId;
    double m_lastSamplesPerSec = 0.0;
};
