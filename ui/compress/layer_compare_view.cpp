#include "compress/layer_compare_view.h"

#include "compress/background_task.h"
#include "compress/compare_rows.h"

#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace {

const QColor kParentColour(150, 150, 150);

std::vector<nnlab::LayerMeasurement> layersFromJson(const QJsonArray& array)
{
    std::vector<nnlab::LayerMeasurement> layers;
    for (const QJsonValue& v : array) {
        const QJsonObject o = v.toObject();
        nnlab::LayerMeasurement l;
        l.name = o.value("name").toString().toStdString();
        l.type = o.value("type").toString().toStdString();
        l.parameters = static_cast<int64_t>(o.value("parameters").toDouble());
        l.nonzeroParameters = static_cast<int64_t>(o.value("nonzero_parameters").toDouble());
        l.macs = static_cast<int64_t>(o.value("macs").toDouble());
        l.latencyShare = o.value("latency_share").toDouble();
        l.quantized = o.value("quantized").toBool();
        layers.push_back(std::move(l));
    }
    return layers;
}

const nnlab::LayerMeasurement* find(const std::vector<nnlab::LayerMeasurement>& layers, const std::string& name)
{
    for (const auto& l : layers)
        if (l.name == name)
            return &l;
    return nullptr;   // a layer the model does not have
}

double share(const std::vector<nnlab::LayerMeasurement>& layers, const std::string& name, int64_t nnlab::LayerMeasurement::*field)
{
    int64_t total = 0;
    for (const auto& l : layers)
        total += l.*field;
    const nnlab::LayerMeasurement* l = find(layers, name);
    return l && total > 0 ? static_cast<double>(l->*field) / static_cast<double>(total) : 0.0;
}

// {parent, child} for one layer. "Removed or zero" counts against the parent's weights, so
// that a structured prune (fewer weights, none zero) and a masked one (as many, half zero)
// read the same way.
std::pair<double, double> valuesOf(const LayerComparison& c, const std::string& name, LayerCompareView::Chart chart)
{
    const nnlab::LayerMeasurement* parent = find(c.parent, name);
    const nnlab::LayerMeasurement* child = find(c.child, name);
    switch (chart) {
    case LayerCompareView::SparsityChart: {
        const auto removed = [parent](const nnlab::LayerMeasurement* l) {
            const int64_t base = parent && parent->parameters > 0 ? parent->parameters : (l ? l->parameters : 0);
            return l && base > 0 ? 1.0 - static_cast<double>(l->nonzeroParameters) / static_cast<double>(base) : 0.0;
        };
        return {removed(parent), removed(child)};
    }
    case LayerCompareView::ParameterChart:
        return {share(c.parent, name, &nnlab::LayerMeasurement::parameters),
                share(c.child, name, &nnlab::LayerMeasurement::parameters)};
    case LayerCompareView::MacChart:
        return {share(c.parent, name, &nnlab::LayerMeasurement::macs), share(c.child, name, &nnlab::LayerMeasurement::macs)};
    case LayerCompareView::LatencyChart:
        return {parent ? parent->latencyShare : 0.0, child ? child->latencyShare : 0.0};
    default:
        return {0.0, 0.0};
    }
}

} // namespace

