// Layer statistics as the trainer records them: metrics "layers/<layer path>/<statistic>"
// (activation mean and std, dead ReLU fraction, weight and gradient norms, update/weight
// ratio), gathered per layer and statistic for the Layer Statistics dock's charts.
#pragma once

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>

#include <array>
#include <map>

namespace inspect {

enum class LayerStat { ActMean, ActStd, DeadFraction, WeightNorm, GradNorm, UpdateRatio, Count };
constexpr int kLayerStatCount = static_cast<int>(LayerStat::Count);

QString statKey(LayerStat stat);     // "act_mean", as in the metric tag
QString statTitle(LayerStat stat);   // "activation mean"

// "layers/3.body.0/act_mean" -> layer "3.body.0", ActMean. False for other tags and for
// statistics this build does not chart.
bool parseLayerTag(const QString& tag, QString* layer, LayerStat* stat);

// Layer paths in model order: numeric parts compared as numbers ("2" < "3.body.0" < "10").
bool layerPathLess(const QString& a, const QString& b);

// Every layer's series, (step, value) in arrival order.
class LayerStatsData {
public:
    void clear() { m_layers.clear(); }
    // Returns true when the point was a layer statistic.
    bool add(const QString& tag, qint64 step, double value);
    void setSeries(const QString& layer, LayerStat stat, QVector<QPointF> points);
    QStringList layers() const;   // in model order
    const QVector<QPointF>* series(const QString& layer, LayerStat stat) const;
    bool isEmpty() const { return m_layers.empty(); }

private:
    std::map<QString, std::array<QVector<QPointF>, kLayerStatCount>> m_layers;
};

} // namespace inspect
