#include "layer_stats_panel.h"

#include "plane_data.h"

#include "charts/chart_run.h"

#include "nnlab/store.h"

#include <QFutureWatcher>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QTabWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace inspect {

LayerStatisticsPanel::LayerStatisticsPanel(QWidget* parent) : QWidget(parent)
{
    m_redrawTimer.setSingleShot(true);
    connect(&m_redrawTimer, &QTimer::timeout, this, &LayerStatisticsPanel::redraw);
    m_sinceRedraw.start();
    buildUi();
}

void LayerStatisticsPanel::buildUi()
{
    m_layerList = new QListWidget(this);
    m_layerList->setObjectName(QStringLiteral("layerList"));
    m_layerList->setToolTip(tr("Layers by their path in the model (as in the Model dock); untick to hide"));
    m_layerList->setMaximumWidth(130);
    connect(m_layerList, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        if (item->checkState() == Qt::Checked)
            m_hidden.remove(item->text());
        else
            m_hidden.insert(item->text());
        scheduleRedraw();
    });

    auto* grid = new QWidget(this);
    auto* gridLayout = new QGridLayout(grid);
    gridLayout->setContentsMargins(0, 0, 0, 0);
    gridLayout->setSpacing(2);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    for (int i = 0; i < kLayerStatCount; ++i) {
        const auto stat = static_cast<LayerStat>(i);
        auto* plot = new QCustomPlot(grid);
        plot->setObjectName(QStringLiteral("layerChart_") + statKey(stat));
        plot->setMinimumSize(200, 130);
        plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
        plot->plotLayout()->insertRow(0);
        auto* title = new QCPTextElement(plot, statTitle(stat), small);
        plot->plotLayout()->addElement(0, 0, title);
        for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
            axis->setTickLabelFont(small);
            axis->grid()->setPen(QPen(QColor(0, 0, 0, 28)));
        }
        plot->xAxis->ticker()->setTickCount(4);
        plot->yAxis->ticker()->setTickCount(4);
        m_charts[static_cast<size_t>(i)] = plot;
        gridLayout->addWidget(plot, i / 2, i % 2);
    }
    // The update ratio spans decades: log scale, and the rule of thumb as a dashed line.
    QCustomPlot* ratio = chart(LayerStat::UpdateRatio);
    ratio->yAxis->setScaleType(QCPAxis::stLogarithmic);
    ratio->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    ratio->yAxis->setNumberFormat(QStringLiteral("eb"));
    ratio->yAxis->setNumberPrecision(0);
    m_rule = new QCPItemStraightLine(ratio);
    m_rule->point1->setCoords(0, kUpdateRatioRule);
    m_rule->point2->setCoords(1, kUpdateRatioRule);
    m_rule->setPen(QPen(QColor(0x55, 0x55, 0x55), 1.2, Qt::DashLine));
    auto* ruleLabel = new QCPItemText(ratio);
    ruleLabel->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    ruleLabel->position->setTypeY(QCPItemPosition::ptPlotCoords);
    ruleLabel->position->setCoords(0.02, kUpdateRatioRule);
    ruleLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    ruleLabel->setText(tr("1e-3 rule of thumb"));
    ruleLabel->setFont(small);
    ruleLabel->setColor(QColor(0x55, 0x55, 0x55));
    chart(LayerStat::DeadFraction)->yAxis->setRange(0, 1);

    auto* statsPage = new QWidget(this);
    auto* statsLayout = new QHBoxLayout(statsPage);
    statsLayout->setContentsMargins(2, 2, 2, 2);
    statsLayout->addWidget(m_layerList);
    statsLayout->addWidget(grid, 1);

    m_distributions = new DistributionsView(this);
    m_tabs = new QTabWidget(this);
    m_tabs->addTab(statsPage, tr("Over time"));
    m_tabs->addTab(m_distributions, tr("Distributions"));

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_status->setText(tr("Train, or select a run, to see its layers' statistics (inspect.layer_stats_every_steps)."));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_status);
    layout->addWidget(m_tabs, 1);
}

void LayerStatisticsPanel::reset(const QString& runId)
{
    ++m_request;
    m_runId = runId;
    m_data.clear();
    m_distributions->clear();
    m_histogramsChanged = false;
    m_status->clear();
    scheduleRedraw();
}

void LayerStatisticsPanel::beginLiveRun(const QString& runId)
{
    reset(runId);
    m_status->setText(tr("Waiting for the first layer statistics…"));
}

