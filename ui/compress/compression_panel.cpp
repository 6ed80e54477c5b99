#include "compress/compression_panel.h"

#include "compress/layer_compare_view.h"
#include "compress/pareto_chart.h"
#include "compress/pareto_view.h"
#include "compress/sensitivity_view.h"

CompressionPanel::CompressionPanel(QWidget* parent)
    : QTabWidget(parent), m_pareto(new ParetoView), m_layers(new LayerCompareView), m_sensitivity(new SensitivityView)
{
    setObjectName(QStringLiteral("compressionPanel"));
    addTab(m_pareto, tr("Pareto"));
    addTab(m_layers, tr("Layers"));
    addTab(m_sensitivity, tr("Sensitivity"));
    connect(m_pareto, &ParetoView::layersRequested, this, &CompressionPanel::showLayers);
    connect(m_pareto, &ParetoView::sensitivityRequested, this, [this](const QString& runId) {
        QString name;
        for (const auto& row : m_pareto->chart()->rows())
            if (QString::fromStdString(row.runId) == runId)
                name = QString::fromStdString(row.name);
        showSensitivity(runId, name);
    });
    // A recorded analysis is a run: the Pareto rows leave it out, but the list changed.
    connect(m_sensitivity, &SensitivityView::analysisRecorded, m_pareto, &ParetoView::refresh);
}

void CompressionPanel::setStorePath(const QString& path)
{
    m_pareto->setStorePath(path);
    m_layers->setStorePath(path);
    m_sensitivity->setStorePath(path);
}

void CompressionPanel::showRuns(const QStringList& runIds)
{
    m_pareto->showRuns(runIds);
    setCurrentIndex(ParetoTab);
}

void CompressionPanel::showLayers(const QString& childRunId)
{
    m_layers->showRun(childRunId);
    setCurrentIndex(LayersTab);
}

void CompressionPanel::showSensitivity(const QString& runId, const QString& runName)
{
    m_sensitivity->setRun(runId, runName);
    setCurrentIndex(SensitivityTab);
}
