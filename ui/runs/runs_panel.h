// The runs table: every run of the store with its status, name, dataset, size, best
// validation accuracy, duration and start; sort by any column, filter by name, tag or
// status; tick runs (or double-click their rows) to overlay their curves; rename, tag,
// annotate, delete, open the experiment in the editor, resume an interrupted run, compare
// two runs. Runs tagged "sweep:<id>" are grouped under one row per sweep (a toggle), and the
// Sweep view opens on a sweep, or on any runs selected together. While visible it lists the
// store again every 1.5 s, which picks up runs started by nnlab-cli, a Slurm job or another
// window, and their status as it changes (running -> finished).
//
// Store errors (a locked file, deleting a run that still trains) are shown with the store's
// own message: in a message box for what the user did, in the status line otherwise. The
// programmatic edits (renameRun, ...) do what the buttons do after their dialogs, and
// report failure by returning false with lastError().
#pragma once

#include "nnlab/store.h"

#include <QElapsedTimer>
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <memory>

class CompareDialog;
class QAction;
class QLabel;
class QLineEdit;
class QTreeView;
class RunsFilterProxy;
class RunsTableModel;
class SweepView;

class RunsPanel : public QWidget {
    Q_OBJECT
public:
    explicit RunsPanel(QWidget* parent = nullptr);
    ~RunsPanel() override;

    void setStorePath(const QString& dbPath);   // opens it and lists its runs
    QString storePath() const { return m_storePath; }
    QString lastError() const { return m_lastError; }

    QStringList tickedRuns() const;             // overlaid on the charts, in tick order
    void setTickedRuns(const QStringList& runIds);
    QStringList selectedRuns() const;           // in table order; a sweep's row is not a run
    void selectRuns(const QStringList& runIds);
    QStringList selectedSweeps() const;         // the sweep ids of the selected sweep rows
    void selectSweep(const QString& sweepId);
    void setFilterText(const QString& text);

    bool renameRun(const QString& runId, const QString& name);
    bool setRunTags(const QString& runId, const QStringList& tags);
    bool setRunNotes(const QString& runId, const QString& notes);
    bool deleteRun(const QString& runId);       // no confirmation here; the button asks
    bool openExperiment(const QString& runId);  // emits openExperimentRequested
    bool resumeRun(const QString& runId);       // emits resumeRequested if the run can resume
    // Opens the comparison window (deleted on close); null with lastError() on failure.
    CompareDialog* compareRuns(const QString& runA, const QString& runB);
    // The two runs Compare would use: two selected rows, else two ticked runs.
    QStringList compareCandidates() const;
    // Opens the sweep view of these runs (deleted on close); null with lastError() on failure.
    SweepView* openSweepView(const QStringList& runIds);
    // The runs Sweep view would use: the trials of the selected sweeps and the selected runs;
    // one selected trial stands for its whole sweep. Fewer than two: none.
    QStringList sweepViewCandidates() const;
    void setGroupedBySweep(bool on);
    bool groupedBySweep() const;

    QTreeView* view() const { return m_view; }
    RunsTableModel* model() const { return m_model; }
    RunsFilterProxy* proxy() const { return m_proxy; }
    QAction* action(const QString& objectName) const;   // "rename", "tags", ... for tests

    static bool canResume(nnlab::RunStatus status);

public slots:
    // Lists the runs again, keeping ticks, selection, sort and filter. False on a store error.
    bool refresh();

signals:
    void overlayChanged(const QStringList& runIds);
    void openExperimentRequested(const QString& runId, const QString& experimentJson);
    void resumeRequested(const QString& runId);
    void runRenamed(const QString& runId, const QString& name);
    // Serve the run locally (the Deployments dock), or predict on images: chosen from the
    // context menu, or image files dropped on the run's row.
    void deployRequested(const QString& runId, const QString& runName);
    void predictImagesRequested(const QString& runId, const QStringList& imageFiles);
    // The compression lab: compress the run (the Compress dialog), or put the selected runs and
    // their compressed children on the Pareto chart; the selection, for the chart's rings.
    void compressRequested(const QString& runId, const QString& runName);
    void compareCompressionRequested(const QStringList& runIds);
    void selectedRunsChanged(const QStringList& runIds);
    void errorOccurred(const QString& message);

protected:
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;   // image files dropped on a run

private:
    void buildUi();
    void fitColumns();
    bool ensureStore();
    void updateActions();
    void showError(const QString& message);
    void reportStoreError(const nnlab::StoreError& error);
    QString currentRun() const;
    void showContextMenu(const QPoint& pos);

    // What the buttons do: a dialog, then the edit; failures in a message box.
    void promptRename();
    void promptTags();
    void promptNotes();
    void promptDelete();
    void openSelected();
    void resumeSelected();
    void compareSelected();
    void sweepViewSelected();
    void deploySelected();
    void predictSelected();
    void compressSelected();
    void compareCompressionSelected();

    QString m_storePath;
    std::unique_ptr<nnlab::RunStore> m_store;
    RunsTableModel* m_model = nullptr;
    RunsFilterProxy* m_proxy = nullptr;
    QTreeView* m_view = nullptr;
    QStringList m_expandedSweeps;   // kept across model resets
    QLineEdit* m_filter = nullptr;
    QLabel* m_count = nullptr;
    QLabel* m_status = nullptr;
    QList<QAction*> m_actions;
    QTimer m_autoRefresh;   // picks up runs of other processes while the panel is visible
    QElapsedTimer m_listedAt;   // since the last listing of the store
    QString m_lastError;
};
