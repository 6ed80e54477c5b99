// Lab mode's side panel: a teaching lab (nnlab/lab.h) one step at a time. It shows the step's
// text and figure, loads the step's experiment into the document, locks and hides the
// controls the teacher chose (SpecLocks), asks the "predict, then run" question (Train is
// enabled once an answer is picked), trains the step's runs in the background into the
// window's run store (runLabStep, as `nnlab-cli lab run` does) and then ticks or crosses each
// observation with its explanation and the values measured.
#pragma once

#include "spec_locks.h"

#include "nnlab/lab.h"

#include <QFutureWatcher>
#include <QWidget>

#include <memory>

class ExperimentDocument;
class QButtonGroup;
class QGroupBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QTextBrowser;
class QVBoxLayout;

class LabPanel : public QWidget {
    Q_OBJECT
public:
    explicit LabPanel(ExperimentDocument* document, QWidget* parent = nullptr);
    ~LabPanel() override;

    // Opens a lab file at its first step; returns the problems ("" when it opened).
    QString openLab(const QString& path);
    void setLab(const nnlab::Lab& lab);     // an already parsed lab (tests)
    void closeLab();                        // leaves lab mode: every control unlocked
    bool isOpen() const { return !m_lab.steps.empty(); }
    const nnlab::Lab& lab() const { return m_lab; }

    void showStep(int index);
    int currentStep() const { return m_step; }
    SpecLocks& locks() { return m_locks; }
    void setDatabasePath(const QString& path) { m_databasePath = path; }

    // After a run (or from a hand-made store in tests): each observation ticked or crossed.
    void showResults(const std::vector<nnlab::ObservationResult>& results);
    void train();                           // the step's runs, in the background
    void stop();
    bool isRunning() const { return m_watcher.isRunning(); }

    QPushButton* trainButton() const { return m_train; }
    QListWidget* resultsList() const { return m_results; }
    QButtonGroup* answers() const { return m_answers; }

signals:
    void stepShown(int index);
    void stepStarted();                       // Train pressed: the step's runs follow
    void runRecorded(const QString& runId);   // each run of a step, as it ends
    void stepFinished(bool allHold);
    void labClosed();

private:
    void updateTrainEnabled();
    void applyLocks();
    void revealAnswer();
    void onProgress(int run, int runs, double fraction, const QString& text);
    void onFinished();

    ExperimentDocument* m_document;
    nnlab::Lab m_lab;
    int m_step = -1;
    QString m_databasePath;
    SpecLocks m_locks;

    QLabel* m_title;
    QLabel* m_stepTitle;
    QTextBrowser* m_text;
    QLabel* m_figure;
    QLabel* m_lockSummary;
    QGroupBox* m_question;
    QLabel* m_prompt;
    QVBoxLayout* m_choices;
    QButtonGroup* m_answers;
    QLabel* m_answerNote;
    QPushButton* m_back;
    QPushButton* m_next;
    QPushButton* m_train;
    QPushButton* m_stop;
    QProgressBar* m_progress;
    QLabel* m_status;
    QListWidget* m_results;

    std::unique_ptr<nnlab::TrainControl> m_control;
    QFutureWatcher<nnlab::LabStepOutcome> m_watcher;
};
