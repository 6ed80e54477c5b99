// Train > Find learning rate…: the learning-rate range test (nnlab/lr_finder.h) on the
// experiment being edited, run on a worker thread with progress and ETA, then the smoothed
// loss against the learning rate on a log axis with the suggestions marked. Each "Use"
// button is one undoable edit of the experiment; the test itself trains its own copy of the
// initial model, so the weights of runs and their checkpoints are never touched.
#pragma once

#include "nnlab/lr_finder.h"

#include <QDialog>
#include <QPointer>

class ExperimentDocument;
class LrFinderWorker;
class NumberEdit;
class QCustomPlot;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QThread;
class TrainingController;

class LrFinderDialog : public QDialog {
    Q_OBJECT
public:
    explicit LrFinderDialog(ExperimentDocument* document, QWidget* parent = nullptr);
    ~LrFinderDialog() override;   // cancels a running test and waits for its thread

    // Opens the dialog (deleted on close) and starts the test, unless a training run is in
    // progress (both would compete for the same cores): then it says so and returns nullptr.
    static LrFinderDialog* openFor(ExperimentDocument* document, const TrainingController* controller, QWidget* parent);

    void start();                    // runs the test on the document's current experiment
    void cancel();
    bool isRunning() const { return m_thread != nullptr; }
    // Shows a finished test: the curve, the markers and the "Use" buttons (start() calls it;
    // tests call it with a result computed beforehand).
    void showResult(const nnlab::LrFinderResult& result);
    const nnlab::LrFinderResult& result() const { return m_result; }

    QPushButton* useSteepestButton() const { return m_useSteepest; }
    QPushButton* useMinimumButton() const { return m_useMinimum; }
    QPushButton* useOneCycleButton() const { return m_useOneCycle; }
    QCustomPlot* plot() const { return m_plot; }
    QLabel* statusLabel() const { return m_status; }

signals:
    void runEnded();   // after a test's finished, cancelled or failed signal was handled

protected:
    void reject() override;   // Close / Escape: cancels a running test first

private:
    void setUpPlot();
    void onProgress(const nnlab::LrFinderProgress& p);
    void endRun();
    void setRunning(bool running);
    void useLearningRate(double suggested, bool oneCycle);

    ExperimentDocument* m_document;
    nnlab::LrFinderResult m_result;
    QSpinBox* m_steps;
    NumberEdit* m_startLr;
    NumberEdit* m_endLr;
    QPushButton* m_run;
    QPushButton* m_stop;
    QProgressBar* m_progress;
    QLabel* m_status;
    QCustomPlot* m_plot;
    QLabel* m_summary;
    QPushButton* m_useSteepest;
    QPushButton* m_useMinimum;
    QPushButton* m_useOneCycle;
    QThread* m_thread = nullptr;
    QPointer<LrFinderWorker> m_worker;
};
