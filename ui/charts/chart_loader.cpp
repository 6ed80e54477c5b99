#include "charts/chart_loader.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

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
    for (const auto& [tag, series] : run->series) {
        if (series->isEmpty())
            continue;
        const double first = series->firstPoint().wallTime;
        if (!std::isfinite(run->startTime) || first < run->startTime)
            run->startTime = first;
    }
    return run;
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
