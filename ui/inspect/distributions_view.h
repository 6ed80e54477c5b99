// Weight and gradient histograms over time, as TensorBoard's distributions view: for one
// layer, the percentiles of each recorded histogram (histogram_bands.h) plotted against the
// step, the bands between them filled (min-max palest, the median a line).
#pragma once

#include "histogram_bands.h"

#include "nnlab/snapshot.h"

#include <qcustomplot.h>

#include <QString>
#include <QWidget>

#include <map>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;

namespace inspect {

// A WeightHistogram or GradientHistogram snapshot's bins; nullopt with *error for a shape
// or meta that does not match (snapshot.h).
std::optional<Histogram> unpackHistogram(const nnlab::Snapshot& snapshot, QString* error = nullptr);

class DistributionsView : public QWidget {
    Q_OBJECT
public:
    enum class Kind { Weights, Gradients };

    explicit DistributionsView(QWidget* parent = nullptr);

    void clear();
    // Keeps the histogram kinds; a step already held for that layer replaces what follows.
    void addSnapshots(const std::vector<nnlab::Snapshot>& snapshots);
    QStringList layers() const;   // that have histograms of the chosen kind, in model order
    void setLayer(const QString& layer);
    void setKind(Kind kind);
    QString layer() const;
    Kind kind() const { return m_kind; }
    // The percentiles (distributionQuantiles()) of the chosen layer and kind, by step.
    const std::map<qint64, std::vector<double>>* bands() const;
    // Regenerates the graphs (after addSnapshots; the owner coalesces).
    void redraw();
    QCustomPlot* plot() const { return m_plot; }

private:
    void updateLayerChoice();

    Kind m_kind = Kind::Weights;
    QString m_layer;
    // kind -> layer -> step -> percentiles
    std::map<Kind, std::map<QString, std::map<qint64, std::vector<double>>>> m_data;
    QComboBox* m_kindCombo = nullptr;
    QComboBox* m_layerCombo = nullptr;
    QLabel* m_empty = nullptr;
    QCustomPlot* m_plot = nullptr;
    std::vector<QCPGraph*> m_lines;   // one per percentile
};

} // namespace inspect
