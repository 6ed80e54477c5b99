#include "charts/charts_panel.h"

#include "charts/chart_export.h"
#include "charts/chart_loader.h"
#include "charts/detail_loader.h"
#include "charts/metric_chart.h"

#include "nnlab/store.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSlider>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using charts::ChartRun;
using charts::MetricChart;
using charts::XAxisMode;

namespace {

constexpr int kRefreshIntervalMs = 40;   // <= 25 redraws a second
constexpr int kDetailDelayMs = 150;      // store re-reads once zoom or pan settles
constexpr int kPollIntervalMs = 1000;    // watched runs: the recorder commits every 0.5 s
constexpr int kSliderSteps = 999;        // smoothing 0 .. 0.999

const char* const kChartTitles[] = {QT_TRANSLATE_NOOP("ChartsPanel", "Loss"),
                                    QT_TRANSLATE_NOOP("ChartsPanel", "Accuracy"),
                                    QT_TRANSLATE_NOOP("ChartsPanel", "Learning rate")};

} // namespace

ChartsPanel::ChartsPanel(QWidget* parent)
    : QWidget(parent)
{
    m_refreshTimer.setSingleShot(true);
    connect(&m_refreshTimer, &QTimer::timeout, this, &ChartsPanel::refresh);
    m_detailTimer.setSingleShot(true);
    m_detailTimer.setInterval(kDetailDelayMs);
    connect(&m_detailTimer, &QTimer::timeout, this, &ChartsPanel::loadDetail);
    m_pollTimer.setInterval(kPollIntervalMs);
    connect(&m_pollTimer, &QTimer::timeout, this, &ChartsPanel::pollWatchedRuns);
    m_sinceRefresh.start();
    m_detailLoader = std::make_unique<charts::DetailLoader>(this, [this] { applyDetail(); });
    buildUi();
}

ChartsPanel::~ChartsPanel() = default;

QString ChartsPanel::chartTitle(int index)
{
    return index >= 0 && index < ChartCount ? tr(kChartTitles[index]) : QString();
}

void ChartsPanel::buildUi()
{
    const MetricChart::Spec specs[ChartCount] = {
        {tr("loss"), {QStringLiteral("train/loss"), QStringLiteral("val/loss")},
         {QStringLiteral("train/loss")}, {QStringLiteral("val/loss")}},
        {tr("accuracy"), {QStringLiteral("train/accuracy"), QStringLiteral("val/accuracy")},
         {QStringLiteral("train/accuracy")}, {QStringLiteral("val/accuracy")}},
        {tr("learning rate"), {QStringLiteral("lr")}, {}, {}},
    };
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    for (int i = 0; i < ChartCount; ++i) {
        auto* chart = new MetricChart(specs[i], splitter);
        chart->setMinimumHeight(120);
        m_charts[static_cast<size_t>(i)] = chart;
        splitter->addWidget(chart);
        connect(chart, &MetricChart::userNavigated, this, [this] {
            setFollow(false);
            m_detailTimer.start();
        });
        connect(chart->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
            if (!m_inRefresh)
                scheduleRefresh();
        });
        connect(chart, &MetricChart::resetRequested, this, &ChartsPanel::resetView);
        connect(chart, &MetricChart::exportRequested, this, [this, i] { exportWithDialog(i); });
    }
    configureAlertMarkers();
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 3);
    splitter->setStretchFactor(2, 2);

    m_smoothingSlider = new QSlider(Qt::Horizontal, this);
    m_smoothingSlider->setObjectName(QStringLiteral("smoothingSlider"));
    m_smoothingSlider->setRange(0, kSliderSteps);
    m_smoothingSlider->setValue(static_cast<int>(std::lround(m_smoothing * 1000)));
    m_smoothingSlider->setMinimumWidth(120);
    m_smoothingSlider->setMaximumWidth(200);
    m_smoothingSlider->setToolTip(tr("Debiased exponential moving average of the training curves, "
                                     "as TensorBoard's; the raw curve stays faintly behind"));
    m_smoothingValue = new QLabel(this);
    m_smoothingValue->setMinimumWidth(m_smoothingValue->fontMetrics().horizontalAdvance(QStringLiteral("0.000")));
    m_smoothingValue->setText(QString::number(m_smoothing, 'f', 3));
    connect(m_smoothingSlider, &QSlider::valueChanged, this,
            [this](int value) { setSmoothing(value / 1000.0); });

    m_xAxisCombo = new QComboBox(this);
    m_xAxisCombo->setObjectName(QStringLiteral("xAxisCombo"));
    m_xAxisCombo->addItem(tr("Step"), static_cast<int>(XAxisMode::Step));
    m_xAxisCombo->addItem(tr("Epoch"), static_cast<int>(XAxisMode::Epoch));
    m_xAxisCombo->addItem(tr("Relative time"), static_cast<int>(XAxisMode::RelativeTime));
    connect(m_xAxisCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        setXAxisMode(static_cast<XAxisMode>(m_xAxisCombo->itemData(index).toInt()));
    });

    m_logYBox = new QCheckBox(tr("Log y"), this);
    m_logYBox->setObjectName(QStringLiteral("logYCheck"));
    connect(m_logYBox, &QCheckBox::toggled, this, &ChartsPanel::setLogY);
    m_followBox = new QCheckBox(tr("Follow"), this);
    m_followBox->setObjectName(QStringLiteral("followCheck"));
    m_followBox->setChecked(m_follow);
    m_followBox->setToolTip(tr("Keep the newest point in view; zooming or panning turns it off, "
                               "a double-click on a chart resets the view"));
    connect(m_followBox, &QCheckBox::toggled, this, &ChartsPanel::setFollow);

    m_exportButton = new QToolButton(this);
    m_exportButton->setObjectName(QStringLiteral("exportButton"));
    m_exportButton->setText(tr("Export"));
    m_exportButton->setPopupMode(QToolButton::InstantPopup);
    auto* exportMenu = new QMenu(m_exportButton);
    for (int i = 0; i < ChartCount; ++i)
        exportMenu->addAction(tr("%1 chart…").arg(chartTitle(i)), this, [this, i] { exportWithDialog(i); });
    m_exportButton->setMenu(exportMenu);

    auto* legendHint = new QLabel(tr("solid: train · dashed: validation"), this);
    legendHint->setStyleSheet(QStringLiteral("color: palette(mid);"));

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Smoothing"), this));
    controls->addWidget(m_smoothingSlider);
    controls->addWidget(m_smoothingValue);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("X axis"), this));
    controls->addWidget(m_xAxisCombo);
    controls->addSpacing(12);
    controls->addWidget(m_logYBox);
    controls->addWidget(m_followBox);
    controls->addStretch(1);
    controls->addWidget(legendHint);
    controls->addSpacing(12);
    controls->addWidget(m_exportButton);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_status->setVisible(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(splitter, 1);
}

