// Reads stored runs into what the charts hold (chart_run.h).
#pragma once

#include "charts/chart_run.h"

#include "nnlab/store.h"

#include <QStringList>

#include <memory>

namespace charts {

// A stored series of up to this many points is loaded whole (exact smoothing, ~32 bytes a
// point); a longer one is read as an overview of kOverviewBuckets buckets, refined on zoom.
constexpr int64_t kFullLoadLimit = 16384;
constexpr int kOverviewBuckets = 4096;

// Loads the series `tags` of a stored run. everyPoint: load each series whole whatever its
// length (a run about to continue live); a run still running is loaded whole too, and
// watched. Returns null with the store's message in *error.
std::unique_ptr<ChartRun> loadStoredRun(const nnlab::RunStore& store, const QString& runId,
                                        const QStringList& tags, bool everyPoint, QString* error);

// What pollStoredRun found.
struct PollResult {
    bool ok = false;              // false: *error says why; NoSuchRun also ends the watch
    bool changed = false;         // new points, a new name or new alerts: redraw
    bool stillRunning = false;    // false: that was the last read
};

// The points a watched run (chart_run.h) recorded since the last read: per tag, only the
// steps after the last one held, and whole series of tags that are new. The status is read
// first, so a run that finished meanwhile has every point in this read. Each query is its own
// short read transaction: in WAL mode the recording process is never held up.
PollResult pollStoredRun(const nnlab::RunStore& store, ChartRun& run, const QStringList& tags, QString* error);

// The run's Alert events (monitor rules that fired) into run.alerts.
bool loadStoredAlerts(const nnlab::RunStore& store, ChartRun& run, QString* error);

// The finer read a BucketSeries asked for.
bool loadDetail(const nnlab::RunStore& store, const QString& runId, const QString& tag,
                BucketSeries& series, const DetailRequest& request, QString* error);

// "stepsPerEpoch" of a run's info JSON; 0 when absent.
int64_t stepsPerEpochOf(const std::string& infoJson);

} // namespace charts
