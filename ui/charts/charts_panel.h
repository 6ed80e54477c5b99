// Live and stored training curves: loss, accuracy and learning rate, several runs overlaid.
//
// Wiring (the main window): TrainingController::runStarted -> beginLiveRun, metricsArrived ->
// appendMetrics, runFinished -> endLiveRun; RunsPanel::overlayChanged -> setOverlaidRuns.
//
// Redraws are coalesced like PlotJuggler's: appendMetrics only appends to memory and arms a
// single-shot timer; when it fires (at most every 40 ms, so <= 25 redraws a second however
// fast batches arrive) the charts regenerate what changed and replot with rpQueuedReplot.
//
// Which runs are shown: the overlaid ones (ticked in the runs table), every live run, and
// the last run that was live, so a run that just finished stays up for comparison.
//
// An overlaid run that another process is recording (nnlab-cli, a Slurm job, another window)
// streams too, as TensorBoard watches a log folder: every second the panel reads the points
// recorded after the last step it holds (chart_loader.h pollStoredRun, well under a
// millisecond a run, so on this thread), until the run's status is no longer running.
//
// Memory: a live run keeps every point in memory (about 32 bytes a point and tag, smoothing
// included), as does a stored series of up to 16,384 points; a longer stored series holds
// a 4,096-bucket overview plus one finer read around the view (chart_loader.h). What the
// charts draw is decimated to about a point a pixel (metric_series.h), so redraws cost the
// same for 1,000 points or 1,000,000.
//
// Smoothing applies to the training curves; validation metrics (one point an epoch, each
// already an average over the validation set) and the learning rate are drawn as they are.
#pragma once

#include "charts/chart_run.h"

#include "nnlab/monitor_alert.h"
#include "nnlab/trainer.h"

#include <QElapsedTimer>
#include <QHash>
#include <QTimer>
#include <QVector>
#include <QWidget>

#include <array>
#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;
class QToolButton;
class QCPGraph;

namespace nnlab {
class RunStore;
}

namespace charts {
class DetailLoader;
struct DetailRead;
class MetricChart;
}

class ChartsPanel : public QWidget {
    Q_OBJECT
public:
    enum ChartIndex { LossChart = 0, AccuracyChart = 1, LearningRateChart = 2, ChartCount = 3 };

    explicit ChartsPanel(QWidget* parent = nullptr);
    ~ChartsPanel() override;

    static QString chartTitle(int index);   // "Loss", "Accuracy", "Learning rate"

    // The run store stored runs are read from (opened read-only, when first needed).
    void setStorePath(const QString& dbPath);
    QString storePath() const { return m_storePath; }

    double smoothing() const { return m_smoothing; }
    charts::XAxisMode xAxisMode() const { return m_xMode; }
    bool logY() const { return m_logY; }
    bool follow() const { return m_follow; }

    // Writes chart `index` as PNG, SVG or PDF, by the path's suffix. False with lastError().
    bool exportChart(int index, const QString& path);
    QString lastError() const { return m_lastError; }

    // For tests and the benchmark.
    charts::MetricChart* chart(int index) const;
    QStringList shownRuns() const;
    // Points in the graph of (run, tag) on chart `index`; -1 when there is no such curve.
    int graphPointCount(int index, const QString& runId, const QString& tag, bool smoothed = false) const;
    QCPGraph* graph(int index, const QString& runId, const QString& tag, bool smoothed = false) const;
    QColor runColour(const QString& runId) const;
    const charts::ChartRun* run(const QString& runId) const;
    const charts::ChartRuns& runs() const { return m_runs; }   // the shown runs, in colour order
    int refreshCount() const { return m_refreshCount; }
    // Applies everything pending and replots now.
    void replotNow();
    // Waits for the finer store reads under way and applies them (tests, the benchmark);
    // false when they did not land within the time.
    bool waitForDetail(int timeoutMs = 30000);

public slots:
    void setSmoothing(double weight);            // debiased EMA weight, 0 .. 0.999
    void setXAxisMode(charts::XAxisMode mode);
    void setLogY(bool on);
    void setFollow(bool on);                     // keep the newest point in view
    void beginLiveRun(const QString& runId, const QString& name, qint64 stepsPerEpoch);
    void appendMetrics(const QString& runId, const QVector<nnlab::MetricPoint>& batch);
    void endLiveRun(const QString& runId);
    void setOverlaidRuns(const QStringList& runIds);
    void setRunName(const QString& runId, const QString& name);
    void resetView();                            // fit every chart to its data; follow on
    // Finer store reads for zoomed views (debounced after a zoom or pan): they run on a
    // loader thread (detail_loader.h) and are drawn when they land; the view is drawn from
    // what is held meanwhile.
    void loadDetail();
    // A monitor rule fired on a live run (an EventKind::Alert event; wallTime in Unix seconds):
    // a marker at its step. Stored runs bring their alerts along when they are loaded.
    void addAlert(const QString& runId, const nnlab::MonitorAlert& alert, double wallTime);
    // Centres every chart on this step of the run, keeping the zoom; follow off.
    void showStep(const QString& runId, qint64 step);
    // Reads what the watched runs recorded since the last read (the poll timer's slot).
    void pollWatchedRuns();

signals:
    void followChanged(bool on);
    void errorOccurred(const QString& message);
    void alertsChanged();    // the shown runs' alerts changed (after the coalesced redraw)

private:
    void buildUi();
    void scheduleRefresh();
    void refresh();
    void placeXRange(int index);
    bool ensureStore(bool quiet = false);
    charts::ChartRun* findRun(const QString& runId) const;
    charts::ChartRun* addRun(std::unique_ptr<charts::ChartRun> run);
    void removeUnwantedRuns();
    void showError(const QString& message);
    void exportWithDialog(int index);
    QStringList chartTags() const;
    void configureAlertMarkers();
    void checkAlertsChanged();
    void updatePolling();
    void applyDetail();   // the loader's results, on this thread

    QString m_storePath;
    std::unique_ptr<nnlab::RunStore> m_store;
    charts::ChartRuns m_runs;                    // in colour order
    QHash<QString, int> m_colourIndex;           // by run id, for the panel's lifetime
    int m_nextColour = 0;
    QStringList m_overlaid;
    QString m_lastLiveRun;

    double m_smoothing = 0.6;
    charts::XAxisMode m_xMode = charts::XAxisMode::Step;
    bool m_logY = false;
    bool m_follow = true;
    std::array<bool, ChartCount> m_needsFit{};
    std::array<double, ChartCount> m_followWidth{};   // 0 = show everything

    std::array<charts::MetricChart*, ChartCount> m_charts{};
    QSlider* m_smoothingSlider = nullptr;
    QLabel* m_smoothingValue = nullptr;
    QComboBox* m_xAxisCombo = nullptr;
    QCheckBox* m_logYBox = nullptr;
    QCheckBox* m_followBox = nullptr;
    QToolButton* m_exportButton = nullptr;
    QLabel* m_status = nullptr;

    QTimer m_refreshTimer;        // single-shot: the coalesced redraw
    QElapsedTimer m_sinceRefresh;
    QTimer m_detailTimer;         // single-shot: store re-reads after zoom or pan settle
    std::unique_ptr<charts::DetailLoader> m_detailLoader;
    std::vector<charts::DetailRead> m_detailSent;   // the last batch asked for
    QTimer m_pollTimer;           // runs only while a shown run is watched
    bool m_inRefresh = false;
    bool m_replotImmediately = false;   // replotNow: charts painted within refresh
    int m_refreshCount = 0;
    QString m_lastError;
    QString m_alertSignature;     // of the alerts the last alertsChanged was for
};