// ---- options ----

void ChartsPanel::setSmoothing(double weight)
{
    weight = std::clamp(std::isfinite(weight) ? weight : 0.0, 0.0, kSliderSteps / 1000.0);
    if (weight == m_smoothing)
        return;
    m_smoothing = weight;
    const QSignalBlocker blocker(m_smoothingSlider);
    m_smoothingSlider->setValue(static_cast<int>(std::lround(weight * 1000)));
    m_smoothingValue->setText(QString::number(weight, 'f', 3));
    scheduleRefresh();
}

void ChartsPanel::setXAxisMode(XAxisMode mode)
{
    if (mode == m_xMode)
        return;
    m_xMode = mode;
    const QSignalBlocker blocker(m_xAxisCombo);
    m_xAxisCombo->setCurrentIndex(m_xAxisCombo->findData(static_cast<int>(mode)));
    for (size_t i = 0; i < m_charts.size(); ++i) {
        m_charts[i]->setXAxisMode(mode);
        m_needsFit[i] = true;   // the old range means nothing on the new axis
        m_followWidth[i] = 0.0;
    }
    scheduleRefresh();
}

void ChartsPanel::setLogY(bool on)
{
    if (on == m_logY)
        return;
    m_logY = on;
    const QSignalBlocker blocker(m_logYBox);
    m_logYBox->setChecked(on);
    for (MetricChart* chart : m_charts) {
        chart->setLogY(on);
        chart->fitValueAxis();
    }
    scheduleRefresh();
}

void ChartsPanel::setFollow(bool on)
{
    if (on == m_follow)
        return;
    m_follow = on;
    if (on) {
        // Turned on while zoomed into part of the data: keep that width and slide with it.
        for (size_t i = 0; i < m_charts.size(); ++i) {
            QCPRange data;
            const double width = m_charts[i]->xAxis->range().size();
            m_followWidth[i] = m_charts[i]->dataKeyRange(m_runs, m_xMode, &data) && width < 0.95 * data.size()
                ? width
                : 0.0;
        }
    }
    const QSignalBlocker blocker(m_followBox);
    m_followBox->setChecked(on);
    emit followChanged(on);
    scheduleRefresh();
}

