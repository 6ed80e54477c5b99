// One chart (loss, accuracy or learning rate): a QCustomPlot with a curve per (run, tag).
// It draws what the panel's runs hold for the visible x range, M4-decimated to the plot's
// pixel width (metric_series.h), and regenerates a curve only when its series changed or the
// view moved out of, or zoomed far from, what was generated (a margin of one view width each
// side, so panning does not regenerate at every mouse move).
#pragma once

#include "charts/chart_run.h"

#include <qcustomplot.h>

#include <QStringList>

#include <memory>
#include <vector>

namespace charts {

class AlertMarkers;

class MetricChart : public QCustomPlot {
    Q_OBJECT
public:
    struct Spec {
        QString yLabel;            // "loss"
        QStringList tags;          // tags drawn; a run's legend entry is its first tag with data
        QStringList smoothedTags;  // tags smoothed when the smoothing weight is > 0
        QStringList dashedTags;    // drawn dashed with markers (validation: a point an epoch)
    };
    struct Options {
        XAxisMode xMode = XAxisMode::Step;
        double smoothing = 0.0;    // debiased EMA weight, 0 = off
    };
    struct DetailWanted {
        QString runId;
        QString tag;
        DetailRequest request;
    };

    explicit MetricChart(Spec spec, QWidget* parent = nullptr);
    ~MetricChart() override;

    const Spec& spec() const { return m_spec; }

    // Creates and removes curves to match `runs`, styles them, and regenerates stale curve
    // data for the current x range. Returns true when any graph changed.
    bool sync(const ChartRuns& runs, const Options& options);
    // Draws what sync changed: a full replot, or, when only the smoothed curves changed (the
    // smoothing slider) and the axes did not move, only their buffered layer, over the other
    // layers' buffers as they are. immediate: painted now, else at the next paint.
    void redraw(bool immediate);
    // The x extent of all data of these runs; false when there is none.
    bool dataKeyRange(const ChartRuns& runs, XAxisMode mode, QCPRange* range) const;
    // Fits the y axis to the graphs' data inside the visible x range.
    void fitValueAxis();
    void setLogY(bool on);
    void setXAxisMode(XAxisMode mode);
    // Stored series that want a finer read for the current view.
    std::vector<DetailWanted> wantedDetail(const ChartRuns& runs, XAxisMode mode) const;
    // The axis rect's width in pixels (a guess before the first layout).
    int plotColumns() const;

    // Hover read-out at a widget position; false (and hidden) when no point is within reach.
    bool hoverAt(const QPointF& pos);
    QString hoverText() const;
    void hideHover();

    QCPGraph* rawGraph(const QString& runId, const QString& tag) const;
    QCPGraph* smoothedGraph(const QString& runId, const QString& tag) const;
    int curveCount() const { return static_cast<int>(m_curves.size()); }
    // The runs' alerts on this chart (alert_markers.h).
    AlertMarkers* alertMarkers() const { return m_alerts.get(); }

signals:
    void userNavigated();    // zoomed or panned with the mouse
    void resetRequested();   // double-click
    void exportRequested();  // context menu

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;

private:
    struct Curve;
    Curve* findCurve(const QString& runId, const QString& tag) const;
    struct Detail {
        bool wideLines = true;
        bool markers = true;
        int rawAlpha = 60;   // of the raw curve behind a smoothed one
    };
    void styleCurve(Curve& curve, const ChartRun& run, bool smoothOn, const Detail& detail);
    // A stale curve's regeneration: planned and applied on the GUI thread, its view computed
    // in between (on either thread, see sync).
    struct Regeneration {
        Curve* curve = nullptr;
        const ChartRun* run = nullptr;
        const MetricSeries* series = nullptr;
        ViewRequest request;
        SeriesView view;
        QCPRange generated;
        double visibleWidth = 0.0;
        int columns = 0;
    };
    // False when the curve is up to date.
    bool planRegeneration(Curve& curve, const ChartRun& run, const MetricSeries& series, const Options& options,
                          Regeneration* out) const;
    void applyRegeneration(Regeneration& r, const Options& options);
    void updateLegend(const ChartRuns& runs);
    void wrapLegend();

    // What changed since the last redraw.
    enum class Dirty { Nothing, SmoothedOnly, Everything };
    Dirty m_dirty = Dirty::Everything;
    bool m_smoothOn = false;   // at the last sync
    QCPRange m_drawnX, m_drawnY;   // the axes at the last full replot
    QSize m_drawnSize;
    QCPAxis::ScaleType m_drawnScale = QCPAxis::stLinear;

    Spec m_spec;
    std::vector<std::unique_ptr<Curve>> m_curves;
    QString m_legendSignature;
    QCPItemText* m_emptyLabel = nullptr;   // "No loss yet" on an empty chart
    QCPItemTracer* m_tracer = nullptr;
    QCPItemText* m_hoverLabel = nullptr;
    std::unique_ptr<AlertMarkers> m_alerts;
};

} // namespace charts
