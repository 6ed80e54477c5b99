#include "charts/alert_markers.h"

#include <qcustomplot.h>

#include <QLocale>

#include <algorithm>
#include <cmath>

namespace charts {

namespace {

constexpr double kReachPx = 5.0;
const QString kLinesLayer = QStringLiteral("raw");   // behind the curves (see MetricChart)

} // namespace

QString alertText(const QString& runName, const nnlab::MonitorAlert& alert, bool lines)
{
    QString text = runName.isEmpty() ? QString() : runName + QStringLiteral(" · ");
    text += QString::fromStdString(alert.rule);
    if (!alert.message.empty())
        text += (lines ? QStringLiteral("\n") : QStringLiteral(": ")) + QString::fromStdString(alert.message);
    else
        text += QStringLiteral(" at step ") + QLocale().toString(static_cast<qlonglong>(alert.step));
    if (!alert.action.empty())
        text += (lines ? QStringLiteral("\n→ ") : QStringLiteral(" → ")) + QString::fromStdString(alert.action);
    return text;
}

AlertMarkers::AlertMarkers(QCustomPlot* plot) : m_plot(plot) {}

AlertMarkers::~AlertMarkers() = default;   // the plot owns the items

void AlertMarkers::setFlagRule(const QStringList& ownTags, bool catchAll, const QStringList& chartedTags)
{
    m_ownTags = ownTags;
    m_catchAll = catchAll;
    m_chartedTags = chartedTags;
    m_signature.clear();
}

bool AlertMarkers::flags(const QString& metric) const
{
    return m_ownTags.contains(metric) || (m_catchAll && !m_chartedTags.contains(metric));
}

void AlertMarkers::clear()
{
    for (const Marker& m : m_markers) {
        m_plot->removeItem(m.line);
        if (m.flag)
            m_plot->removeItem(m.flag);
    }
    m_markers.clear();
}

bool AlertMarkers::sync(const ChartRuns& runs, XAxisMode mode)
{
    QString signature = QString::number(static_cast<int>(mode));
    for (const auto& run : runs)
        signature += QStringLiteral("|%1/%2/%3/%4/%5/%6")
                         .arg(run->id)
                         .arg(run->colourIndex)
                         .arg(run->alerts.size())
                         .arg(run->stepsPerEpoch)
                         .arg(run->startTime, 0, 'g', 17)
                         .arg(run->name);
    if (signature == m_signature)
        return false;
    m_signature = signature;
    clear();

    struct Entry {
        const ChartRun* run;
        const ChartAlert* alert;
    };
    std::vector<Entry> entries;
    for (const auto& run : runs)
        for (const ChartAlert& a : run->alerts)
            entries.push_back({run.get(), &a});
    if (entries.size() > static_cast<size_t>(kMaxMarkers)) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const Entry& x, const Entry& y) { return x.alert->wallTime < y.alert->wallTime; });
        entries.erase(entries.begin(), entries.end() - kMaxMarkers);
    }

    QFont flagFont = m_plot->font();
    flagFont.setPointSizeF(flagFont.pointSizeF() * 1.15);
    for (const Entry& e : entries) {
        const double key = e.run->keyOf(*e.alert, mode);
        if (!std::isfinite(key))
            continue;
        const QColor colour = runColour(e.run->colourIndex);
        Marker m;
        m.key = key;
        m.text = alertText(e.run->name, e.alert->alert, true);
        m.line = new QCPItemStraightLine(m_plot);
        m.line->setLayer(kLinesLayer);
        m.line->setSelectable(false);
        m.line->point1->setCoords(key, 0);
        m.line->point2->setCoords(key, 1);
        QColor lineColour = colour;
        lineColour.setAlpha(160);
        m.line->setPen(QPen(lineColour, 1.2, Qt::DashLine));
        if (flags(QString::fromStdString(e.alert->alert.metric))) {
            m.flag = new QCPItemText(m_plot);
            m.flag->setSelectable(false);
            m.flag->position->setTypeX(QCPItemPosition::ptPlotCoords);
            m.flag->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
            m.flag->position->setCoords(key, 0);
            m.flag->setPositionAlignment(Qt::AlignTop | Qt::AlignHCenter);
            m.flag->setFont(flagFont);
            m.flag->setText(QStringLiteral("▼"));
            m.flag->setColor(colour.darker(115));
            m.flag->setPadding(QMargins(0, 0, 0, 0));
        }
        m_markers.push_back(m);
    }
    return true;
}

int AlertMarkers::flagCount() const
{
    return static_cast<int>(std::count_if(m_markers.begin(), m_markers.end(), [](const Marker& m) { return m.flag; }));
}

std::vector<double> AlertMarkers::keys(bool flaggedOnly) const
{
    std::vector<double> keys;
    for (const Marker& m : m_markers)
        if (!flaggedOnly || m.flag)
            keys.push_back(m.key);
    return keys;
}

QString AlertMarkers::textNear(const QPointF& pos) const
{
    const Marker* best = nullptr;
    double bestDistance = kReachPx;
    for (const Marker& m : m_markers) {
        const double distance = std::abs(m_plot->xAxis->coordToPixel(m.key) - pos.x());
        if (distance <= bestDistance) {
            bestDistance = distance;
            best = &m;
        }
    }
    return best ? best->text : QString();
}

} // namespace charts
