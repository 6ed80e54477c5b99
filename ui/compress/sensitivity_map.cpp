#include "compress/sensitivity_map.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace {
constexpr int kMinCellWidth = 64;     // cells grow with the widget up to the maxima
constexpr int kMaxCellWidth = 110;
constexpr int kMinCellHeight = 26;
constexpr int kMaxCellHeight = 40;
constexpr int kHeaderHeight = 24;
constexpr int kLegendHeight = 40;     // the colour scale under the grid
constexpr int kMargin = 6;

QString layerLabel(const nnlab::SensitivityLayer& layer)
{
    return QStringLiteral("%1 %2 (%3)")
        .arg(QString::fromStdString(layer.name), QString::fromStdString(layer.type))
        .arg(layer.parameters);
}
} // namespace

SensitivityMap::SensitivityMap(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("sensitivityMap"));
    setMouseTracking(true);
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
}

void SensitivityMap::setResult(nnlab::SensitivityResult result)
{
    m_result = std::move(result);
    m_selected = -1;
    updateGeometry();
    update();
}

int SensitivityMap::labelWidth() const
{
    int width = 60;
    for (const auto& layer : m_result.layers)
        width = std::max(width, fontMetrics().horizontalAdvance(layerLabel(layer)) + 12);
    return width;
}

QSize SensitivityMap::sizeHint() const
{
    return {kMargin * 2 + labelWidth() + kMinCellWidth * static_cast<int>(std::max<size_t>(m_result.settings.size(), 1)),
            kMargin * 2 + kHeaderHeight + kLegendHeight
                + kMinCellHeight * static_cast<int>(std::max<size_t>(m_result.layers.size(), 1))};
}

QSize SensitivityMap::cellSize() const
{
    const int columns = static_cast<int>(std::max<size_t>(m_result.settings.size(), 1));
    const int rows = static_cast<int>(std::max<size_t>(m_result.layers.size(), 1));
    return {std::clamp((width() - 2 * kMargin - labelWidth()) / columns, kMinCellWidth, kMaxCellWidth),
            std::clamp((height() - 2 * kMargin - kHeaderHeight - kLegendHeight) / rows, kMinCellHeight, kMaxCellHeight)};
}

QSize SensitivityMap::minimumSizeHint() const
{
    return sizeHint();
}

QRect SensitivityMap::cellRect(int layer, int setting) const
{
    const QSize cell = cellSize();
    return {kMargin + labelWidth() + setting * cell.width(), kMargin + kHeaderHeight + layer * cell.height(),
            cell.width(), cell.height()};
}

std::pair<int, int> SensitivityMap::cellAt(const QPoint& pos) const
{
    for (int l = 0; l < static_cast<int>(m_result.layers.size()); ++l)
        for (int s = 0; s < static_cast<int>(m_result.settings.size()); ++s)
            if (cellRect(l, s).contains(pos))
                return {l, s};
    return {-1, -1};
}

double SensitivityMap::maxDrop() const
{
    double top = 0.0;
    for (const auto& row : m_result.cells)
        for (const auto& cell : row)
            if (cell.ran())
                top = std::max(top, cell.drop);
    return top;
}

QColor SensitivityMap::colourFor(const nnlab::SensitivityCell& cell, double maxDrop)
{
    if (!cell.ran())
        return QColor(220, 220, 220);
    if (cell.drop < 0.0) {   // better than the base: pale blue, however much
        const double t = std::min(1.0, -cell.drop / 0.01);
        return QColor::fromRgbF(1.0 - 0.25 * t, 1.0 - 0.12 * t, 1.0);
    }
    // Square root: small drops, the ones that decide a setting, stay distinguishable.
    const double t = maxDrop > 0.0 ? std::sqrt(std::min(1.0, cell.drop / maxDrop)) : 0.0;
    return QColor::fromRgbF(1.0 - 0.25 * t, 1.0 - 0.85 * t, 1.0 - 0.85 * t);
}