LayerCompareView::LayerCompareView(QWidget* parent) : QWidget(parent), m_task(new BackgroundTask(this))
{
    qRegisterMetaType<LayerComparison>();
    setObjectName(QStringLiteral("layerCompareView"));
    m_title = new QLabel(tr("Choose a compressed run on the Pareto tab, then \"Layers…\"."));
    m_title->setWordWrap(true);
    m_status = new QLabel;
    m_status->setWordWrap(true);
    auto* grid = new QGridLayout;
    const QString titles[ChartCount] = {tr("removed or zero (%)"), tr("share of parameters (%)"), tr("share of MACs (%)"),
                                        tr("share of batch-64 latency (%)")};
    for (int c = 0; c < ChartCount; ++c) {
        auto* plot = new QCustomPlot;
        plot->setMinimumSize(260, 170);
        plot->yAxis->setLabel(titles[c]);
        plot->setAutoAddPlottableToLegend(false);
        m_charts[c] = plot;
        grid->addWidget(plot, c / 2, c % 2);
    }
    m_histogram = new QCustomPlot;
    m_histogram->setMinimumHeight(200);
    m_histogram->xAxis->setLabel(tr("weight value"));
    m_histogram->yAxis->setLabel(tr("weights"));
    m_layer = new QComboBox;
    m_layer->setObjectName(QStringLiteral("histogramLayer"));
    m_logCounts = new QCheckBox(tr("Log counts"));
    m_logCounts->setToolTip(tr("Pruned weights pile up at zero; a log scale shows the rest"));
    auto* histBar = new QHBoxLayout;
    histBar->addWidget(new QLabel(tr("Weights of")));
    histBar->addWidget(m_layer);
    histBar->addWidget(m_logCounts);
    histBar->addStretch();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_title);
    layout->addWidget(m_status);
    layout->addLayout(grid, 3);
    layout->addLayout(histBar);
    layout->addWidget(m_histogram, 2);

    connect(m_layer, &QComboBox::currentIndexChanged, this, &LayerCompareView::drawHistogram);
    connect(m_logCounts, &QCheckBox::toggled, this, &LayerCompareView::drawHistogram);
    connect(m_task, &BackgroundTask::finished, this, [this](const QVariant& result) {
        m_status->clear();
        setComparison(result.value<LayerComparison>());
    });
    connect(m_task, &BackgroundTask::failed, this,
            [this](const QString& message) { m_status->setText(tr("Cannot compare: %1").arg(message)); });
}

LayerCompareView::~LayerCompareView() = default;

void LayerCompareView::showRun(const QString& childRunId)
{
    if (m_task->isRunning())
        return;
    m_status->setText(tr("Reading run %1 and its parent…").arg(childRunId));
    const std::string db = m_storePath.toStdString(), child = childRunId.toStdString();
    m_task->start([db, child](nnlab::TrainControl&, const TaskProgressFn& progress) {
        progress("reading the runs", 0, 0);
        return QVariant::fromValue(load(db, child));
    }, QStringLiteral("nnlab-layers"));
}

LayerComparison LayerCompareView::load(const std::string& databasePath, const std::string& childRunId)
{
    auto store = nnlab::RunStore::open(databasePath, nnlab::StoreOptions{true, 5000});
    if (!store.ok())
        throw std::runtime_error(store.error.message);
    const auto child = store.value->getRun(childRunId);
    if (!child.ok())
        throw std::runtime_error(child.error.message);
    if (child.value.parentId.empty())
        throw std::runtime_error("run " + child.value.id + " has no parent: it is not a compressed run");
    const auto parent = store.value->getRun(child.value.parentId);
    LayerComparison c;
    c.childId = QString::fromStdString(child.value.id);
    c.childName = QString::fromStdString(child.value.name);
    c.parentId = QString::fromStdString(child.value.parentId);
    c.parentName = parent.ok() ? QString::fromStdString(parent.value.name) : c.parentId;
    const auto artifacts = store.value->artifacts(child.value.id);
    std::string modelFile, infoFile;
    if (artifacts.ok())
        for (const nnlab::RunArtifact& a : artifacts.value) {
            if (a.kind == "model")
                modelFile = a.path;
            if (a.kind == "compression")
                infoFile = a.path;
        }
    if (infoFile.empty())
        throw std::runtime_error("run " + child.value.id + " records no per-layer measurements (no \"compression\" artifact)");
    QFile file(QString::fromStdString(infoFile));
    if (!file.open(QIODevice::ReadOnly))
        throw std::runtime_error(infoFile + ": " + file.errorString().toStdString());
    QJsonParseError error;
    const QJsonObject info = QJsonDocument::fromJson(file.readAll(), &error).object();
    if (error.error != QJsonParseError::NoError)
        throw std::runtime_error(infoFile + ": " + error.errorString().toStdString());
    c.method = nnlab::compressMethodFromName(info.value("method").toString().toStdString()).value_or(nnlab::CompressMethod::None);
    c.child = layersFromJson(info.value("layers").toArray());
    c.parent = layersFromJson(info.value("parent_layers").toArray());

    QStringList notes;
    try {
        c.parentWeights = compresslab::layerWeights(nnlab::loadTrainedWeights(*store.value, child.value.parentId).tensors);
    } catch (const std::exception& e) {
        notes << QStringLiteral("parent's weights: %1").arg(QString::fromUtf8(e.what()));
    }
    try {
        c.childWeights = modelFile.empty()
                             ? compresslab::layerWeights(nnlab::loadTrainedWeights(*store.value, child.value.id).tensors)
                             : compresslab::layerWeightsFromFile(modelFile);
    } catch (const std::exception& e) {
        notes << QStringLiteral("compressed weights: %1").arg(QString::fromUtf8(e.what()));
    }
    c.weightsNote = notes.join(QStringLiteral("; "));
    return c;
}

