#include "inspect_docks.h"

#include "confusion_panel.h"
#include "decision_boundary_panel.h"
#include "features_panel.h"
#include "layer_stats_panel.h"

#include "core/experiment_document.h"
#include "core/training_controller.h"

#include <QDockWidget>
#include <QMainWindow>

namespace inspect {

namespace {
std::vector<nnlab::Snapshot> toVector(const QVector<nnlab::Snapshot>& batch) { return {batch.begin(), batch.end()}; }
} // namespace

InspectDocks::InspectDocks(QMainWindow* window, TrainingController* controller, ExperimentDocument* document,
                           QDockWidget* besides)
    : QObject(window), m_controller(controller), m_document(document)
{
    m_boundary = new DecisionBoundaryPanel(window);
    m_layers = new LayerStatisticsPanel(window);
    m_confusion = new ConfusionPanel(window);
    m_features = new FeaturesPanel(window);
    const std::pair<QWidget*, std::pair<QString, QString>> docks[] = {
        {m_boundary, {tr("Decision Boundary"), QStringLiteral("decisionBoundaryDock")}},
        {m_layers, {tr("Layer Statistics"), QStringLiteral("layerStatisticsDock")}},
        {m_confusion, {tr("Confusion Matrix"), QStringLiteral("confusionMatrixDock")}},
        {m_features, {tr("Filters && Feature Maps"), QStringLiteral("featureMapsDock")}},
    };
    QDockWidget* previous = besides;
    for (const auto& [panel, names] : docks) {
        auto* d = new QDockWidget(names.first, window);
        d->setObjectName(names.second);
        d->setWidget(panel);
        window->addDockWidget(Qt::RightDockWidgetArea, d);
        if (previous)
            window->tabifyDockWidget(previous, d);
        previous = d;
        connect(d, &QDockWidget::visibilityChanged, this, [this, panel](bool visible) {
            if (visible)
                loadInto(panel);
        });
    }
    if (besides)
        besides->raise();

    connect(controller, &TrainingController::runStarted, this,
            [this](const QString& runId, const QString&, qint64) { beginLive(runId); });
    connect(controller, &TrainingController::metricsArrived, m_layers, &LayerStatisticsPanel::appendMetrics);
    connect(controller, &TrainingController::snapshotsArrived, this,
            [this](const QString& runId, const QVector<nnlab::Snapshot>& batch) {
                const std::vector<nnlab::Snapshot> snapshots = toVector(batch);
                m_boundary->addSnapshots(runId, snapshots);
                m_layers->addSnapshots(runId, snapshots);
                m_confusion->addSnapshots(runId, snapshots);
            });
    connect(controller, &TrainingController::runFinished, this, &InspectDocks::endLive);
    // Before any run: the editor's 2-D data set's points.
    m_boundary->showExperiment(document->spec());
}

QDockWidget* InspectDocks::dock(QWidget* panel) const { return qobject_cast<QDockWidget*>(panel->parentWidget()); }

QString InspectDocks::storePath() const { return m_controller->databasePath(); }

void InspectDocks::beginLive(const QString& runId)
{
    m_liveRun = m_shownRun = runId;
    m_boundary->beginLiveRun(runId, m_document->spec());
    m_layers->beginLiveRun(runId);
    m_confusion->setStorePath(storePath());
    m_confusion->beginLiveRun(runId);
}

void InspectDocks::endLive(const QString& runId, nnlab::TrainStatus status)
{
    if (runId != m_liveRun)
        return;
    m_liveRun.clear();
    if (runId.isEmpty() || m_shownRun != runId)
        return;
    // A checkpoint exists for a run that trained (finished or stopped): the examples and the
    // filters can be read from it.
    const bool trained = status != nnlab::TrainStatus::Failed;
    if (dock(m_confusion)->isVisible())
        m_confusion->endLiveRun(runId, trained);
    if (trained && dock(m_features)->isVisible())
        m_features->showStoredRun(storePath(), runId);
}

void InspectDocks::showRun(const QString& runId)
{
    if (runId.isEmpty() || runId == m_shownRun)
        return;
    m_shownRun = runId;
    for (QWidget* panel : {static_cast<QWidget*>(m_boundary), static_cast<QWidget*>(m_layers),
                           static_cast<QWidget*>(m_confusion), static_cast<QWidget*>(m_features)})
        if (dock(panel)->isVisible())
            loadInto(panel);
}

void InspectDocks::loadInto(QWidget* panel)
{
    const QString run = m_shownRun;
    if (run.isEmpty() || run == m_liveRun || storePath().isEmpty())
        return;   // nothing chosen, or the live run, which the docks follow already
    if (panel == m_boundary && m_boundary->runId() != run)
        m_boundary->showStoredRun(storePath(), run);
    else if (panel == m_layers && m_layers->runId() != run)
        m_layers->showStoredRun(storePath(), run);
    else if (panel == m_confusion && m_confusion->runId() != run)
        m_confusion->showStoredRun(storePath(), run);
    else if (panel == m_features && m_features->runId() != run)
        m_features->showStoredRun(storePath(), run);
}

} // namespace inspect
