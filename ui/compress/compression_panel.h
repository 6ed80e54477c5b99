// The Compression dock: the Pareto chart of runs and their compressed children, the per-layer
// comparison of a child with its parent, and the sensitivity heat map, as three tabs. The
// window ties it to the Runs dock (selection both ways, "Compare compression") and to the
// model editor (a heat-map cell selects its layer).
#pragma once

#include <QTabWidget>

class LayerCompareView;
class ParetoView;
class SensitivityView;

class CompressionPanel : public QTabWidget {
    Q_OBJECT
public:
    enum Tab { ParetoTab, LayersTab, SensitivityTab };

    explicit CompressionPanel(QWidget* parent = nullptr);

    void setStorePath(const QString& path);
    void showRuns(const QStringList& runIds);                 // the Pareto tab
    void showLayers(const QString& childRunId);               // the Layers tab
    void showSensitivity(const QString& runId, const QString& runName = {});   // the Sensitivity tab

    ParetoView* pareto() const { return m_pareto; }
    LayerCompareView* layers() const { return m_layers; }
    SensitivityView* sensitivity() const { return m_sensitivity; }

private:
    ParetoView* m_pareto;
    LayerCompareView* m_layers;
    SensitivityView* m_sensitivity;
};