void LayerCompareView::setComparison(LayerComparison comparison)
{
    m_comparison = std::move(comparison);
    std::vector<std::string> names;
    for (const auto& l : m_comparison.parent)
        names.push_back(l.name);
    for (const auto& l : m_comparison.child)
        if (std::find(names.begin(), names.end(), l.name) == names.end())
            names.push_back(l.name);
    // Layers that hold no weights and take no time (ReLU, flatten) would only crowd the bars.
    m_layers.clear();
    for (const std::string& name : names) {
        bool shown = false;
        for (int chart = 0; chart < ChartCount; ++chart) {
            const auto [parent, child] = valuesOf(m_comparison, name, static_cast<Chart>(chart));
            shown = shown || parent >= 0.005 || child >= 0.005;
        }
        if (shown)
            m_layers.push_back(name);
    }
    const auto swatch = [](const QColor& colour) {
        return QStringLiteral("<span style=\"color:%1\">&#9632;</span>").arg(colour.name());
    };
    m_title->setText(tr("%1 <b>%2</b> (%3, %4) against %5 its parent <b>%6</b> (%7)")
                         .arg(swatch(compresslab::methodColour(m_comparison.method)),
                              m_comparison.childName.toHtmlEscaped(), compresslab::methodLabel(m_comparison.method),
                              m_comparison.childId, swatch(kParentColour), m_comparison.parentName.toHtmlEscaped(),
                              m_comparison.parentId));
    if (!m_comparison.weightsNote.isEmpty())
        m_status->setText(tr("No histogram for the %1").arg(m_comparison.weightsNote));
    {
        const QSignalBlocker blocker(m_layer);
        m_layer->clear();
        m_layer->addItem(tr("all layers"), QString());
        for (const std::string& name : m_layers)
            if (m_comparison.parentWeights.count(name) || m_comparison.childWeights.count(name))
                m_layer->addItem(QString::fromStdString(name), QString::fromStdString(name));
    }
    drawBars();
    drawHistogram();
}

std::vector<std::pair<double, double>> LayerCompareView::chartValues(Chart which) const
{
    std::vector<std::pair<double, double>> values;
    for (const std::string& name : m_layers)
        values.push_back(valuesOf(m_comparison, name, which));
    return values;
}

