#include "layer_stats.h"

#include <QCoreApplication>

#include <algorithm>

namespace inspect {

namespace {
struct StatName {
    const char* key;
    const char* title;
};
const StatName kStats[kLayerStatCount] = {
    {"act_mean", QT_TRANSLATE_NOOP("inspect", "activation mean")},
    {"act_std", QT_TRANSLATE_NOOP("inspect", "activation std")},
    {"dead_fraction", QT_TRANSLATE_NOOP("inspect", "dead ReLU fraction")},
    {"weight_norm", QT_TRANSLATE_NOOP("inspect", "weight norm")},
    {"grad_norm", QT_TRANSLATE_NOOP("inspect", "gradient norm")},
    {"update_ratio", QT_TRANSLATE_NOOP("inspect", "update / weight ratio")},
};
} // namespace

QString statKey(LayerStat stat) { return QString::fromLatin1(kStats[static_cast<int>(stat)].key); }

QString statTitle(LayerStat stat)
{
    return QCoreApplication::translate("inspect", kStats[static_cast<int>(stat)].title);
}

bool parseLayerTag(const QString& tag, QString* layer, LayerStat* stat)
{
    static const QString prefix = QStringLiteral("layers/");
    if (!tag.startsWith(prefix))
        return false;
    const int slash = tag.lastIndexOf(QLatin1Char('/'));
    if (slash <= prefix.size())
        return false;
    const QString key = tag.mid(slash + 1);
    for (int i = 0; i < kLayerStatCount; ++i) {
        if (key == QLatin1String(kStats[i].key)) {
            *layer = tag.mid(prefix.size(), slash - prefix.size());
            *stat = static_cast<LayerStat>(i);
            return true;
        }
    }
    return false;
}

bool layerPathLess(const QString& a, const QString& b)
{
    const QStringList pa = a.split(QLatin1Char('.')), pb = b.split(QLatin1Char('.'));
    for (int i = 0; i < std::min(pa.size(), pb.size()); ++i) {
        bool na = false, nb = false;
        const qlonglong ia = pa[i].toLongLong(&na), ib = pb[i].toLongLong(&nb);
        if (na && nb && ia != ib)
            return ia < ib;
        if (na != nb)
            return na;   // numbers before names
        if (!na && pa[i] != pb[i])
            return pa[i] < pb[i];
    }
    return pa.size() < pb.size();
}

bool LayerStatsData::add(const QString& tag, qint64 step, double value)
{
    QString layer;
    LayerStat stat;
    if (!parseLayerTag(tag, &layer, &stat))
        return false;
    m_layers[layer][static_cast<size_t>(stat)].append(QPointF(static_cast<double>(step), value));
    return true;
}

void LayerStatsData::setSeries(const QString& layer, LayerStat stat, QVector<QPointF> points)
{
    m_layers[layer][static_cast<size_t>(stat)] = std::move(points);
}

QStringList LayerStatsData::layers() const
{
    QStringList out;
    for (const auto& entry : m_layers)
        out << entry.first;
    std::sort(out.begin(), out.end(), layerPathLess);
    return out;
}

const QVector<QPointF>* LayerStatsData::series(const QString& layer, LayerStat stat) const
{
    const auto it = m_layers.find(layer);
    if (it == m_layers.end())
        return nullptr;
    const QVector<QPointF>& s = it->second[static_cast<size_t>(stat)];
    return s.isEmpty() ? nullptr : &s;
}

} // namespace inspect
