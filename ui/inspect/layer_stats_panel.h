// The Layer Statistics dock: per layer, over the steps of the live or the selected stored
// run, the activation mean and std, the dead ReLU fraction, the weight and gradient norms
// and the update/weight ratio (with Karpathy's 1e-3 rule of thumb as a reference line), one
// curve a layer, layers ticked in a list; and a Distributions tab with the weight and
// gradient histograms over time (distributions_view.h).
//
// The statistics are ordinary metrics ("layers/<layer>/<statistic>", layer_stats.h): live
// they come with the metric batches, stored they are read on a pool thread. Redraws are
// coalesced by a single-shot timer (at most 5 a second; redrawCount()).
#pragma once

#include "distributions_view.h"
#include "layer_stats.h"

#include "nnlab/run_types.h"
#include "nnlab/snapshot.h"

#include <qcustomplot.h>

#include <QElapsedTimer>
#include <QSet>
#include <QTimer>
#include <QVector>
#include <QWidget>

#include <array>

class QLabel;
class QListWidget;
class QTabWidget;

namespace inspect {

class LayerStatisticsPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr int kRedrawIntervalMs = 200;
    static constexpr double kUpdateRatioRule = 1e-3;   // Karpathy: ~1e-3 is healthy

    explicit LayerStatisticsPanel(QWidget* parent = nullptr);

    void beginLiveRun(const QString& runId);
    void appendMetrics(const QString& runId, const QVector<nnlab::MetricPoint>& batch);
    void addSnapshots(const QString& runId, const std::vector<nnlab::Snapshot>& snapshots);
    void showStoredRun(const QString& storePath, const QString& runId);

    QString runId() const { return m_runId; }
    const LayerStatsData& data() const { return m_data; }
    QStringList shownLayers() const;              // ticked in the list
    void setLayerShown(const QString& layer, bool on);
    QCustomPlot* chart(LayerStat stat) const { return m_charts[static_cast<size_t>(stat)]; }
    QCPGraph* graph(LayerStat stat, const QString& layer) const;
    QCPItemStraightLine* referenceLine() const { return m_rule; }
    DistributionsView* distributions() const { return m_distributions; }
    QTabWidget* tabs() const { return m_tabs; }
    int redrawCount() const { return m_redrawCount; }
    bool isLoading() const { return m_pending > 0; }
    void redrawNow();

signals:
    void loadingFinished();

private:
    struct Stored {
        QString runId;
        QString error;
        std::vector<std::pair<QString, QVector<QPointF>>> series;   // by tag
        std::vector<nnlab::Snapshot> histograms;
    };
    static Stored loadStored(const QString& storePath, const QString& runId);

    void buildUi();
    void reset(const QString& runId);
    void scheduleRedraw();
    void redraw();
    void syncLayerList();

    QString m_runId;
    LayerStatsData m_data;
    QSet<QString> m_hidden;                 // layers unticked by the user
    QTabWidget* m_tabs = nullptr;
    QListWidget* m_layerList = nullptr;
    QLabel* m_status = nullptr;
    std::array<QCustomPlot*, kLayerStatCount> m_charts{};
    QCPItemStraightLine* m_rule = nullptr;
    DistributionsView* m_distributions = nullptr;
    bool m_histogramsChanged = false;
    QTimer m_redrawTimer;
    QElapsedTimer m_sinceRedraw;
    int m_redrawCount = 0;
    int m_request = 0;
    int m_pending = 0;
};

} // namespace inspect
