#include "charts/metric_chart.h"

#include "charts/alert_markers.h"
#include "charts/metric_chart_curve.h"

#include <QHash>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

namespace charts {

namespace {

// Up to this many antialiased line points in a chart, lines are 1.5 px wide; up to this
// many validation points, they have markers (see styleCurve).
constexpr int64_t kWideLinePoints = 4000;
constexpr int64_t kMarkerPoints = 300;
// A curve is generated again once the view zooms by this factor: out, it would draw more
// points than pixels; in, its columns would show as steps.
constexpr double kRegenerateZoom = 1.4;
const QString kRawLayer = QStringLiteral("raw");
// The smoothed curves, above the raw ones: buffered on their own, so a smoothing change
// redraws only them (MetricChart::redraw).
const QString kSmoothedLayer = QStringLiteral("smoothed");
// Curves holding this many points in all have their views computed on two threads.
constexpr int64_t kParallelViewPoints = 200000;

// A graph whose lines are drawn as one polyline per run of finite points. QCustomPlot's
// fast-polyline mode calls QPainter::drawLine once per segment, and each call pays the
// painter's per-primitive set-up (pen, clip, transform): with 20 runs of ~1,000 segments a
// chart that set-up was most of a redraw. One drawPolyline call with a cosmetic (width 0) pen
// goes through the raster engine's cosmetic stroker in one pass: the same pixels, less than
// half the time (bench_charts), and wide antialiased lines get proper joints instead of a dot
// at each one.
class CurveGraph : public QCPGraph {
public:
    using QCPGraph::QCPGraph;

protected:
    void drawLinePlot(QCPPainter* painter, const QVector<QPointF>& lines) const override
    {
        if (painter->modes().testFlag(QCPPainter::pmVectorized) || painter->pen().style() != Qt::SolidLine) {
            QCPGraph::drawLinePlot(painter, lines);
            return;
        }
        if (painter->pen().color().alpha() == 0)
            return;
        applyDefaultAntialiasingHint(painter);
        if (painter->pen().widthF() == 1.0) {
            QPen pen = painter->pen();
            pen.setWidth(0);   // cosmetic: the raster engine's fast path
            painter->setPen(pen);
        }
        int start = 0;
        for (int i = 0; i <= lines.size(); ++i) {
            if (i == lines.size() || !std::isfinite(lines.at(i).x()) || !std::isfinite(lines.at(i).y())) {
                if (i - start > 1)
                    painter->drawPolyline(lines.constData() + start, i - start);
                start = i + 1;
            }
        }
    }
};

} // namespace


MetricChart::MetricChart(Spec spec, QWidget* parent)
    : QCustomPlot(parent)
    , m_spec(std::move(spec))
{
    setAutoAddPlottableToLegend(false);
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    setPlottingHint(QCP::phFastPolylines, true);
    setNoAntialiasingOnDrag(true);
    addLayer(kRawLayer, layer(QStringLiteral("main")), limBelow);
    addLayer(kSmoothedLayer, layer(QStringLiteral("main")), limBelow);
    layer(kSmoothedLayer)->setMode(QCPLayer::lmBuffered);
    addLayer(kHoverLayer, layer(QStringLiteral("overlay")), limAbove);
    layer(kHoverLayer)->setMode(QCPLayer::lmBuffered);

    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    xAxis->setLabel(tr("step"));
    yAxis->setLabel(m_spec.yLabel);
    for (QCPAxis* axis : {xAxis, yAxis}) {
        axis->setTickLabelFont(small);
        axis->setLabelFont(small);
        axis->grid()->setPen(QPen(QColor(0, 0, 0, 28), 1, Qt::SolidLine));
        axis->grid()->setSubGridVisible(false);
    }
    xAxis->ticker()->setTickCount(8);
    yAxis->ticker()->setTickCount(5);
    axisRect()->setAutoMargins(QCP::msLeft | QCP::msBottom);
    axisRect()->setMargins(QMargins(0, 8, 12, 0));

    // The legend goes in a row above the plot, wrapped into as many columns as fit, so it
    // never covers curves however many runs are shown; a spacer on its right keeps the
    // entries packed to the left.
    axisRect()->insetLayout()->take(legend);
    plotLayout()->insertRow(0);
    auto* legendRow = new QCPLayoutGrid;
    plotLayout()->addElement(0, 0, legendRow);
    plotLayout()->setRowStretchFactor(0, 0.001);
    plotLayout()->setRowSpacing(0);
    legendRow->addElement(0, 0, legend);
    legendRow->addElement(0, 1, new QCPLayoutElement(this));
    legendRow->setColumnStretchFactor(0, 0.001);
    legendRow->setMargins(QMargins(0, 0, 0, 0));
    legend->setVisible(true);
    legend->setFont(small);
    legend->setBrush(Qt::NoBrush);
    legend->setBorderPen(Qt::NoPen);
    legend->setRowSpacing(0);
    legend->setColumnSpacing(14);
    legend->setMargins(QMargins(56, 3, 4, 0));
    legend->setIconSize(QSize(20, 9));
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);

