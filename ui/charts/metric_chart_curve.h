// MetricChart's per-curve state, shared by its two source files.
#pragma once

#include "charts/metric_chart.h"

namespace charts {

// The buffered layer of the hover read-out: it replots alone as the mouse moves.
inline const QString kHoverLayer = QStringLiteral("hover");

struct MetricChart::Curve {
    QString runId;
    QString runName;
    QString tag;
    QCPGraph* raw = nullptr;        // the curve itself, or drawn faintly behind the smoothed one
    QCPGraph* smoothed = nullptr;   // hidden when not smoothing
    QVector<SeriesPoint> rawPoints;        // what the graphs hold, in the same order
    QVector<SeriesPoint> smoothedPoints;
    // What the graph data was generated for.
    bool valid = false;
    uint64_t revision = 0;
    XAxisMode mode = XAxisMode::Step;
    double smoothing = -1.0;
    int columns = 0;
    QCPRange generated;
    double visibleWidth = 0.0;
    bool dense = false;   // about a point a pixel or more: drawn thin and aliased, for speed
};

} // namespace charts
