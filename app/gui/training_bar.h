// Train / Pause-Resume / Stop actions and the status-bar read-out of the run in progress:
// a progress bar with epoch, samples/s and ETA. Train is disabled, with the reason in its
// tooltip and the status bar, while the experiment has problems.
#pragma once

#include "nnlab/trainer.h"

#include <QObject>

class ExperimentDocument;
class QAction;
class QLabel;
class QProgressBar;
class QStatusBar;
class TrainingController;

class TrainingBar : public QObject {
    Q_OBJECT
public:
    TrainingBar(ExperimentDocument* document, TrainingController* controller, QStatusBar* statusBar);

    QAction* trainAction() const { return m_train; }
    QAction* pauseAction() const { return m_pause; }
    QAction* stopAction() const { return m_stop; }
    QString blockedReason() const;   // why Train is disabled; empty when it is enabled

private:
    void updateActions();
    void showProgress(const nnlab::Progress& p);

    ExperimentDocument* m_document;
    TrainingController* m_controller;
    QAction* m_train;
    QAction* m_pause;
    QAction* m_stop;
    QProgressBar* m_progress;
    QLabel* m_status;
    QLabel* m_problems;
};
