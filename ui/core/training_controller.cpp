#include "training_controller.h"

TrainingController::TrainingController(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<nnlab::Progress>();
    qRegisterMetaType<QVector<nnlab::MetricPoint>>();
    qRegisterMetaType<QVector<nnlab::Snapshot>>();
    qRegisterMetaType<nnlab::TrainStatus>();
    qRegisterMetaType<nnlab::EventKind>();
}

TrainingController::~TrainingController()
{
    if (m_worker)
        m_worker->cancel();
    if (m_thread) {
        m_thread->quit();
        m_thread->wait();
    }
}

bool TrainingController::start(const nnlab::ExperimentSpec& spec) { return launch(spec, {}); }

bool TrainingController::resumeStoredRun(const QString& runId) { return launch({}, runId); }

bool TrainingController::launch(const nnlab::ExperimentSpec& spec, const QString& resumeRunId)
{
    if (m_thread)
        return false;
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("nnlab-training"));
    auto* worker = new TrainingWorker(spec, m_databasePath, resumeRunId);
    m_worker = worker;
    worker->moveToThread(m_thread);
    connect(m_thread, &QThread::started, worker, &TrainingWorker::run);
    connect(m_thread, &QThread::finished, worker, &QObject::deleteLater);
    connect(worker, &TrainingWorker::stage, this, &TrainingController::stage);
    connect(worker, &TrainingWorker::started, this, [this](const QString& id, const QString& summary, qint64 steps) {
        m_runId = id;
        emit runStarted(id, summary, steps);
    });
    connect(worker, &TrainingWorker::metrics, this, &TrainingController::metricsArrived);
    connect(worker, &TrainingWorker::snapshots, this, &TrainingController::snapshotsArrived);
    connect(worker, &TrainingWorker::throughput, this, [this](double s) { m_lastSamplesPerSec = s; });
    connect(worker, &TrainingWorker::progress, this, &TrainingController::progressChanged);
    connect(worker, &TrainingWorker::eventOccurred, this, [this](const QString& id, nnlab::EventKind kind, const QString& detail) {
        emit eventOccurred(id, kind, detail);
        if (kind == nnlab::EventKind::Paused || kind == nnlab::EventKind::Resumed)
            emit stateChanged();
    });
    connect(worker, &TrainingWorker::finished, this, [this](const QString& id, nnlab::TrainStatus status, const QString& message) {
        cleanUp();
        emit runFinished(id, status, message);
        emit stateChanged();
    });
    m_thread->start();
    emit stateChanged();
    return true;
}

void TrainingController::pause()
{
    if (m_worker) {
        m_worker->pause();
        emit stateChanged();
    }
}

void TrainingController::resume()
{
    if (m_worker) {
        m_worker->resume();
        emit stateChanged();
    }
}

void TrainingController::stop()
{
    if (m_worker)
        m_worker->cancel();
}

void TrainingController::cleanUp()
{
    if (!m_thread)
        return;
    m_thread->quit();
    m_thread->wait();
    m_thread->deleteLater();
    m_thread = nullptr;
    m_worker = nullptr;
    m_runId.clear();
}