void SensitivityMap::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing, false);
    if (m_result.layers.empty()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(kMargin, kMargin, -kMargin, -kMargin), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap,
                         tr("No analysis yet: run one for the chosen run."));
        return;
    }
    const double top = maxDrop();
    const QSize cell = cellSize();
    painter.setPen(palette().color(QPalette::Text));
    for (int s = 0; s < static_cast<int>(m_result.settings.size()); ++s)
        painter.drawText(QRect(cellRect(0, s).left(), kMargin, cell.width(), kHeaderHeight), Qt::AlignCenter,
                         QString::fromStdString(m_result.settings[static_cast<size_t>(s)].label()));
    for (int l = 0; l < static_cast<int>(m_result.layers.size()); ++l) {
        const QRect labelRect(kMargin, cellRect(l, 0).top(), labelWidth() - 6, cell.height());
        QFont font = painter.font();
        font.setBold(l == m_selected);
        painter.setFont(font);
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(labelRect, Qt::AlignRight | Qt::AlignVCenter, layerLabel(m_result.layers[static_cast<size_t>(l)]));
        font.setBold(false);
        painter.setFont(font);
        for (int s = 0; s < static_cast<int>(m_result.settings.size()); ++s) {
            const nnlab::SensitivityCell cell =
                static_cast<size_t>(l) < m_result.cells.size() && static_cast<size_t>(s) < m_result.cells[static_cast<size_t>(l)].size()
                    ? m_result.cells[static_cast<size_t>(l)][static_cast<size_t>(s)]
                    : nnlab::SensitivityCell{};
            const QRect r = cellRect(l, s);
            const QColor fill = colourFor(cell, top);
            painter.fillRect(r, fill);
            painter.setPen(QColor(255, 255, 255));
            painter.drawRect(r.adjusted(0, 0, -1, -1));
            painter.setPen(fill.lightnessF() < 0.55 ? QColor(Qt::white) : QColor(40, 40, 40));
            const QString text = !cell.error.empty() ? QStringLiteral("n/a")
                               : cell.ran()          ? QString::number(-100.0 * cell.drop, 'f', 1)
                                                     : QStringLiteral("…");
            painter.drawText(r, Qt::AlignCenter, text);
        }
    }
    if (m_selected >= 0) {
        painter.setPen(QPen(QColor(0xff, 0xbf, 0x00), 2));
        const QRect first = cellRect(m_selected, 0);
        painter.drawRect(QRect(first.left(), first.top(), cell.width() * static_cast<int>(m_result.settings.size()),
                               cell.height())
                             .adjusted(1, 1, -1, -1));
    }
    // The colour scale: no change to the largest drop of this analysis.
    const int scaleTop = cellRect(static_cast<int>(m_result.layers.size()), 0).top() + 12;
    const int scaleLeft = kMargin + labelWidth();
    const int scaleWidth = std::min(240, cell.width() * static_cast<int>(std::max<size_t>(m_result.settings.size(), 2)));
    constexpr int kSlices = 48;
    for (int i = 0; i < kSlices; ++i) {
        nnlab::SensitivityCell sample;
        sample.accuracy = 0.0;
        sample.drop = top * i / (kSlices - 1);
        painter.fillRect(QRect(scaleLeft + scaleWidth * i / kSlices, scaleTop, scaleWidth / kSlices + 1, 10),
                         colourFor(sample, top));
    }
    painter.setPen(palette().color(QPalette::Text));
    painter.drawRect(QRect(scaleLeft, scaleTop, scaleWidth, 10));
    painter.drawText(QRect(kMargin, scaleTop - 4, labelWidth() - 6, 18), Qt::AlignRight | Qt::AlignVCenter,
                     tr("points lost"));
    painter.drawText(QRect(scaleLeft - 20, scaleTop + 11, 40, 16), Qt::AlignCenter, QStringLiteral("0"));
    painter.drawText(QRect(scaleLeft + scaleWidth - 30, scaleTop + 11, 60, 16), Qt::AlignCenter,
                     QString::number(-100.0 * top, 'f', 1));
}

void SensitivityMap::mouseReleaseEvent(QMouseEvent* event)
{
    const auto [layer, setting] = cellAt(event->pos());
    if (event->button() != Qt::LeftButton || layer < 0)
        return;
    (void)setting;
    m_selected = layer;
    update();
    const nnlab::SensitivityLayer& l = m_result.layers[static_cast<size_t>(layer)];
    emit layerClicked(QList<int>(l.specPath.begin(), l.specPath.end()), QString::fromStdString(l.name));
}

bool SensitivityMap::event(QEvent* event)
{
    if (event->type() != QEvent::ToolTip)
        return QWidget::event(event);
    auto* help = static_cast<QHelpEvent*>(event);
    const auto [layer, setting] = cellAt(help->pos());
    if (layer < 0 || static_cast<size_t>(layer) >= m_result.cells.size()
        || static_cast<size_t>(setting) >= m_result.cells[static_cast<size_t>(layer)].size()) {
        QToolTip::hideText();
        event->ignore();
        return true;
    }
    const auto& cell = m_result.cells[static_cast<size_t>(layer)][static_cast<size_t>(setting)];
    const auto& l = m_result.layers[static_cast<size_t>(layer)];
    QString text = tr("<b>%1</b> (%2) at %3<br>")
                       .arg(QString::fromStdString(l.name), QString::fromStdString(l.type),
                            QString::fromStdString(m_result.settings[static_cast<size_t>(setting)].label()));
    if (!cell.error.empty())
        text += tr("could not run: %1").arg(QString::fromStdString(cell.error).toHtmlEscaped());
    else if (!cell.ran())
        text += tr("not evaluated");
    else
        text += tr("%1 accuracy %2% (base %3%): %4 points")
                    .arg(QString::fromStdString(m_result.split))
                    .arg(100.0 * cell.accuracy, 0, 'f', 2)
                    .arg(100.0 * m_result.baseAccuracy, 0, 'f', 2)
                    .arg(-100.0 * cell.drop, 0, 'f', 2);
    text += tr("<br>Click: select the layer in the model editor");
    QToolTip::showText(help->globalPos(), text, this);
    return true;
}
