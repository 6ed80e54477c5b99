// ChartsPanel: the alerts of monitor rules on the shown runs.
#include "charts/charts_panel.h"

#include "charts/alert_markers.h"
#include "charts/metric_chart.h"

#include <algorithm>
#include <cmath>

using charts::ChartRun;
using charts::MetricChart;

void ChartsPanel::configureAlertMarkers()
{
    const QStringList charted = chartTags();
    for (int i = 0; i < ChartCount; ++i) {
        MetricChart* c = m_charts[static_cast<size_t>(i)];
        // The loss chart also flags alerts on metrics no chart draws (grad_norm, step_time...).
        c->alertMarkers()->setFlagRule(c->spec().tags, i == LossChart, charted);
    }
}

void ChartsPanel::addAlert(const QString& runId, const nnlab::MonitorAlert& alert, double wallTime)
{
    ChartRun* run = findRun(runId);
    if (!run) {
        beginLiveRun(runId, QString(), 0);
        run = findRun(runId);
    }
    run->alerts.push_back({alert, wallTime});
    scheduleRefresh();
}

void ChartsPanel::checkAlertsChanged()
{
    QString signature;
    for (const auto& run : m_runs)
        signature += QStringLiteral("%1/%2/%3|").arg(run->id).arg(run->alerts.size()).arg(run->name);
    if (signature == m_alertSignature)
        return;
    m_alertSignature = signature;
    emit alertsChanged();
}

void ChartsPanel::showStep(const QString& runId, qint64 step)
{
    const ChartRun* run = findRun(runId);
    if (!run)
        return;
    charts::ChartAlert at;
    at.alert.step = step;
    // For the time axis: the wall time of the run's alert at that step (none: no move).
    for (const charts::ChartAlert& a : run->alerts)
        if (a.alert.step == step)
            at.wallTime = a.wallTime;
    const double key = run->keyOf(at, m_xMode);
    if (!std::isfinite(key))
        return;
    setFollow(false);
    m_inRefresh = true;   // no refresh per chart: one after all moved
    for (MetricChart* chart : m_charts) {
        const double half = chart->xAxis->range().size() / 2;
        chart->xAxis->setRange(key - half, key + half);
        chart->fitValueAxis();
    }
    m_inRefresh = false;
    scheduleRefresh();
}
