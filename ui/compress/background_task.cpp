#include "compress/background_task.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QThread>
#include <QTimer>

#include <chrono>
#include <cmath>

BackgroundTaskWorker::BackgroundTaskWorker(TaskBody body) : m_body(std::move(body)) {}

void BackgroundTaskWorker::run()
{
    using Clock = std::chrono::steady_clock;
    Clock::time_point lastSent{};
    std::string lastStage;
    const TaskProgressFn report = [&](const std::string& stage, int64_t done, int64_t total) {
        const Clock::time_point now = Clock::now();
        // Stage changes and the end of a stage always cross; the rest at most every 100 ms.
        if (stage == lastStage && done != total && now - lastSent < std::chrono::milliseconds(100))
            return;
        lastStage = stage;
        lastSent = now;
        emit progress(QString::fromStdString(stage), done, total);
    };
    try {
        QVariant result = m_body(m_control, report);
        if (m_control.isCancelled())
            emit cancelled();
        else
            emit finished(result);
    } catch (const std::exception& e) {
        if (m_control.isCancelled())
            emit cancelled();
        else
            emit failed(QString::fromUtf8(e.what()));
    } catch (...) {
        emit failed(tr("unexpected error in the compression lab's thread"));
    }
}

BackgroundTask::BackgroundTask(QObject* parent) : QObject(parent) {}

BackgroundTask::~BackgroundTask()
{
    if (m_worker)
        m_worker->cancel();
    if (m_thread) {
        m_thread->quit();
        m_thread->wait();
    }
}

bool BackgroundTask::start(TaskBody body, const QString& threadName)
{
    if (m_thread)
        return false;
    m_thread = new QThread(this);
    m_thread->setObjectName(threadName);
    auto* worker = new BackgroundTaskWorker(std::move(body));
    m_worker = worker;
    m_stage.clear();
    m_eta = -1.0;
    m_stageClock.start();
    worker->moveToThread(m_thread);
    connect(m_thread, &QThread::started, worker, &BackgroundTaskWorker::run);
    connect(m_thread, &QThread::finished, worker, &QObject::deleteLater);
    connect(worker, &BackgroundTaskWorker::progress, this, [this](const QString& stage, qint64 done, qint64 total) {
        if (stage != m_stage) {
            m_stage = stage;
            m_stageClock.start();
            m_eta = -1.0;
        } else if (done > 0 && total > done) {
            const double elapsed = m_stageClock.elapsed() / 1000.0;
            m_eta = elapsed / static_cast<double>(done) * static_cast<double>(total - done);
        } else {
            m_eta = total > 0 && done >= total ? 0.0 : -1.0;
        }
        emit progress(stage, done, total);
    });
    connect(worker, &BackgroundTaskWorker::finished, this, [this](const QVariant& result) {
        endThread();
        emit finished(result);
        emit ended();
    });
    connect(worker, &BackgroundTaskWorker::cancelled, this, [this] {
        endThread();
        emit cancelled();
        emit ended();
    });
    connect(worker, &BackgroundTaskWorker::failed, this, [this](const QString& message) {
        endThread();
        emit failed(message);
        emit ended();
    });
    m_thread->start();
    return true;
}

void BackgroundTask::cancel()
{
    if (m_worker)
        m_worker->cancel();
}

bool BackgroundTask::waitForEnd(int timeoutMs)
{
    if (!m_thread)
        return true;
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    connect(this, &BackgroundTask::ended, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    loop.exec();
    return !m_thread;
}

double BackgroundTask::stageSeconds() const
{
    return m_stageClock.isValid() ? m_stageClock.elapsed() / 1000.0 : 0.0;
}

void BackgroundTask::endThread()
{
    if (m_thread) {
        m_thread->quit();
        m_thread->wait();
        m_thread->deleteLater();
        m_thread = nullptr;
    }
    m_worker = nullptr;
}

QString compresslab::durationText(double seconds)
{
    if (!(seconds >= 0.0) || !std::isfinite(seconds))
        return {};
    const auto s = static_cast<long long>(std::lround(seconds));
    if (s < 60)
        return QObject::tr("%1 s").arg(s);
    if (s < 3600)
        return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}