void LayerStatisticsPanel::appendMetrics(const QString& runId, const QVector<nnlab::MetricPoint>& batch)
{
    if (runId != m_runId)
        return;
    bool any = false;
    for (const nnlab::MetricPoint& p : batch)
        any |= m_data.add(QString::fromStdString(p.tag), p.step, p.value);
    if (any)
        scheduleRedraw();
}

void LayerStatisticsPanel::addSnapshots(const QString& runId, const std::vector<nnlab::Snapshot>& snapshots)
{
    if (runId != m_runId)
        return;
    const bool any = std::any_of(snapshots.begin(), snapshots.end(), [](const nnlab::Snapshot& s) {
        return s.kind == nnlab::SnapshotKind::WeightHistogram || s.kind == nnlab::SnapshotKind::GradientHistogram;
    });
    if (!any)
        return;
    m_distributions->addSnapshots(snapshots);
    m_histogramsChanged = true;
    scheduleRedraw();
}

LayerStatisticsPanel::Stored LayerStatisticsPanel::loadStored(const QString& storePath, const QString& runId)
{
    Stored out;
    out.runId = runId;
    nnlab::StoreOptions options;
    options.readOnly = true;
    auto opened = nnlab::RunStore::open(storePath.toStdString(), options);
    if (!opened.ok()) {
        out.error = QString::fromStdString(opened.error.message);
        return out;
    }
    const nnlab::RunStore& store = *opened.value;
    const auto tags = store.metricTags(runId.toStdString());
    if (!tags.ok()) {
        out.error = QString::fromStdString(tags.error.message);
        return out;
    }
    for (const std::string& tag : tags.value) {
        QString layer;
        LayerStat stat;
        if (!parseLayerTag(QString::fromStdString(tag), &layer, &stat))
            continue;
        // Layer statistics come every N steps: a few thousand points even for long runs.
        const auto points = store.series(runId.toStdString(), tag);
        if (!points.ok()) {
            out.error = QString::fromStdString(points.error.message);
            continue;
        }
        QVector<QPointF> series;
        series.reserve(static_cast<int>(points.value.size()));
        for (const nnlab::SeriesPoint& p : points.value)
            series.append(QPointF(static_cast<double>(p.step), p.value));
        out.series.emplace_back(QString::fromStdString(tag), std::move(series));
    }
    for (auto kind : {nnlab::SnapshotKind::WeightHistogram, nnlab::SnapshotKind::GradientHistogram}) {
        const auto read = store.snapshots(runId.toStdString(), kind);
        if (read.ok())
            out.histograms.insert(out.histograms.end(), read.value.begin(), read.value.end());
    }
    return out;
}

void LayerStatisticsPanel::showStoredRun(const QString& storePath, const QString& runId)
{
    reset(runId);
    m_status->setText(tr("Reading run %1…").arg(runId));
    auto* watcher = new QFutureWatcher<Stored>(this);
    const int request = m_request;
    ++m_pending;
    connect(watcher, &QFutureWatcher<Stored>::finished, this, [this, watcher, request] {
        --m_pending;
        const Stored stored = watcher->result();
        watcher->deleteLater();
        if (request == m_request) {
            for (const auto& [tag, series] : stored.series) {
                QString layer;
                LayerStat stat;
                if (parseLayerTag(tag, &layer, &stat))
                    m_data.setSeries(layer, stat, series);
            }
            m_distributions->addSnapshots(stored.histograms);
            m_histogramsChanged = true;
            if (!stored.error.isEmpty())
                m_status->setText(stored.error);
            else if (m_data.isEmpty() && stored.histograms.empty())
                m_status->setText(tr("Run %1 recorded no layer statistics (inspect.layer_stats_every_steps was 0, "
                                     "or it was trained before nnlab recorded them).")
                                      .arg(m_runId));
            else
                m_status->clear();
            redraw();
        }
        if (m_pending == 0)
            emit loadingFinished();
    });
    watcher->setFuture(QtConcurrent::run(&LayerStatisticsPanel::loadStored, storePath, runId));
}

QStringList LayerStatisticsPanel::shownLayers() const
{
    QStringList out;
    for (const QString& layer : m_data.layers())
        if (!m_hidden.contains(layer))
            out << layer;
    return out;
}

void LayerStatisticsPanel::setLayerShown(const QString& layer, bool on)
{
    if (on)
        m_hidden.remove(layer);
    else
        m_hidden.insert(layer);
    syncLayerList();
    scheduleRedraw();
}