    m_emptyLabel = new QCPItemText(this);
    m_emptyLabel->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_emptyLabel->position->setCoords(0.5, 0.5);
    m_emptyLabel->setText(tr("No %1 yet").arg(m_spec.yLabel));
    m_emptyLabel->setColor(QColor(0, 0, 0, 110));
    m_emptyLabel->setSelectable(false);

    m_tracer = new QCPItemTracer(this);
    m_tracer->setLayer(kHoverLayer);
    m_tracer->setStyle(QCPItemTracer::tsCircle);
    m_tracer->setSize(8);
    m_tracer->setPen(QPen(QColor(30, 30, 30), 1.5));
    m_tracer->setVisible(false);

    m_hoverLabel = new QCPItemText(this);
    m_hoverLabel->setLayer(kHoverLayer);
    m_hoverLabel->setClipToAxisRect(false);
    m_hoverLabel->position->setType(QCPItemPosition::ptAbsolute);
    m_hoverLabel->setFont(small);
    m_hoverLabel->setPadding(QMargins(5, 3, 5, 3));
    m_hoverLabel->setBrush(QColor(255, 255, 225, 235));
    m_hoverLabel->setPen(QPen(QColor(0, 0, 0, 90)));
    m_hoverLabel->setTextAlignment(Qt::AlignLeft);
    m_hoverLabel->setVisible(false);

    m_alerts = std::make_unique<AlertMarkers>(this);
}

MetricChart::~MetricChart() = default;

MetricChart::Curve* MetricChart::findCurve(const QString& runId, const QString& tag) const
{
    for (const auto& c : m_curves)
        if (c->runId == runId && c->tag == tag)
            return c.get();
    return nullptr;
}

