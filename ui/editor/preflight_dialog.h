// Train > Check: the recipe pre-flight (nnlab/preflight.h) on the experiment being edited,
// run on a worker thread with progress, then every check with its icon, title, explanation
// and numbers, the gradient flow per layer, and exactly what enters the network: the
// de-normalised images of the overfit batch with their labels, or a table of feature ranges
// and the batch's rows for tabular data. The checks train fresh copies of the model; no
// run is recorded and no weights are touched.
#pragma once

#include "nnlab/preflight.h"
#include "nnlab/spec.h"

#include <QDialog>

#include <memory>

class ExperimentDocument;
class ImageGrid;
class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QTabWidget;
class QThread;
class QTreeWidget;
class TrainingController;

class PreflightDialog : public QDialog {
    Q_OBJECT
public:
    explicit PreflightDialog(ExperimentDocument* document, QWidget* parent = nullptr);
    ~PreflightDialog() override;   // cancels a running check and waits for its thread

    // Opens the dialog (deleted on close) and starts the checks, unless a training run is in
    // progress (both would compete for the same cores): then it says so and returns nullptr.
    static PreflightDialog* openFor(ExperimentDocument* document, const TrainingController* controller, QWidget* parent);

    void start();                  // runs the pre-flight on the document's current experiment
    void cancel();
    bool isRunning() const { return m_thread != nullptr; }
    // Shows a finished report (start() calls it; tests call it with a report of their own).
    void showReport(const nnlab::PreflightReport& report);
    const nnlab::PreflightReport& report() const { return m_report; }

    QTreeWidget* checksView() const { return m_checks; }
    QTableWidget* layersTable() const { return m_layers; }
    ImageGrid* imageGrid() const { return m_images; }
    QTableWidget* featureTable() const { return m_features; }
    QTableWidget* samplesTable() const { return m_samples; }
    QTabWidget* tabs() const { return m_tabs; }

Q_SIGNALS:
    void finished();               // a report is shown (also after a failure or a cancel)

private:
    void setRunning(bool running);
    void showProgress(double fraction, const QString& stage);
    void showInput(const nnlab::InputView& input);
    void showLayers(const std::vector<nnlab::LayerFlow>& layers);

    ExperimentDocument* m_document;
    nnlab::PreflightReport m_report;
    QString m_name;                // the experiment checked
    QThread* m_thread = nullptr;
    std::shared_ptr<nnlab::TrainControl> m_control;
    QLabel* m_summary;
    QProgressBar* m_progress;
    QLabel* m_stage;
    QPushButton* m_cancel;
    QPushButton* m_again;
    QTreeWidget* m_checks;
    QTabWidget* m_tabs;
    QTableWidget* m_layers;
    ImageGrid* m_images;
    QTableWidget* m_features;
    QTableWidget* m_samples;
};