void ChartsPanel::resetView()
{
    setFollow(true);
    // After setFollow, which keeps a zoomed width: a reset shows everything.
    m_followWidth.fill(0.0);
    m_needsFit.fill(true);
    scheduleRefresh();
}

// ---- redraws ----

void ChartsPanel::scheduleRefresh()
{
    if (m_refreshTimer.isActive())
        return;
    const qint64 since = m_sinceRefresh.elapsed();
    m_refreshTimer.start(static_cast<int>(std::max<qint64>(0, kRefreshIntervalMs - since)));
}

void ChartsPanel::placeXRange(int index)
{
    MetricChart* chart = m_charts[static_cast<size_t>(index)];
    QCPRange data;
    if (!chart->dataKeyRange(m_runs, m_xMode, &data))
        return;
    if (data.size() <= 0)
        data = QCPRange(data.lower - 1, data.upper + 1);
    const double pad = 0.02 * data.size();
    const double width = m_followWidth[static_cast<size_t>(index)];
    if (m_follow && width > 0 && width < data.size())
        chart->xAxis->setRange(data.upper + pad - width, data.upper + pad);
    else
        chart->xAxis->setRange(data.lower, data.upper + pad);
}

void ChartsPanel::refresh()
{
    m_refreshTimer.stop();
    m_inRefresh = true;
    const MetricChart::Options options{m_xMode, m_smoothing};
    for (int i = 0; i < ChartCount; ++i) {
        MetricChart* chart = m_charts[static_cast<size_t>(i)];
        QCPRange data;
        // A chart that had nothing to show fits its first data whatever the follow mode.
        const bool fit = m_needsFit[static_cast<size_t>(i)] || m_follow
            || (chart->curveCount() == 0 && chart->dataKeyRange(m_runs, m_xMode, &data));
        if (fit)
            placeXRange(i);
        chart->sync(m_runs, options);
        if (fit)
            chart->fitValueAxis();
        m_needsFit[static_cast<size_t>(i)] = false;
        chart->redraw(m_replotImmediately);
    }
    m_inRefresh = false;
    ++m_refreshCount;
    m_sinceRefresh.restart();
    checkAlertsChanged();
    // Stored series may want a finer read for the new view; not restarted while armed, so
    // a stream of refreshes does not postpone it forever.
    if (!m_detailTimer.isActive())
        m_detailTimer.start();
}

void ChartsPanel::replotNow()
{
    m_replotImmediately = true;
    refresh();
    m_replotImmediately = false;
}

void ChartsPanel::loadDetail()
{
    if (m_storePath.isEmpty())
        return;
    std::vector<charts::DetailRead> reads;
    for (MetricChart* chart : m_charts)
        for (const MetricChart::DetailWanted& wanted : chart->wantedDetail(m_runs, m_xMode))
            reads.push_back({wanted.runId, wanted.tag, wanted.request});
    // The same batch still under way (refreshes re-arm the timer): let it finish.
    const auto same = [](const charts::DetailRead& a, const charts::DetailRead& b) {
        return a.runId == b.runId && a.tag == b.tag && a.request.stepMin == b.request.stepMin
            && a.request.stepMax == b.request.stepMax && a.request.buckets == b.request.buckets;
    };
    if (m_detailLoader->busy() && reads.size() == m_detailSent.size()
        && std::equal(reads.begin(), reads.end(), m_detailSent.begin(), same))
        return;
    if (reads.empty() && m_detailSent.empty())
        return;
    m_detailSent = reads;
    m_detailLoader->request(std::move(reads));
}

void ChartsPanel::applyDetail()
{
    bool loaded = false;
    for (charts::DetailResult& result : m_detailLoader->takeResults()) {
        // The run may have gone, or been read again, since the request.
        ChartRun* run = findRun(result.read.runId);
        if (!run)
            continue;
        const auto it = run->series.find(result.read.tag);
        auto* series = it == run->series.end() ? nullptr : dynamic_cast<charts::BucketSeries*>(it->second.get());
        if (!series)
            continue;
        if (!result.ok) {
            showError(result.error);
            continue;
        }
        series->setDetail(result.read.request, std::move(result.buckets));
        loaded = true;
    }
    if (loaded)
        scheduleRefresh();
}

bool ChartsPanel::waitForDetail(int timeoutMs)
{
    const bool idle = m_detailLoader->waitIdle(timeoutMs);
    applyDetail();
    return idle;
}
