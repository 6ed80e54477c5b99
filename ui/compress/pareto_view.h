// The Compression dock's Pareto tab: the chart (pareto_chart.h) over a set of runs and their
// compressed children, the axis switch (size on disk, latency at batch 1 or 64), and a table
// of the same rows. Rows come from nnlab::compareRuns on a worker thread; a run without a
// recorded measurement is measured there, with progress. Clicking a point or a row emits
// runClicked (the window selects the run in the Runs dock); setSelectedRuns rings the runs
// selected there.
#pragma once

#include "nnlab/compress.h"
#include "nnlab/store.h"

#include <QStringList>
#include <QWidget>

class BackgroundTask;
class ParetoChart;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTreeWidget;

class ParetoView : public QWidget {
    Q_OBJECT
public:
    enum Column { NameColumn, MethodColumn, AccuracyColumn, SizeColumn, Batch1Column, Batch64Column,
                  ThroughputColumn, FrontierColumn, ColumnCount };

    explicit ParetoView(QWidget* parent = nullptr);
    ~ParetoView() override;

    void setStorePath(const QString& path);
    QString storePath() const { return m_storePath; }
    // Loads the rows of these runs, of the runs derived from them (pruned, int8, distilled:
    // any depth), and of the parents of the compressed ones, in the background.
    void showRuns(const QStringList& runIds);
    // Shows these rows (no store; tests and the loader).
    void setRows(std::vector<nnlab::CompareRow> rows);
    void setCost(nnlab::ParetoCost cost);
    void setSelectedRuns(const QStringList& runIds);
    void refresh();   // loads the same runs again
    bool isLoading() const;

    ParetoChart* chart() const { return m_chart; }
    QComboBox* costCombo() const { return m_cost; }
    QTreeWidget* table() const { return m_table; }
    QLabel* statusLabel() const { return m_status; }
    BackgroundTask* task() const { return m_task; }
    QString currentRun() const { return m_current; }

signals:
    void runClicked(const QString& runId);
    void layersRequested(const QString& childRunId);   // per-layer comparison with its parent
    void sensitivityRequested(const QString& runId);

private:
    void fillTable();
    void selectInTable(const QStringList& runIds);
    void updateButtons();

    QString m_storePath;
    QStringList m_requested;
    QString m_current;
    BackgroundTask* m_task;
    ParetoChart* m_chart;
    QComboBox* m_cost;
    QPushButton* m_refresh;
    QPushButton* m_layers;
    QPushButton* m_sensitivity;
    QLabel* m_status;
    QProgressBar* m_progress;
    QTreeWidget* m_table;
    bool m_syncing = false;
};

// The runs to compare for a selection: the runs, their descendants through parentId, and the
// parents of those that are compressed. Order: as listed by the store, newest first.
QStringList expandCompressionFamily(const std::vector<nnlab::RunSummary>& runs, const QStringList& selected);
