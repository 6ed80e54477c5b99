// The Compression dock's Sensitivity tab: for one run, how much accuracy each layer loses
// alone at each of a ladder of sparsities (and in int8), as a heat map (sensitivity_map.h).
// The analysis (nnlab::runSensitivity) runs on a worker thread with progress, ETA and cancel,
// and is recorded as a run; opening a run shows its latest recorded analysis. Clicking a cell
// emits layerSelected with the layer's path in the run's experiment.
#pragma once

#include "nnlab/sensitivity.h"

#include <QWidget>

#include <memory>
#include <optional>

class BackgroundTask;
class QCheckBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class SensitivityMap;

class SensitivityView : public QWidget {
    Q_OBJECT
public:
    explicit SensitivityView(QWidget* parent = nullptr);
    ~SensitivityView() override;

    void setStorePath(const QString& path) { m_storePath = path; }
    // Shows the run's latest recorded analysis, if any, and makes it the one Run analyses.
    void setRun(const QString& runId, const QString& runName = {});
    QString runId() const { return m_runId; }
    // The options the widgets describe, or nothing with the problem in *problem.
    std::optional<nnlab::SensitivityOptions> options(QString* problem = nullptr) const;
    void start();
    void cancel();
    bool isRunning() const;
    void setResult(nnlab::SensitivityResult result);

    SensitivityMap* map() const { return m_map; }
    QLineEdit* sparsitiesEdit() const { return m_sparsities; }
    QPushButton* runButton() const { return m_run; }
    QLabel* statusLabel() const { return m_status; }
    BackgroundTask* task() const { return m_task; }

signals:
    void layerSelected(const QString& runId, const QList<int>& specPath);
    void analysisRecorded(const QString& analysisRunId);

private:
    void updateButtons();

    QString m_storePath;
    QString m_runId;
    BackgroundTask* m_task;
    QLabel* m_title;
    QLineEdit* m_sparsities;
    QCheckBox* m_structured;
    QCheckBox* m_int8;
    QPushButton* m_run;
    QPushButton* m_cancel;
    QProgressBar* m_progress;
    QLabel* m_status;
    SensitivityMap* m_map;
    QLabel* m_legend;
    std::shared_ptr<nnlab::SensitivityResult> m_partial;   // filled by the worker before it ends
};
