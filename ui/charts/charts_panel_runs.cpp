// ChartsPanel: which runs are shown and where their data comes from; export.
#include "charts/charts_panel.h"

#include "charts/chart_export.h"
#include "charts/chart_loader.h"
#include "charts/detail_loader.h"
#include "charts/metric_chart.h"

#include "nnlab/store.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>

#include <algorithm>
#include <cmath>

using charts::ChartRun;
using charts::MetricChart;

// ---- runs ----

QStringList ChartsPanel::chartTags() const
{
    QStringList tags;
    for (const MetricChart* chart : m_charts)
        tags += chart->spec().tags;
    return tags;
}

ChartRun* ChartsPanel::findRun(const QString& runId) const
{
    for (const auto& run : m_runs)
        if (run->id == runId)
            return run.get();
    return nullptr;
}

const ChartRun* ChartsPanel::run(const QString& runId) const
{
    return findRun(runId);
}

ChartRun* ChartsPanel::addRun(std::unique_ptr<ChartRun> run)
{
    if (!m_colourIndex.contains(run->id))
        m_colourIndex.insert(run->id, m_nextColour++);
    run->colourIndex = m_colourIndex.value(run->id);
    const QString id = run->id;
    for (auto& existing : m_runs) {
        if (existing->id == id) {
            existing = std::move(run);
            return existing.get();
        }
    }
    m_runs.push_back(std::move(run));
    std::stable_sort(m_runs.begin(), m_runs.end(),
                     [](const auto& a, const auto& b) { return a->colourIndex < b->colourIndex; });
    return findRun(id);
}

bool ChartsPanel::ensureStore(bool quiet)
{
    if (m_store)
        return true;
    if (m_storePath.isEmpty())
        return false;
    nnlab::StoreOptions options;
    options.readOnly = true;
    auto opened = nnlab::RunStore::open(m_storePath.toStdString(), options);
    if (!opened.ok()) {
        if (!quiet)
            showError(QString::fromStdString(opened.error.message));
        return false;
    }
    m_store = std::move(opened.value);
    return true;
}

void ChartsPanel::setStorePath(const QString& dbPath)
{
    if (dbPath == m_storePath)
        return;
    m_storePath = dbPath;
    m_store.reset();
    m_detailLoader->setStorePath(dbPath);
    m_detailSent.clear();
    // Stored runs came from the old file: read the ticked ones again from the new one.
    m_runs.erase(std::remove_if(m_runs.begin(), m_runs.end(), [](const auto& run) { return !run->live; }),
                 m_runs.end());
    if (!m_overlaid.isEmpty())
        setOverlaidRuns(m_overlaid);
    updatePolling();
    scheduleRefresh();
}

void ChartsPanel::removeUnwantedRuns()
{
    m_runs.erase(std::remove_if(m_runs.begin(), m_runs.end(),
                                [this](const auto& run) {
                                    return !run->live && run->id != m_lastLiveRun && !m_overlaid.contains(run->id);
                                }),
                 m_runs.end());
}

void ChartsPanel::setOverlaidRuns(const QStringList& runIds)
{
    m_overlaid = runIds;
    removeUnwantedRuns();
    QStringList errors;
    for (const QString& id : runIds) {
        if (findRun(id))
            continue;
        if (!ensureStore())
            break;
        QString error;
        if (auto run = charts::loadStoredRun(*m_store, id, chartTags(), false, &error))
            addRun(std::move(run));
        else
            errors << error;
    }
    if (!errors.isEmpty())
        showError(errors.join(QLatin1Char('\n')));
    else if (m_status->isVisible() && m_store)
        m_status->setVisible(false);
    updatePolling();
    scheduleRefresh();
}

void ChartsPanel::updatePolling()
{
    const bool watching = std::any_of(m_runs.begin(), m_runs.end(),
                                      [](const auto& run) { return run->watched && !run->live; });
    if (!watching)
        m_pollTimer.stop();
    else if (!m_pollTimer.isActive())
        m_pollTimer.start();
}

void ChartsPanel::pollWatchedRuns()
{
    if (!m_store)
        return;
    bool changed = false;
    for (const auto& run : m_runs) {
        if (!run->watched || run->live)
            continue;
        QString error;
        const charts::PollResult polled = charts::pollStoredRun(*m_store, *run, chartTags(), &error);
        changed = changed || polled.changed;
        run->watched = polled.stillRunning;
        // A store busy for a moment is tried again next second; say so once.
        if (!polled.ok && error != m_lastError)
            showError(error);
    }
    updatePolling();
    if (changed)
        scheduleRefresh();
}