bool MetricChart::sync(const ChartRuns& runs, const Options& options)
{
    QHash<QString, const ChartRun*> byId;
    for (const auto& run : runs)
        byId.insert(run->id, run.get());
    bool changed = false;
    bool structural = false;   // anything but the smoothed curves' data changed

    for (auto it = m_curves.begin(); it != m_curves.end();) {
        const ChartRun* run = byId.value((*it)->runId);
        if (!run || !run->find((*it)->tag)) {
            if (m_hoverLabel->visible())
                hideHover();
            removeGraph((*it)->raw);
            removeGraph((*it)->smoothed);
            it = m_curves.erase(it);
            m_legendSignature.clear();   // the legend lost its items; a new graph may reuse an address
            changed = structural = true;
        } else {
            ++it;
        }
    }
    for (const auto& run : runs) {
        for (const QString& tag : m_spec.tags) {
            if (!run->find(tag) || findCurve(run->id, tag))
                continue;
            auto curve = std::make_unique<Curve>();
            curve->runId = run->id;
            curve->tag = tag;
            curve->raw = new CurveGraph(xAxis, yAxis);
            curve->raw->setLayer(kRawLayer);
            curve->smoothed = new CurveGraph(xAxis, yAxis);
            curve->smoothed->setLayer(kSmoothedLayer);
            m_curves.push_back(std::move(curve));
            changed = structural = true;
        }
    }

    const bool smoothOn = options.smoothing > 0.0;
    // Stale curves are planned here, their views computed (the decimation and smoothing of
    // every point in view: most of a zoom's or a smoothing change's time), then applied to
    // the graphs here. With many points the views are split between this thread and one
    // more: each curve reads only its own series, and series are not shared between curves.
    std::vector<Regeneration> work;
    int64_t heldPoints = 0;
    for (const auto& c : m_curves) {
        const ChartRun& run = *byId.value(c->runId);
        Regeneration r;
        if (planRegeneration(*c, run, *run.find(c->tag), options, &r)) {
            heldPoints += r.series->pointsHeld();
            work.push_back(std::move(r));
        }
    }
    const auto compute = [&work](size_t from, size_t stride) {
        for (size_t i = from; i < work.size(); i += stride)
            work[i].view = work[i].series->view(work[i].request);
    };
    if (work.size() >= 2 && heldPoints >= kParallelViewPoints) {
        std::thread helper(compute, 1, 2);
        compute(0, 2);
        helper.join();
    } else {
        compute(0, 1);
    }
    for (Regeneration& r : work) {
        structural = structural || r.request.raw;
        applyRegeneration(r, options);
        changed = true;
    }
    // Few antialiased points: wider lines and markers (see styleCurve).
    int64_t linePoints = 0;
    int64_t markerPoints = 0;
    for (const auto& c : m_curves) {
        if (m_spec.dashedTags.contains(c->tag))
            markerPoints += c->rawPoints.size();
        else if (smoothOn && m_spec.smoothedTags.contains(c->tag))
            linePoints += c->smoothedPoints.size();
        else if (!(c->dense && m_spec.smoothedTags.contains(c->tag)))
            linePoints += c->rawPoints.size();
    }
    // Faint raw curves add up where runs overlap: the more runs, the fainter each.
    const int runsShown = static_cast<int>(byId.size());
    const int rawAlpha = std::clamp(static_cast<int>(std::lround(80.0 / std::sqrt(std::max(1, runsShown)))), 18, 70);
    const Detail detail{linePoints <= kWideLinePoints, markerPoints <= kMarkerPoints, rawAlpha};
    for (const auto& c : m_curves)
        styleCurve(*c, *byId.value(c->runId), smoothOn, detail);
    const bool alertsChanged = m_alerts->sync(runs, options.xMode);
    changed |= alertsChanged;
    const QString legendBefore = m_legendSignature;
    updateLegend(runs);
    // Styles follow from the smoothing being on and how many points are shown, which only
    // change with the raw curves or the smoothing turning on or off.
    structural = structural || alertsChanged || legendBefore != m_legendSignature || smoothOn != m_smoothOn
        || m_emptyLabel->visible() != m_curves.empty();
    m_smoothOn = smoothOn;
    m_emptyLabel->setVisible(m_curves.empty());
    if (structural)
        m_dirty = Dirty::Everything;
    else if (changed && m_dirty == Dirty::Nothing)
        m_dirty = Dirty::SmoothedOnly;
    return changed;
}

