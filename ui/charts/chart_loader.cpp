#include "charts/chart_loader.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <limits>

namespace charts {

int64_t stepsPerEpochOf(const std::string& infoJson)
{
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(infoJson));
    return doc.isObject() ? static_cast<int64_t>(doc.object().value(QLatin1String("stepsPerEpoch")).toDouble(0))
                          : 0;
}

std::unique_ptr<ChartRun> loadStoredRun(const nnlab::RunStore& store, const QString& runId,
                                        const QStringList& tags, bool everyPoint, QString* error)
{
    const auto details = store.getRun(runId.toStdString());
    if (!details.ok()) {
        *error = QString::fromStdString(details.error.message);
        return nullptr;
    }
    const nnlab::RunDetails& d = details.value;
    auto run = std::make_unique<ChartRun>();
    run->id = QString::fromStdString(d.id);
    run->name = QString::fromStdString(d.name);
    run->stepsPerEpoch = stepsPerEpochOf(d.infoJson);
    // Points will be appended to its series as they are recorded.
    run->watched = d.status == nnlab::RunStatus::Running;
    everyPoint = everyPoint || run->watched;

    for (const auto& [tagName, summary] : d.metrics) {
        const QString tag = QString::fromStdString(tagName);
        if (!tags.contains(tag) || summary.count <= 0)
            continue;
        if (everyPoint || summary.count <= kFullLoadLimit) {
            const auto points = store.series(d.id, tagName);
            if (!points.ok()) {
                *error = QString::fromStdString(points.error.message);
                return nullptr;
            }
            auto series = std::make_unique<FullSeries>();
            series->append(points.value);
            run->series[tag] = std::move(series);
        } else {
            const auto buckets =
                store.seriesDownsampled(d.id, tagName, summary.firstStep, summary.lastStep, kOverviewBuckets);
            if (!buckets.ok()) {
                *error = QString::fromStdString(buckets.error.message);
                return nullptr;
            }
            run->series[tag] = std::make_unique<BucketSeries>(buckets.value, kOverviewBuckets);
        }
    }
    if (!loadStoredAlerts(store, *run, error))
        return nullptr;
    for (const auto& [tag, series] : run->series) {
        if (series->isEmpty())
            continue;
        const double first = series->firstPoint().wallTime;
        if (!std::isfinite(run->startTime) || first < run->startTime)
            run->startTime = first;
    }
    return run;
}

PollResult pollStoredRun(const nnlab::RunStore& store, ChartRun& run, const QStringList& tags, QString* error)
{
    PollResult result;
    const auto details = store.getRun(run.id.toStdString());
    if (!details.ok()) {
        *error = QString::fromStdString(details.error.message);
        result.stillRunning = details.error.code != nnlab::StoreErrorCode::NoSuchRun;
        return result;
    }
    const nnlab::RunDetails& d = details.value;
    result.stillRunning = d.status == nnlab::RunStatus::Running;
    const QString name = QString::fromStdString(d.name);
    if (!name.isEmpty() && name != run.name) {
        run.name = name;
        result.changed = true;
    }
    if (run.stepsPerEpoch == 0)
        run.stepsPerEpoch = stepsPerEpochOf(d.infoJson);

    for (const auto& [tagName, summary] : d.metrics) {
        const QString tag = QString::fromStdString(tagName);
        if (!tags.contains(tag) || summary.count <= 0)
            continue;
        auto& slot = run.series[tag];
        if (!slot)
            slot = std::make_unique<FullSeries>();
        auto* series = dynamic_cast<FullSeries*>(slot.get());
        if (!series)
            continue;   // loaded as an overview before it was watched: it stays as it is
        const int64_t after = series->isEmpty() ? std::numeric_limits<int64_t>::min() : series->lastPoint().step + 1;
        if (!series->isEmpty() && summary.lastStep < after)
            continue;
        const auto points = store.series(d.id, tagName, after);
        if (!points.ok()) {
            *error = QString::fromStdString(points.error.message);
            return result;
        }
        if (points.value.empty())
            continue;
        series->append(points.value);
        result.changed = true;
        if (!std::isfinite(run.startTime) || points.value.front().wallTime < run.startTime)
            run.startTime = points.value.front().wallTime;
    }
    const size_t alerts = run.alerts.size();
    if (!loadStoredAlerts(store, run, error))
        return result;
    result.changed = result.changed || run.alerts.size() != alerts;
    result.ok = true;
    return result;
}

bool loadStoredAlerts(const nnlab::RunStore& store, ChartRun& run, QString* error)
{
    const auto events = store.events(run.id.toStdString());
    if (!events.ok()) {
        *error = QString::fromStdString(events.error.message);
        return false;
    }
    run.alerts.clear();
    for (const nnlab::RunEvent& event : events.value) {
        if (event.kind != nnlab::EventKind::Alert)
            continue;
        // An alert a newer build wrote in a form this one cannot read still marks its step.
        nnlab::MonitorAlert alert;
        if (auto parsed = nnlab::alertFromDetail(event.detail)) {
            alert = *parsed;
        } else {
            alert.step = std::max<int64_t>(event.step, 0);
            alert.message = event.detail;
        }
        run.alerts.push_back({alert, event.time});
    }
    return true;
}

bool loadDetail(const nnlab::RunStore& store, const QString& runId, const QString& tag,
                BucketSeries& series, const DetailRequest& request, QString* error)
{
    auto buckets = store.seriesDownsampled(runId.toStdString(), tag.toStdString(), request.stepMin,
                                           request.stepMax, request.buckets);
    if (!buckets.ok()) {
        *error = QString::fromStdString(buckets.error.message);
        return false;
    }
    series.setDetail(request, std::move(buckets.value));
    return true;
}

} // namespace charts
