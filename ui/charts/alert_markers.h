// The alerts of the shown runs on one chart: a dashed vertical line in the run's colour at
// each alert's step, and on the chart of the alert's metric a flag (a triangle at the top)
// whose hover text is the alert's message. Items are rebuilt only when the alerts, the runs
// or the x axis mode changed; the chart's coalesced replot draws them.
#pragma once

#include "charts/chart_run.h"

#include <QPointF>
#include <QString>
#include <QStringList>

#include <vector>

class QCustomPlot;
class QCPItemStraightLine;
class QCPItemText;

namespace charts {

class AlertMarkers {
public:
    explicit AlertMarkers(QCustomPlot* plot);
    ~AlertMarkers();
    AlertMarkers(const AlertMarkers&) = delete;
    AlertMarkers& operator=(const AlertMarkers&) = delete;

    // Alerts on `ownTags` get a flag here; with `catchAll`, so do alerts on metrics no chart
    // draws (`chartedTags`: every chart's tags), e.g. grad_norm or samples_per_sec.
    void setFlagRule(const QStringList& ownTags, bool catchAll, const QStringList& chartedTags);

    // Matches the items to the runs' alerts; true when they changed.
    bool sync(const ChartRuns& runs, XAxisMode mode);

    int lineCount() const { return static_cast<int>(m_markers.size()); }
    int flagCount() const;
    // The x coordinates of the markers, and of the flagged ones (for tests).
    std::vector<double> keys(bool flaggedOnly = false) const;
    // The text of the marker within a few pixels of `pos` (its line or flag); empty if none.
    QString textNear(const QPointF& pos) const;

    // At most this many markers a chart (the newest); a rule that fires at every logging
    // window would otherwise bury the curves.
    static constexpr int kMaxMarkers = 300;

private:
    struct Marker {
        QCPItemStraightLine* line = nullptr;
        QCPItemText* flag = nullptr;   // null when the alert is another chart's
        double key = 0.0;
        QString text;
    };
    void clear();
    bool flags(const QString& metric) const;

    QCustomPlot* m_plot;
    QStringList m_ownTags;
    bool m_catchAll = false;
    QStringList m_chartedTags;
    std::vector<Marker> m_markers;
    QString m_signature;   // what the items were built for
};

// "run · diverging: train/loss 8.31 > 3 x its minimum ... at step 120 → rollback x0.5 (1 of 3)":
// an alert for a person, from its message when it has one; `lines`: run and rule, message and
// action on lines of their own (a hover label).
QString alertText(const QString& runName, const nnlab::MonitorAlert& alert, bool lines = false);

} // namespace charts