void MetricChart::styleCurve(Curve& c, const ChartRun& run, bool smoothOn, const Detail& detail)
{
    // What a redraw costs is the line segments, and in Qt's raster engine a pen wider than
    // 1 px costs about five times as much (it goes through the full stroker), a dashed one
    // wider than 1 px some thirty times, as do markers. So: dense noisy training curves are
    // drawn 1 px wide without antialiasing (they read as a texture anyway); other solid lines
    // are antialiased, 1.5 px wide while the chart holds few points, else 1 px; validation
    // lines are dashed 1 px, with markers while there are few of them.
    const QColor colour = runColour(run.colourIndex);
    const bool smoothable = m_spec.smoothedTags.contains(c.tag);
    const bool texture = smoothable && c.dense;
    const double width = detail.wideLines ? 1.5 : 1.0;
    c.runName = run.name;
    QPen pen(colour, texture ? 1.0 : width);
    if (m_spec.dashedTags.contains(c.tag)) {
        pen.setStyle(Qt::DashLine);
        pen.setWidthF(1.0);
        c.raw->setScatterStyle(detail.markers ? QCPScatterStyle(QCPScatterStyle::ssCircle, colour, Qt::white, 5)
                                              : QCPScatterStyle());
    }
    if (smoothOn && smoothable) {
        QColor faint = colour;
        faint.setAlpha(detail.rawAlpha);
        c.raw->setPen(QPen(faint, 1.0));
        c.smoothed->setPen(QPen(colour, width));
        c.smoothed->setVisible(true);
    } else {
        c.raw->setPen(pen);
        c.smoothed->setVisible(false);
    }
    c.raw->setAntialiased(!texture);
    c.raw->setName(run.name);
    c.smoothed->setName(run.name);
}

static void fillGraph(QCPGraph* graph, const ChartRun& run, const QVector<SeriesPoint>& points,
                      XAxisMode mode)
{
    QVector<QCPGraphData> data;
    data.reserve(points.size());
    double previous = -std::numeric_limits<double>::infinity();
    for (const SeriesPoint& p : points) {
        // Keys must not go back (wall clocks can): the container is marked as sorted.
        const double key = std::max(previous, run.keyOf(p, mode));
        data.push_back(QCPGraphData(key, p.value));
        previous = key;
    }
    graph->data()->set(data, true);
}

bool MetricChart::planRegeneration(Curve& c, const ChartRun& run, const MetricSeries& series,
                                   const Options& options, Regeneration* out) const
{
    const QCPRange visible = xAxis->range();
    const double width = std::max(visible.size(), 1e-9);
    const int columns = plotColumns();
    const double smoothing =
        options.smoothing > 0.0 && m_spec.smoothedTags.contains(c.tag) ? options.smoothing : -1.0;
    const bool rawStale = !c.valid || c.revision != series.revision() || c.mode != options.xMode
        || c.columns != columns || visible.lower < c.generated.lower || visible.upper > c.generated.upper
        || width < c.visibleWidth / kRegenerateZoom || width > kRegenerateZoom * c.visibleWidth;
    // Moving the smoothing slider redoes only the smoothed curve.
    if (!rawStale && c.smoothing == smoothing)
        return false;

    // One view width of margin on each side: panning stays inside what is generated.
    const QCPRange generated = rawStale ? QCPRange(visible.lower - width, visible.upper + width) : c.generated;
    constexpr double kLimit = 4e18;
    const double lo = std::clamp(run.stepAt(series, generated.lower, options.xMode), -kLimit, kLimit);
    const double hi = std::clamp(run.stepAt(series, generated.upper, options.xMode), -kLimit, kLimit);
    // Columns over the generated range (three view widths): the raw curve of a training
    // metric at one column per 2 px, smoother lines at one per 4 px, each column's smallest
    // and largest point: every spike and turn stays, at about a point a pixel or less.
    ViewRequest& request = out->request;
    request.stepMin = static_cast<int64_t>(std::floor(lo));
    request.stepMax = static_cast<int64_t>(std::ceil(hi));
    request.smoothedColumns = std::max(1, 3 * columns / 4);
    request.columns = m_spec.smoothedTags.contains(c.tag) ? std::max(1, 3 * columns / 2) : request.smoothedColumns;
    request.smoothing = smoothing;
    request.envelope = true;
    request.raw = rawStale;
    out->curve = &c;
    out->run = &run;
    out->series = &series;
    out->generated = generated;
    out->visibleWidth = width;
    out->columns = columns;
    return true;
}

