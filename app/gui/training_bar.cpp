#include "training_bar.h"

#include "core/experiment_document.h"
#include "core/training_controller.h"

#include <QAction>
#include <QLabel>
#include <QProgressBar>
#include <QStatusBar>

namespace {
QString duration(double seconds)
{
    if (!(seconds >= 0) || seconds > 1e7)
        return QStringLiteral("--:--");
    const qint64 s = static_cast<qint64>(seconds + 0.5);
    return s >= 3600 ? QStringLiteral("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'))
                     : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}
} // namespace

TrainingBar::TrainingBar(ExperimentDocument* document, TrainingController* controller, QStatusBar* statusBar)
    : QObject(statusBar), m_document(document), m_controller(controller)
{
    m_train = new QAction(QIcon::fromTheme("media-playback-start"), tr("&Train"), this);
    m_train->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_R), QKeySequence(Qt::Key_F5)});
    m_pause = new QAction(QIcon::fromTheme("media-playback-pause"), tr("&Pause"), this);
    m_pause->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    m_stop = new QAction(QIcon::fromTheme("media-playback-stop"), tr("&Stop"), this);
    m_stop->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    m_train->setObjectName("trainAction");
    m_pause->setObjectName("pauseAction");
    m_stop->setObjectName("stopAction");

    m_problems = new QLabel(statusBar);
    m_problems->setObjectName("problemsLabel");
    m_problems->setStyleSheet("color: #b00020;");
    m_status = new QLabel(statusBar);
    m_status->setObjectName("trainingStatus");
    m_progress = new QProgressBar(statusBar);
    m_progress->setObjectName("trainingProgress");
    m_progress->setMaximumWidth(220);
    m_progress->setTextVisible(true);
    m_progress->hide();
    statusBar->addWidget(m_problems, 1);
    statusBar->addPermanentWidget(m_status);
    statusBar->addPermanentWidget(m_progress);

    connect(m_train, &QAction::triggered, this, [this] {
        if (m_document->isValid())
            m_controller->start(m_document->spec());
    });
    connect(m_pause, &QAction::triggered, this, [this] {
        if (m_controller->isPaused())
            m_controller->resume();
        else
            m_controller->pause();
    });
    connect(m_stop, &QAction::triggered, m_controller, &TrainingController::stop);
    connect(m_document, &ExperimentDocument::specChanged, this, &TrainingBar::updateActions);
    connect(m_controller, &TrainingController::stateChanged, this, &TrainingBar::updateActions);
    connect(m_controller, &TrainingController::stage, this, [this](const QString& text) {
        m_status->setText(text.left(1).toUpper() + text.mid(1) + QStringLiteral("…"));
        m_progress->show();
        m_progress->setRange(0, 0);   // busy until the first step
    });
    connect(m_controller, &TrainingController::progressChanged, this,
            [this](const QString&, const nnlab::Progress& p) { showProgress(p); });
    connect(m_controller, &TrainingController::runFinished, this,
            [this](const QString&, nnlab::TrainStatus status, const QString& message) {
                m_progress->hide();
                const QString outcome = displayText(status);
                m_status->setText(message.isEmpty() ? tr("Run %1").arg(outcome) : tr("Run %1: %2").arg(outcome, message));
                m_status->setToolTip(message);
            });
    updateActions();
}

QString TrainingBar::blockedReason() const
{
    if (m_document->isValid())
        return {};
    const auto& problems = m_document->problems();
    QString reason = QString::fromStdString(problems.front().text());
    if (problems.size() > 1)
        reason += tr(" (and %n more)", nullptr, static_cast<int>(problems.size() - 1));
    return reason;
}

void TrainingBar::updateActions()
{
    const bool running = m_controller->isRunning();
    const QString reason = blockedReason();
    m_train->setEnabled(!running && reason.isEmpty());
    m_train->setToolTip(reason.isEmpty()
                            ? tr("Train this experiment (%1)").arg(m_train->shortcut().toString(QKeySequence::NativeText))
                            : tr("Cannot train: %1").arg(reason));
    m_problems->setText(reason.isEmpty() ? QString() : tr("⚠ %1").arg(reason));
    m_pause->setEnabled(running);
    m_pause->setText(m_controller->isPaused() ? tr("&Resume") : tr("&Pause"));
    m_pause->setIcon(QIcon::fromTheme(m_controller->isPaused() ? "media-playback-start" : "media-playback-pause"));
    m_stop->setEnabled(running);
}

void TrainingBar::showProgress(const nnlab::Progress& p)
{
    m_progress->show();
    m_progress->setRange(0, static_cast<int>(std::max<int64_t>(p.totalSteps, 1)));
    m_progress->setValue(static_cast<int>(p.step));
    m_progress->setFormat(QStringLiteral("%p%  ETA ") + duration(p.etaSeconds));
    QString text = tr("Epoch %1/%2 · step %3/%4 · loss %5").arg(p.epoch).arg(p.epochs).arg(p.step).arg(p.totalSteps).arg(p.loss, 0, 'f', 4);
    if (p.accuracy >= 0)
        text += tr(" · acc %1").arg(p.accuracy, 0, 'f', 3);
    text += tr(" · %1 samples/s").arg(static_cast<qint64>(p.samplesPerSec));
    if (m_controller->isPaused())
        text += tr(" · paused");
    m_status->setText(text);
}
