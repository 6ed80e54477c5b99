#include "neuron_grid.h"

#include <QPainter>

#include <algorithm>

namespace inspect {

namespace {
constexpr int kCell = 44;
constexpr int kGap = 4;
} // namespace

NeuronGrid::NeuronGrid(QWidget* parent) : QWidget(parent)
{
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
}

void NeuronGrid::setLayers(const std::vector<BoundaryGrid>& layers)
{
    m_rows.clear();
    for (const BoundaryGrid& g : layers) {
        Row row;
        row.title = g.layerType.isEmpty() ? tr("layer %1").arg(g.name) : tr("layer %1 (%2)").arg(g.name, g.layerType);
        for (int u = 0; u < g.channels; ++u)
            row.units.push_back(neuronImage(g, u, unitScale(g, u)));
        m_rows.push_back(std::move(row));
    }
    updateGeometry();
    update();
}

int NeuronGrid::unitCount() const
{
    int n = 0;
    for (const Row& r : m_rows)
        n += static_cast<int>(r.units.size());
    return n;
}

QImage NeuronGrid::unitImage(int layer, int unit) const
{
    if (layer < 0 || layer >= layerCount() || unit < 0 || unit >= static_cast<int>(m_rows[layer].units.size()))
        return {};
    return m_rows[layer].units[unit];
}

int NeuronGrid::columnsFor(int width) const { return std::max(1, (width - kGap) / (kCell + kGap)); }

int NeuronGrid::heightForWidth(int width) const
{
    const int columns = columnsFor(width);
    int h = kGap;
    for (const Row& r : m_rows) {
        const int lines = (static_cast<int>(r.units.size()) + columns - 1) / columns;
        h += fontMetrics().height() + 2 + lines * (kCell + kGap);
    }
    return h;
}

QSize NeuronGrid::sizeHint() const
{
    const int width = 8 * (kCell + kGap) + kGap;
    return {width, heightForWidth(width)};
}

void NeuronGrid::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::SmoothPixmapTransform, true);
    const int columns = columnsFor(width());
    int y = kGap;
    for (const Row& r : m_rows) {
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QRect(kGap, y, width() - 2 * kGap, fontMetrics().height()), Qt::AlignLeft | Qt::AlignVCenter, r.title);
        y += fontMetrics().height() + 2;
        for (size_t u = 0; u < r.units.size(); ++u) {
            const int column = static_cast<int>(u) % columns, line = static_cast<int>(u) / columns;
            const QRect cell(kGap + column * (kCell + kGap), y + line * (kCell + kGap), kCell, kCell);
            p.drawImage(cell, r.units[u]);
            p.setPen(QColor(0, 0, 0, 60));
            p.drawRect(cell.adjusted(0, 0, -1, -1));
        }
        y += ((static_cast<int>(r.units.size()) + columns - 1) / columns) * (kCell + kGap);
    }
}

} // namespace inspect
