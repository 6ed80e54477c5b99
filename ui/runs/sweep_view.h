// The sweep view: a group of runs (a sweep's trials, or any runs picked in the Runs dock)
// read back from the store and laid side by side. The hyperparameters are the experiment
// keys whose values differ among the runs; the result is one metric (a combo; by default
// the sweep's own). Tabs hold the parallel coordinates and the metric curves coloured by a
// chosen parameter; beside them the parameter importance and the trials table. A trial
// picked in any of them is highlighted in all.
#pragma once

#include "runs/sweep_charts.h"
#include "runs/sweep_data.h"

#include "nnlab/store.h"

#include <QDialog>
#include <QHash>
#include <QStringList>

#include <memory>

class ImportanceChart;
class ParallelCoordinatesPlot;
class QComboBox;
class QLabel;
class QTableWidget;
class QTabWidget;

class SweepView : public QDialog {
    Q_OBJECT
public:
    // Opens the store at `dbPath` (read-only when it cannot be written) and reads the runs.
    SweepView(const QString& dbPath, const QStringList& runIds, QWidget* parent = nullptr);
    ~SweepView() override;

    bool isValid() const { return m_error.isEmpty(); }
    QString errorMessage() const { return m_error; }   // the store's message when reading failed

    const sweep::Sweep& sweep() const { return m_sweep; }
    std::vector<sweep::Importance> importance() const { return m_importance; }
    ParallelCoordinatesPlot* parallel() const { return m_parallel; }
    SweepCurvesPlot* curves() const { return m_curves; }
    ImportanceChart* importanceChart() const { return m_importanceChart; }
    QTableWidget* trialsTable() const { return m_table; }
    QTabWidget* tabs() const { return m_tabs; }

    void setResultMetric(const QString& tag);      // re-ranks everything
    void setCurveMetric(const QString& tag);
    void setColourParameter(const QString& key);   // empty: colour curves by the result
    void highlightTrial(int trial);                // -1 clears; all charts and the table

private:
    void buildUi();
    void rebuild();
    void loadCurves();
    void fillTable();
    QString colourParameter() const;

    std::unique_ptr<nnlab::RunStore> m_store;
    std::vector<nnlab::RunDetails> m_runs;
    sweep::Sweep m_sweep;
    std::vector<sweep::Importance> m_importance;
    QHash<QString, std::vector<SweepCurvesPlot::Curve>> m_curveCache;   // by metric tag
    QString m_error;
    bool m_updating = false;

    QComboBox* m_resultCombo = nullptr;
    QComboBox* m_curveMetricCombo = nullptr;
    QComboBox* m_colourCombo = nullptr;
    QLabel* m_summary = nullptr;
    QTabWidget* m_tabs = nullptr;
    ParallelCoordinatesPlot* m_parallel = nullptr;
    SweepCurvesPlot* m_curves = nullptr;
    ImportanceChart* m_importanceChart = nullptr;
    QTableWidget* m_table = nullptr;
};
