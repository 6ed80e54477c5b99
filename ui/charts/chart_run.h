// The runs the charts show: their series by tag, colour and what the x axis needs.
#pragma once

#include "charts/metric_series.h"

#include "nnlab/monitor_alert.h"

#include <QColor>
#include <QString>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <vector>

namespace charts {

enum class XAxisMode { Step, Epoch, RelativeTime };

// A monitor rule's firing on a run (an EventKind::Alert event): a marker on the charts and a
// line in the Alerts dock.
struct ChartAlert {
    nnlab::MonitorAlert alert;                                    // its step is the marker's
    double wallTime = std::numeric_limits<double>::quiet_NaN();   // when it fired, Unix seconds
};

struct ChartRun {
    QString id;
    QString name;
    int colourIndex = 0;          // into runColour(); fixed for the panel's lifetime
    int64_t stepsPerEpoch = 0;    // 0 = unknown: the epoch axis falls back to steps
    double startTime = std::numeric_limits<double>::quiet_NaN();   // wall time of the first point
    bool live = false;            // training now: points arrive through appendMetrics
    // Running in another process (nnlab-cli, a Slurm job, another window) when it was loaded:
    // its new points are read from the store every second until its status changes.
    bool watched = false;
    std::map<QString, std::unique_ptr<MetricSeries>> series;       // by tag
    std::vector<ChartAlert> alerts;                                // in the order they fired

    const MetricSeries* find(const QString& tag) const
    {
        const auto it = series.find(tag);
        return it == series.end() || it->second->isEmpty() ? nullptr : it->second.get();
    }

    // The x coordinate of a point.
    double keyOf(const SeriesPoint& p, XAxisMode mode) const
    {
        switch (mode) {
        case XAxisMode::Epoch:
            return stepsPerEpoch > 0 ? static_cast<double>(p.step) / static_cast<double>(stepsPerEpoch)
                                     : static_cast<double>(p.step);
        case XAxisMode::RelativeTime:
            return p.wallTime - (std::isfinite(startTime) ? startTime : 0.0);
        case XAxisMode::Step:
            break;
        }
        return static_cast<double>(p.step);
    }

    // The x coordinate of an alert's marker; NaN when it has none on this axis.
    double keyOf(const ChartAlert& a, XAxisMode mode) const
    {
        if (mode == XAxisMode::RelativeTime)
            return a.wallTime - (std::isfinite(startTime) ? startTime : a.wallTime);
        return keyOf(SeriesPoint{a.alert.step, a.wallTime, 0.0}, mode);
    }

    // The step at x coordinate `key` of `series` (inverse of keyOf, rounded outwards by the caller).
    double stepAt(const MetricSeries& s, double key, XAxisMode mode) const
    {
        switch (mode) {
        case XAxisMode::Epoch:
            return stepsPerEpoch > 0 ? key * static_cast<double>(stepsPerEpoch) : key;
        case XAxisMode::RelativeTime:
            return static_cast<double>(s.stepAtWallTime(key + (std::isfinite(startTime) ? startTime : 0.0)));
        case XAxisMode::Step:
            break;
        }
        return key;
    }
};

using ChartRuns = std::vector<std::unique_ptr<ChartRun>>;

// The colour of the run with this index: ten well-separated colours (Tableau 10), then hues
// spaced by the golden angle so later runs stay distinct from each other.
QColor runColour(int index);

} // namespace charts
