// One piece of compression-lab work (compress a run, compare runs, measure, sensitivity) on a
// worker thread, and the controller that owns that thread. The body is a plain function of the
// engine that reports progress through a callback and checks a TrainControl; it returns its
// result as a QVariant. Cancel is a thread-safe direct call (TrainControl's atomic). No
// exception leaves the worker: exactly one of finished, cancelled or failed ends every task.
#pragma once

#include "nnlab/trainer.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QVariant>

#include <functional>

class QThread;

// Progress of a task: its stage ("fine-tuning"), and done of total in that stage (total 0 =
// unknown). The callback may be called from the body at any rate; at most ~10 a second cross
// to the GUI (every stage change does).
using TaskProgressFn = std::function<void(const std::string& stage, int64_t done, int64_t total)>;
using TaskBody = std::function<QVariant(nnlab::TrainControl& control, const TaskProgressFn& progress)>;

class BackgroundTaskWorker : public QObject {
    Q_OBJECT
public:
    explicit BackgroundTaskWorker(TaskBody body);
    void cancel() { m_control.cancel(); }

public slots:
    void run();

signals:
    void progress(const QString& stage, qint64 done, qint64 total);
    void finished(const QVariant& result);
    void cancelled();
    void failed(const QString& message);

private:
    TaskBody m_body;
    nnlab::TrainControl m_control;
};

// Starts one task at a time on its own thread and forwards its signals on the GUI thread,
// after the thread has ended (so a slot may start the next task). The destructor cancels a
// running task and waits for its thread.
class BackgroundTask : public QObject {
    Q_OBJECT
public:
    explicit BackgroundTask(QObject* parent = nullptr);
    ~BackgroundTask() override;

    // False (and nothing started) while a task runs.
    bool start(TaskBody body, const QString& threadName = QStringLiteral("nnlab-compress"));
    void cancel();
    bool isRunning() const { return m_thread != nullptr; }
    // Waits for the running task to end (tests; the GUI never blocks on it).
    bool waitForEnd(int timeoutMs);
    // Seconds since the current stage began, and a stage ETA from its rate (-1: unknown).
    double stageSeconds() const;
    double etaSeconds() const { return m_eta; }

signals:
    void progress(const QString& stage, qint64 done, qint64 total);
    void finished(const QVariant& result);
    void cancelled();
    void failed(const QString& message);
    void ended();   // after any of the three above

private:
    void endThread();

    QThread* m_thread = nullptr;
    QPointer<BackgroundTaskWorker> m_worker;
    QString m_stage;
    QElapsedTimer m_stageClock;
    double m_eta = -1.0;
};

namespace compresslab {
// "12 s", "3 min 05 s", "" for a negative value.
QString durationText(double seconds);
} // namespace compresslab