void LayerCompareView::drawBars()
{
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (size_t i = 0; i < m_layers.size(); ++i) {
        QString label = QString::fromStdString(m_layers[i]);
        for (const auto& l : m_comparison.parent)
            if (l.name == m_layers[i])
                label += QLatin1Char('\n') + QString::fromStdString(l.type);
        ticker->addTick(static_cast<double>(i), label);
    }
    const QColor childColour = compresslab::methodColour(m_comparison.method);
    for (int c = 0; c < ChartCount; ++c) {
        QCustomPlot* plot = m_charts[c];
        plot->clearPlottables();
        plot->legend->clearItems();
        auto* parentBars = new QCPBars(plot->xAxis, plot->yAxis);
        auto* childBars = new QCPBars(plot->xAxis, plot->yAxis);
        parentBars->setName(tr("parent"));
        childBars->setName(compresslab::methodLabel(m_comparison.method));
        parentBars->setPen(Qt::NoPen);
        parentBars->setBrush(kParentColour);
        childBars->setPen(Qt::NoPen);
        childBars->setBrush(childColour);
        auto* group = new QCPBarsGroup(plot);
        parentBars->setWidth(0.38);
        childBars->setWidth(0.38);
        parentBars->setBarsGroup(group);
        childBars->setBarsGroup(group);
        double top = 0.0;
        const auto values = chartValues(static_cast<Chart>(c));
        for (size_t i = 0; i < values.size(); ++i) {
            parentBars->addData(static_cast<double>(i), 100.0 * values[i].first);
            childBars->addData(static_cast<double>(i), 100.0 * values[i].second);
            top = std::max({top, 100.0 * values[i].first, 100.0 * values[i].second});
        }
        plot->xAxis->setTicker(ticker);
        plot->xAxis->setRange(-0.6, std::max<double>(0.6, static_cast<double>(m_layers.size()) - 0.4));
        plot->yAxis->setRange(0.0, top > 0 ? top * 1.15 : 1.0);
        plot->legend->setVisible(false);   // the title says which colour is which
        QFont small = plot->xAxis->tickLabelFont();
        small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1.0));
        plot->xAxis->setTickLabelFont(small);
        plot->replot();
    }
}

void LayerCompareView::drawHistogram()
{
    m_histogram->clearGraphs();
    m_histogram->legend->clearItems();
    const QString only = m_layer->currentData().toString();
    const auto gather = [&only](const compresslab::LayerWeights& weights) {
        std::vector<float> all;
        for (const auto& [name, values] : weights)
            if (only.isEmpty() || QString::fromStdString(name) == only)
                all.insert(all.end(), values.begin(), values.end());
        return all;
    };
    const std::vector<float> before = gather(m_comparison.parentWeights);
    const std::vector<float> after = gather(m_comparison.childWeights);
    float lo = 0.0f, hi = 0.0f;
    for (const std::vector<float>* v : {&before, &after})
        for (float x : *v)
            if (std::isfinite(x)) {
                lo = std::min(lo, x);
                hi = std::max(hi, x);
            }
    if (hi <= lo)
        hi = lo + 1.0f;
    constexpr int kBins = 80;
    const double width = (static_cast<double>(hi) - lo) / kBins;
    double top = 1.0;
    const auto add = [&](const std::vector<float>& values, const QString& name, const QColor& colour) {
        if (values.empty())
            return;
        std::vector<double> counts(kBins, 0.0);
        for (float x : values)
            if (std::isfinite(x))
                counts[static_cast<size_t>(std::clamp(static_cast<int>((x - lo) / width), 0, kBins - 1))] += 1.0;
        QCPGraph* graph = m_histogram->addGraph();
        graph->setName(tr("%1 (%n weights)", nullptr, static_cast<int>(values.size())).arg(name));
        graph->setLineStyle(QCPGraph::lsStepCenter);
        QColor fill = colour;
        fill.setAlpha(60);
        graph->setPen(QPen(colour, 1.5));
        graph->setBrush(fill);
        for (int b = 0; b < kBins; ++b) {
            graph->addData(lo + (b + 0.5) * width, std::max(counts[b], m_logCounts->isChecked() ? 0.5 : 0.0));
            top = std::max(top, counts[b]);
        }
    };
    add(before, tr("parent"), kParentColour);
    add(after, compresslab::methodLabel(m_comparison.method), compresslab::methodColour(m_comparison.method));
    m_histogram->legend->setVisible(m_histogram->graphCount() > 0);
    m_histogram->yAxis->setScaleType(m_logCounts->isChecked() ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_logCounts->isChecked())
        m_histogram->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        m_histogram->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_histogram->xAxis->setRange(lo - width, hi + width);
    m_histogram->yAxis->setRange(m_logCounts->isChecked() ? 0.5 : 0.0, top * 1.1);
    m_histogram->replot();
}
