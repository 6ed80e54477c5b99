// "Inside the network" in the main window: the Decision Boundary, Layer Statistics,
// Confusion Matrix and Filters & Feature Maps docks, fed by the training controller (live
// metrics and snapshots) and by the run chosen in the Runs dock (showStoredRun). A dock
// that is hidden loads nothing: a stored run reaches it when it is shown, since the model
// and data reads behind the images and the examples take a second or more.
#pragma once

#include "nnlab/run_types.h"

#include <QObject>
#include <QPointer>
#include <QString>

class ExperimentDocument;
class QDockWidget;
class QMainWindow;
class TrainingController;

namespace inspect {

class ConfusionPanel;
class DecisionBoundaryPanel;
class FeaturesPanel;
class LayerStatisticsPanel;

class InspectDocks : public QObject {
    Q_OBJECT
public:
    // Adds the docks to `window`, tabbed with `besides` (right area when null).
    InspectDocks(QMainWindow* window, TrainingController* controller, ExperimentDocument* document,
                 QDockWidget* besides = nullptr);

    DecisionBoundaryPanel* boundary() const { return m_boundary; }
    LayerStatisticsPanel* layers() const { return m_layers; }
    ConfusionPanel* confusion() const { return m_confusion; }
    FeaturesPanel* features() const { return m_features; }
    QDockWidget* dock(QWidget* panel) const;

public slots:
    // The run selected in the Runs dock (a stored run, or the live one).
    void showRun(const QString& runId);

private:
    void beginLive(const QString& runId);
    void endLive(const QString& runId, nnlab::TrainStatus status);
    void loadInto(QWidget* panel);
    QString storePath() const;

    TrainingController* m_controller;
    ExperimentDocument* m_document;
    DecisionBoundaryPanel* m_boundary = nullptr;
    LayerStatisticsPanel* m_layers = nullptr;
    ConfusionPanel* m_confusion = nullptr;
    FeaturesPanel* m_features = nullptr;
    QString m_liveRun;       // training now
    QString m_shownRun;      // what the docks should show
};

} // namespace inspect
