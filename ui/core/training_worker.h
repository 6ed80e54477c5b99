// Trains one experiment on a worker thread through the engine and records it in the run
// store exactly as nnlab-cli does. Pause and cancel are thread-safe direct calls (atomics in
// TrainControl); metrics leave the thread in batches (the trainer reports every ~100 ms).
// No exception leaves run(): every failure becomes finished(..., TrainStatus::Failed, message),
// and there is exactly one finished() per run.
#pragma once

#include "run_types_qt.h"

#include "nnlab/spec.h"
#include "nnlab/trainer.h"

#include <QObject>
#include <QString>
#include <QVector>

class TrainingWorker : public QObject {
    Q_OBJECT
public:
    // An empty databasePath trains without recording; resumeRunId continues a stored run.
    TrainingWorker(nnlab::ExperimentSpec spec, QString databasePath, QString resumeRunId = {});

    void pause() { m_control.pause(); }
    void resume() { m_control.resume(); }
    void cancel() { m_control.cancel(); }
    bool isPaused() const { return m_control.isPaused(); }

public slots:
    void run();

signals:
    void stage(const QString& text);                          // "Loading fashion-mnist…"
    void started(const QString& runId, const QString& summary, qint64 totalSteps);
    void metrics(const QString& runId, const QVector<nnlab::MetricPoint>& batch);
    // spec.inspect's snapshots (nnlab/snapshot.h: boundaries, histograms, confusion), batched
    // as metrics are, each batch after the metrics of the same report.
    void snapshots(const QString& runId, const QVector<nnlab::Snapshot>& batch);
    void progress(const QString& runId, const nnlab::Progress& progress);
    void eventOccurred(const QString& runId, nnlab::EventKind kind, const QString& detail);
    // Mean training throughput of the run's steps (TrainResult::samplesPerSec), just before finished().
    void throughput(double samplesPerSec);
    void finished(const QString& runId, nnlab::TrainStatus status, const QString& message);

private:
    nnlab::ExperimentSpec m_spec;
    QString m_databasePath;
    QString m_resumeRunId;
    nnlab::TrainControl m_control;
};