void MetricChart::applyRegeneration(Regeneration& r, const Options& options)
{
    Curve& c = *r.curve;
    c.smoothedPoints = std::move(r.view.smoothed);
    fillGraph(c.smoothed, *r.run, c.smoothedPoints, options.xMode);
    c.smoothing = r.request.smoothing;
    if (!r.request.raw)
        return;
    c.rawPoints = std::move(r.view.raw);
    fillGraph(c.raw, *r.run, c.rawPoints, options.xMode);

    c.valid = true;
    c.revision = r.series->revision();
    c.mode = options.xMode;
    c.columns = r.columns;
    c.generated = r.generated;
    c.visibleWidth = r.visibleWidth;
    // Dense: more than a point every 2 px where the curve runs in the view.
    const QCPRange visible = xAxis->range();
    const auto data = c.raw->data();
    const auto begin = data->findBegin(visible.lower, false);
    const auto end = data->findEnd(visible.upper, false);
    const auto inView = end - begin;
    const double spanPx = inView >= 2 ? ((end - 1)->key - begin->key) / r.visibleWidth * r.columns : 0.0;
    c.dense = inView > 50 && inView > 0.5 * spanPx;
}

void MetricChart::redraw(bool immediate)
{
    const bool partial = m_dirty == Dirty::SmoothedOnly && xAxis->range() == m_drawnX && yAxis->range() == m_drawnY
        && yAxis->scaleType() == m_drawnScale && size() == m_drawnSize && !hasInvalidatedPaintBuffers();
    m_dirty = Dirty::Nothing;
    if (partial) {
        layer(kSmoothedLayer)->replot();
        if (immediate)
            repaint();
        return;
    }
    m_drawnX = xAxis->range();
    m_drawnY = yAxis->range();
    m_drawnSize = size();
    m_drawnScale = yAxis->scaleType();
    replot(immediate ? rpImmediateRefresh : rpQueuedReplot);
}

void MetricChart::updateLegend(const ChartRuns& runs)
{
    QVector<QCPGraph*> entries;
    QString signature;
    for (const auto& run : runs) {
        for (const QString& tag : m_spec.tags) {
            if (const Curve* c = findCurve(run->id, tag)) {
                QCPGraph* graph = c->smoothed->visible() ? c->smoothed : c->raw;
                entries.push_back(graph);
                signature += run->id + QLatin1Char('\x1f') + run->name + QLatin1Char('\x1f')
                    + QString::number(reinterpret_cast<quintptr>(graph), 16) + QLatin1Char('\x1e');
                break;
            }
        }
    }
    if (signature == m_legendSignature)
        return;
    m_legendSignature = signature;
    legend->clearItems();
    for (QCPGraph* graph : entries)
        graph->addToLegend();
    legend->setVisible(!entries.isEmpty());
    wrapLegend();
}

void MetricChart::wrapLegend()
{
    int widest = 1;
    // itemCount() counts the cells of the wrapped grid; the last row's empty ones are null.
    for (int i = 0; i < legend->itemCount(); ++i)
        if (QCPAbstractLegendItem* item = legend->item(i))
            widest = std::max(widest, item->minimumOuterSizeHint().width());
    const int available = width() - legend->margins().left() - legend->margins().right();
    const int perRow = std::max(1, (available + legend->columnSpacing()) / (widest + legend->columnSpacing()));
    if (legend->wrap() != perRow) {
        legend->setWrap(perRow);
        legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    }
}

void MetricChart::resizeEvent(QResizeEvent* event)
{
    QCustomPlot::resizeEvent(event);
    wrapLegend();
}

bool MetricChart::dataKeyRange(const ChartRuns& runs, XAxisMode mode, QCPRange* range) const
{
    bool any = false;
    for (const auto& run : runs) {
        for (const QString& tag : m_spec.tags) {
            const MetricSeries* s = run->find(tag);
            if (!s)
                continue;
            const double a = run->keyOf(s->firstPoint(), mode);
            const double b = run->keyOf(s->lastPoint(), mode);
            if (!any) {
                *range = QCPRange(a, b);
                any = true;
            } else {
                range->expand(QCPRange(a, b));
            }
        }
    }
    return any;
}

