// The Compression dock's Layers tab: a compressed run beside its parent, layer by layer.
// Four bar charts (weights removed or zero, as a share of the parent's: the sparsity of a masked
// prune and the cut of a structured one; share of the parameters, of the MACs, of the batch-64
// latency),
// parent and child side by side per layer, from the per-layer measurements the compression
// recorded (its "compression" artifact); and the histogram of the weights before and after
// (all layers or one), from the parent's checkpoint and the child's model file.
#pragma once

#include "compress/model_weights.h"

#include "nnlab/compress.h"

#include <QWidget>

class BackgroundTask;
class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;

struct LayerComparison {
    QString childId;
    QString childName;
    QString parentId;
    QString parentName;
    nnlab::CompressMethod method = nnlab::CompressMethod::None;
    std::vector<nnlab::LayerMeasurement> child;    // as measured in the child's process
    std::vector<nnlab::LayerMeasurement> parent;
    compresslab::LayerWeights childWeights;
    compresslab::LayerWeights parentWeights;
    QString weightsNote;                            // why a histogram is missing; empty when none is
};
Q_DECLARE_METATYPE(LayerComparison)

class LayerCompareView : public QWidget {
    Q_OBJECT
public:
    enum Chart { SparsityChart, ParameterChart, MacChart, LatencyChart, ChartCount };

    explicit LayerCompareView(QWidget* parent = nullptr);
    ~LayerCompareView() override;

    void setStorePath(const QString& path) { m_storePath = path; }
    // Loads the comparison of a compressed run with its parent in the background.
    void showRun(const QString& childRunId);
    void setComparison(LayerComparison comparison);   // tests, and the loader
    const LayerComparison& comparison() const { return m_comparison; }

    QCustomPlot* chart(Chart which) const { return m_charts[which]; }
    QCustomPlot* histogram() const { return m_histogram; }
    QComboBox* histogramLayer() const { return m_layer; }
    QLabel* statusLabel() const { return m_status; }
    BackgroundTask* task() const { return m_task; }
    // The values a chart shows: per shown layer, {parent, child}, as fractions. Layers with no
    // weights and no measurable time (under 0.5% everywhere) are left out.
    std::vector<std::pair<double, double>> chartValues(Chart which) const;

    // Reads the comparison from the store (the loader's body; throws naming what is missing).
    static LayerComparison load(const std::string& databasePath, const std::string& childRunId);

private:
    void drawBars();
    void drawHistogram();

    QString m_storePath;
    LayerComparison m_comparison;
    std::vector<std::string> m_layers;   // names, in the parent's order, then the child's new ones
    BackgroundTask* m_task;
    QLabel* m_title;
    QLabel* m_status;
    QCustomPlot* m_charts[ChartCount] = {};
    QCustomPlot* m_histogram;
    QComboBox* m_layer;
    QCheckBox* m_logCounts;
};