void LayerStatisticsPanel::syncLayerList()
{
    const QStringList layers = m_data.layers();
    const QSignalBlocker blocker(m_layerList);
    m_layerList->clear();
    for (int i = 0; i < layers.size(); ++i) {
        auto* item = new QListWidgetItem(layers[i], m_layerList);
        QPixmap swatch(12, 12);
        swatch.fill(charts::runColour(i));
        item->setIcon(QIcon(swatch));
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(m_hidden.contains(layers[i]) ? Qt::Unchecked : Qt::Checked);
    }
}

QCPGraph* LayerStatisticsPanel::graph(LayerStat stat, const QString& layer) const
{
    QCustomPlot* plot = chart(stat);
    for (int i = 0; i < plot->graphCount(); ++i)
        if (plot->graph(i)->name() == layer)
            return plot->graph(i);
    return nullptr;
}

void LayerStatisticsPanel::scheduleRedraw()
{
    if (m_redrawTimer.isActive())
        return;
    const qint64 since = m_sinceRedraw.elapsed();
    m_redrawTimer.start(static_cast<int>(std::max<qint64>(0, kRedrawIntervalMs - since)));
}

void LayerStatisticsPanel::redrawNow()
{
    redraw();
    for (QCustomPlot* plot : m_charts)
        plot->replot(QCustomPlot::rpImmediateRefresh);
}

void LayerStatisticsPanel::redraw()
{
    m_redrawTimer.stop();
    m_sinceRedraw.restart();
    ++m_redrawCount;
    const QStringList layers = m_data.layers();
    if (m_layerList->count() != layers.size())
        syncLayerList();
    if (!layers.isEmpty() && m_status->text().startsWith(tr("Waiting")))
        m_status->clear();
    for (int i = 0; i < kLayerStatCount; ++i) {
        const auto stat = static_cast<LayerStat>(i);
        QCustomPlot* plot = m_charts[static_cast<size_t>(i)];
        // One graph a layer, kept in layer order so colours stay with their layer.
        while (plot->graphCount() > layers.size())
            plot->removeGraph(plot->graphCount() - 1);
        while (plot->graphCount() < layers.size())
            plot->addGraph();
        bool any = false;
        for (int l = 0; l < layers.size(); ++l) {
            QCPGraph* g = plot->graph(l);
            g->setName(layers[l]);
            g->setPen(QPen(charts::runColour(l), 1.4));
            const QVector<QPointF>* series = m_data.series(layers[l], stat);
            const bool shown = series && !m_hidden.contains(layers[l]);
            g->setVisible(shown);
            QVector<double> keys, values;
            if (series) {
                keys.reserve(series->size());
                values.reserve(series->size());
                for (const QPointF& p : *series) {
                    // A log axis cannot place 0 (a layer with no update yet).
                    if (stat == LayerStat::UpdateRatio && !(p.y() > 0))
                        continue;
                    keys << p.x();
                    values << p.y();
                }
            }
            g->setData(keys, values, true);
            any |= shown && !keys.isEmpty();
        }
        if (any) {
            bool found = false;
            QCPRange x, y;
            for (int l = 0; l < plot->graphCount(); ++l) {
                if (!plot->graph(l)->visible())
                    continue;
                bool okX = false, okY = false;
                const QCPRange gx = plot->graph(l)->getKeyRange(okX);
                const QCPRange gy = plot->graph(l)->getValueRange(okY, QCP::sdBoth);
                if (!okX || !okY)
                    continue;
                x = found ? QCPRange(std::min(x.lower, gx.lower), std::max(x.upper, gx.upper)) : gx;
                y = found ? QCPRange(std::min(y.lower, gy.lower), std::max(y.upper, gy.upper)) : gy;
                found = true;
            }
            if (found) {
                plot->xAxis->setRange(x.lower, x.upper > x.lower ? x.upper : x.lower + 1);
                if (stat == LayerStat::UpdateRatio) {
                    // Keep the rule of thumb in view.
                    plot->yAxis->setRange(std::min(y.lower, kUpdateRatioRule) / 2, std::max(y.upper, kUpdateRatioRule) * 2);
                } else if (stat == LayerStat::DeadFraction) {
                    plot->yAxis->setRange(0, std::max(0.05, std::min(1.0, y.upper * 1.1)));
                } else {
                    const double pad = y.size() > 0 ? 0.08 * y.size() : std::max(1e-6, std::fabs(y.lower) * 0.1);
                    plot->yAxis->setRange(y.lower - pad, y.upper + pad);
                }
            }
        }
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
    if (m_histogramsChanged) {
        m_histogramsChanged = false;
        m_distributions->redraw();
    }
}

} // namespace inspect