void MetricChart::fitValueAxis()
{
    const bool log = yAxis->scaleType() == QCPAxis::stLogarithmic;
    const QCP::SignDomain domain = log ? QCP::sdPositive : QCP::sdBoth;
    bool any = false;
    QCPRange range;
    for (int i = 0; i < graphCount(); ++i) {
        QCPGraph* g = graph(i);
        if (!g->visible() || g->data()->isEmpty())
            continue;
        bool found = false;
        const QCPRange r = g->getValueRange(found, domain, xAxis->range());
        if (!found)
            continue;
        if (any) {
            range.expand(r);
        } else {
            range = r;
            any = true;
        }
    }
    if (!any)
        return;
    if (log) {
        range = QCPRange(range.lower / 1.25, range.upper * 1.25);
    } else {
        const double pad = range.size() > 0 ? 0.05 * range.size() : std::max(1e-9, 0.05 * std::abs(range.upper));
        range = QCPRange(range.lower - pad, range.upper + pad);
    }
    yAxis->setRange(range);
}

void MetricChart::setLogY(bool on)
{
    if (on) {
        yAxis->setScaleType(QCPAxis::stLogarithmic);
        QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
        ticker->setSubTickCount(8);
        yAxis->setTicker(ticker);
        yAxis->setNumberFormat(QStringLiteral("gb"));
    } else {
        yAxis->setScaleType(QCPAxis::stLinear);
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        yAxis->setNumberFormat(QStringLiteral("g"));
    }
    yAxis->ticker()->setTickCount(5);
}

void MetricChart::setXAxisMode(XAxisMode mode)
{
    if (mode == XAxisMode::RelativeTime) {
        QSharedPointer<QCPAxisTickerTime> ticker(new QCPAxisTickerTime);
        ticker->setTimeFormat(QStringLiteral("%h:%m:%s"));
        xAxis->setTicker(ticker);
        xAxis->setLabel(tr("time since start (h:mm:ss)"));
    } else {
        xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        xAxis->setLabel(mode == XAxisMode::Epoch ? tr("epoch") : tr("step"));
    }
    xAxis->ticker()->setTickCount(8);
}

std::vector<MetricChart::DetailWanted> MetricChart::wantedDetail(const ChartRuns& runs, XAxisMode mode) const
{
    std::vector<DetailWanted> out;
    const QCPRange visible = xAxis->range();
    for (const auto& run : runs) {
        for (const QString& tag : m_spec.tags) {
            const auto it = run->series.find(tag);
            if (it == run->series.end())
                continue;
            const auto* buckets = dynamic_cast<const BucketSeries*>(it->second.get());
            if (!buckets || buckets->isEmpty())
                continue;
            const double lo = std::clamp(run->stepAt(*buckets, visible.lower, mode), -4e18, 4e18);
            const double hi = std::clamp(run->stepAt(*buckets, visible.upper, mode), -4e18, 4e18);
            if (auto request = buckets->wantedDetail(static_cast<int64_t>(std::floor(lo)),
                                                     static_cast<int64_t>(std::ceil(hi)), plotColumns()))
                out.push_back({run->id, tag, *request});
        }
    }
    return out;
}

int MetricChart::plotColumns() const
{
    const int w = axisRect()->width();
    return w > 10 ? w : std::max(200, width() - 60);
}

QCPGraph* MetricChart::rawGraph(const QString& runId, const QString& tag) const
{
    const Curve* c = findCurve(runId, tag);
    return c ? c->raw : nullptr;
}

QCPGraph* MetricChart::smoothedGraph(const QString& runId, const QString& tag) const
{
    const Curve* c = findCurve(runId, tag);
    return c ? c->smoothed : nullptr;
}

} // namespace charts
