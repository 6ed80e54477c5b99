#include "distributions_view.h"

#include "layer_stats.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace inspect {

std::optional<Histogram> unpackHistogram(const nnlab::Snapshot& s, QString* error)
{
    auto fail = [&](const QString& why) -> std::optional<Histogram> {
        if (error)
            *error = QStringLiteral("histogram of layer %1 at step %2: %3")
                         .arg(QString::fromStdString(s.name))
                         .arg(s.step)
                         .arg(why);
        return std::nullopt;
    };
    if (s.shape.size() != 1 || static_cast<size_t>(s.shape[0]) != s.values.size() || s.values.empty())
        return fail(QStringLiteral("shape must be [bins] with a value per bin"));
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(s.meta));
    const QJsonArray edges = doc.object().value(QLatin1String("edges")).toArray();
    if (static_cast<size_t>(edges.size()) != s.values.size() + 1)
        return fail(QStringLiteral("meta \"edges\" must hold bins + 1 = %1 values").arg(s.values.size() + 1));
    Histogram h;
    for (const QJsonValue& e : edges) {
        if (!e.isDouble() || (!h.edges.empty() && !(e.toDouble() >= h.edges.back())))
            return fail(QStringLiteral("meta \"edges\" must be increasing numbers"));
        h.edges.push_back(e.toDouble());
    }
    h.counts.assign(s.values.begin(), s.values.end());
    return h;
}

DistributionsView::DistributionsView(QWidget* parent) : QWidget(parent)
{
    m_kindCombo = new QComboBox(this);
    m_kindCombo->setObjectName(QStringLiteral("distributionKind"));
    m_kindCombo->addItem(tr("Weights"), static_cast<int>(Kind::Weights));
    m_kindCombo->addItem(tr("Gradients"), static_cast<int>(Kind::Gradients));
    connect(m_kindCombo, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this](int index) { setKind(static_cast<Kind>(m_kindCombo->itemData(index).toInt())); });
    m_layerCombo = new QComboBox(this);
    m_layerCombo->setObjectName(QStringLiteral("distributionLayer"));
    m_layerCombo->setMinimumContentsLength(10);
    connect(m_layerCombo, &QComboBox::textActivated, this, &DistributionsView::setLayer);

    m_plot = new QCustomPlot(this);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->xAxis->setLabel(tr("step"));
    m_plot->yAxis->setLabel(tr("value"));
    const std::vector<double>& q = distributionQuantiles();
    const QColor base(0xe6, 0x55, 0x0d);   // TensorBoard's distribution orange
    for (size_t i = 0; i < q.size(); ++i) {
        QCPGraph* g = m_plot->addGraph();
        g->setPen(i == q.size() / 2 ? QPen(base.darker(130), 1.6) : QPen(Qt::NoPen));
        m_lines.push_back(g);
    }
    // Fill each lower percentile up to its mirror: inner bands overlap outer ones, so they
    // grow darker towards the median.
    for (size_t i = 0; i < q.size() / 2; ++i) {
        QColor fill = base;
        fill.setAlpha(45 + 30 * static_cast<int>(i));
        m_lines[i]->setBrush(fill);
        m_lines[i]->setChannelFillGraph(m_lines[q.size() - 1 - i]);
    }
    m_empty = new QLabel(this);
    m_empty->setWordWrap(true);
    m_empty->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_empty->setText(tr("No histograms recorded yet (inspect.histograms_every_steps)."));

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Layer"), this));
    controls->addWidget(m_layerCombo);
    controls->addWidget(m_kindCombo);
    controls->addStretch(1);
    controls->addWidget(new QLabel(tr("bands: min–max, 7–93%, 16–84%, 31–69%; line: median"), this));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(controls);
    layout->addWidget(m_empty);
    layout->addWidget(m_plot, 1);
}

void DistributionsView::clear()
{
    m_data.clear();
    m_layer.clear();
    updateLayerChoice();
    redraw();
}

void DistributionsView::addSnapshots(const std::vector<nnlab::Snapshot>& snapshots)
{
    bool newLayer = false;
    for (const nnlab::Snapshot& s : snapshots) {
        if (s.kind != nnlab::SnapshotKind::WeightHistogram && s.kind != nnlab::SnapshotKind::GradientHistogram)
            continue;
        const std::optional<Histogram> h = unpackHistogram(s);
        if (!h)
            continue;
        std::vector<double> bands = histogramQuantiles(*h, distributionQuantiles());
        if (bands.empty())
            continue;
        const Kind kind = s.kind == nnlab::SnapshotKind::WeightHistogram ? Kind::Weights : Kind::Gradients;
        auto& layers = m_data[kind];
        const QString name = QString::fromStdString(s.name);
        newLayer |= layers.find(name) == layers.end();
        auto& steps = layers[name];
        steps.erase(steps.lower_bound(s.step), steps.end());
        steps[s.step] = std::move(bands);
    }
    if (newLayer)
        updateLayerChoice();
}

QStringList DistributionsView::layers() const
{
    QStringList out;
    const auto it = m_data.find(m_kind);
    if (it != m_data.end())
        for (const auto& entry : it->second)
            out << entry.first;
    std::sort(out.begin(), out.end(), layerPathLess);
    return out;
}

QString DistributionsView::layer() const { return m_layer; }

void DistributionsView::updateLayerChoice()
{
    const QStringList names = layers();
    if (!names.contains(m_layer))
        m_layer = names.isEmpty() ? QString() : names.first();
    const QSignalBlocker blocker(m_layerCombo);
    m_layerCombo->clear();
    m_layerCombo->addItems(names);
    m_layerCombo->setCurrentText(m_layer);
}

void DistributionsView::setLayer(const QString& layer)
{
    m_layer = layer;
    const QSignalBlocker blocker(m_layerCombo);
    m_layerCombo->setCurrentText(layer);
    redraw();
}

void DistributionsView::setKind(Kind kind)
{
    m_kind = kind;
    const QSignalBlocker blocker(m_kindCombo);
    m_kindCombo->setCurrentIndex(m_kindCombo->findData(static_cast<int>(kind)));
    updateLayerChoice();
    redraw();
}

const std::map<qint64, std::vector<double>>* DistributionsView::bands() const
{
    const auto kind = m_data.find(m_kind);
    if (kind == m_data.end())
        return nullptr;
    const auto layer = kind->second.find(m_layer);
    return layer == kind->second.end() ? nullptr : &layer->second;
}

void DistributionsView::redraw()
{
    const auto* steps = bands();
    m_empty->setVisible(!steps || steps->empty());
    for (size_t i = 0; i < m_lines.size(); ++i) {
        QVector<double> keys, values;
        if (steps)
            for (const auto& [step, q] : *steps) {
                keys << static_cast<double>(step);
                values << q[i];
            }
        m_lines[i]->setData(keys, values, true);
    }
    m_plot->yAxis->setLabel(m_kind == Kind::Weights ? tr("weight") : tr("gradient"));
    if (steps && !steps->empty()) {
        m_plot->rescaleAxes();
        const QCPRange y = m_plot->yAxis->range();
        m_plot->yAxis->setRange(y.lower - 0.05 * y.size(), y.upper + 0.05 * y.size());
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace inspect