void ChartsPanel::beginLiveRun(const QString& runId, const QString& name, qint64 stepsPerEpoch)
{
    if (ChartRun* existing = findRun(runId); existing && existing->live) {
        if (!name.isEmpty())
            existing->name = name;
        if (stepsPerEpoch > 0)
            existing->stepsPerEpoch = stepsPerEpoch;
        scheduleRefresh();
        return;
    }
    std::unique_ptr<ChartRun> run;
    // A resumed run: what it logged before continues on the same curves. A run trained
    // without a store has nothing to load, which is no error.
    if (ensureStore(true)) {
        QString error;
        run = charts::loadStoredRun(*m_store, runId, chartTags(), true, &error);
    }
    if (!run) {
        run = std::make_unique<ChartRun>();
        run->id = runId;
    }
    if (!name.isEmpty())
        run->name = name;
    if (run->name.isEmpty())
        run->name = runId;
    if (stepsPerEpoch > 0)
        run->stepsPerEpoch = stepsPerEpoch;
    run->live = true;
    run->watched = false;   // this window's own run: its points come through appendMetrics
    const QString previous = m_lastLiveRun;
    m_lastLiveRun = runId;
    addRun(std::move(run));
    if (!previous.isEmpty() && previous != runId)
        removeUnwantedRuns();
    scheduleRefresh();
}

void ChartsPanel::appendMetrics(const QString& runId, const QVector<nnlab::MetricPoint>& batch)
{
    ChartRun* run = findRun(runId);
    if (!run || !run->live) {
        beginLiveRun(runId, run ? run->name : QString(), run ? run->stepsPerEpoch : 0);
        run = findRun(runId);
    }
    // Batches interleave a few tags step by step: look each up once per batch.
    const QStringList tags = chartTags();
    std::vector<std::pair<std::string, charts::FullSeries*>> seriesByTag;
    for (const nnlab::MetricPoint& p : batch) {
        auto it = std::find_if(seriesByTag.begin(), seriesByTag.end(),
                               [&](const auto& entry) { return entry.first == p.tag; });
        if (it == seriesByTag.end()) {
            const QString tag = QString::fromStdString(p.tag);
            charts::FullSeries* series = nullptr;
            if (tags.contains(tag)) {
                auto& slot = run->series[tag];
                if (!slot)
                    slot = std::make_unique<charts::FullSeries>();
                series = dynamic_cast<charts::FullSeries*>(slot.get());
            }
            seriesByTag.emplace_back(p.tag, series);
            it = seriesByTag.end() - 1;
        }
        if (!it->second)
            continue;
        it->second->append(nnlab::SeriesPoint{p.step, p.wallTime, p.value});
        if (!std::isfinite(run->startTime))
            run->startTime = p.wallTime;
    }
    scheduleRefresh();
}

void ChartsPanel::endLiveRun(const QString& runId)
{
    if (ChartRun* run = findRun(runId))
        run->live = false;
    scheduleRefresh();
}

void ChartsPanel::setRunName(const QString& runId, const QString& name)
{
    if (ChartRun* run = findRun(runId)) {
        run->name = name;
        scheduleRefresh();
    }
}

// ---- export, errors, accessors ----

bool ChartsPanel::exportChart(int index, const QString& path)
{
    if (index < 0 || index >= ChartCount) {
        m_lastError = tr("no chart %1").arg(index);
        return false;
    }
    MetricChart* chart = m_charts[static_cast<size_t>(index)];
    chart->hideHover();
    if (m_refreshTimer.isActive())
        refresh();
    QString error;
    if (!charts::exportPlot(chart, path, &error)) {
        showError(error);
        return false;
    }
    return true;
}

void ChartsPanel::exportWithDialog(int index)
{
    QString selected;
    const QString name = chartTitle(index).toLower().replace(QLatin1Char(' '), QLatin1Char('-'));
    QString path = QFileDialog::getSaveFileName(this, tr("Export %1 chart").arg(chartTitle(index)),
                                                name + QStringLiteral(".png"), charts::exportFileFilter(), &selected);
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty()) {
        const int star = selected.indexOf(QLatin1String("*."));
        path += selected.mid(star + 1, 4);
    }
    exportChart(index, path);
}

void ChartsPanel::showError(const QString& message)
{
    m_lastError = message;
    m_status->setText(message);
    m_status->setVisible(true);
    emit errorOccurred(message);
}

MetricChart* ChartsPanel::chart(int index) const
{
    return index >= 0 && index < ChartCount ? m_charts[static_cast<size_t>(index)] : nullptr;
}

QStringList ChartsPanel::shownRuns() const
{
    QStringList ids;
    for (const auto& run : m_runs)
        ids << run->id;
    return ids;
}

QCPGraph* ChartsPanel::graph(int index, const QString& runId, const QString& tag, bool smoothed) const
{
    const MetricChart* c = chart(index);
    if (!c)
        return nullptr;
    return smoothed ? c->smoothedGraph(runId, tag) : c->rawGraph(runId, tag);
}

int ChartsPanel::graphPointCount(int index, const QString& runId, const QString& tag, bool smoothed) const
{
    const QCPGraph* g = graph(index, runId, tag, smoothed);
    return g ? g->data()->size() : -1;
}

QColor ChartsPanel::runColour(const QString& runId) const
{
    const ChartRun* r = findRun(runId);
    return r ? charts::runColour(r->colourIndex) : QColor();
}
