// The workbench window: the experiment editor docks (model, data, hyperparameters,
// diagram), the live charts in the centre, the runs table below, and the actions that tie
// them to the training controller and the run store.
#pragma once

#include "shortcuts_dialog.h"

#include <QMainWindow>
#include <QPointer>

class DeploymentsDock;
class QDockWidget;
class AlertNotifier;
class AlertsDock;
class ChartsPanel;
class DataPanel;
class ExperimentDocument;
class FileActions;
class HyperparametersPanel;
class ModelEditor;
class MonitorsPanel;
class NetworkDiagram;
class RunsPanel;
class TrainingBar;
class TrainingController;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const QString& databasePath = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    ExperimentDocument* document() const { return m_document; }
    TrainingController* controller() const { return m_controller; }
    FileActions* fileActions() const { return m_files; }
    TrainingBar* trainingBar() const { return m_trainingBar; }
    ModelEditor* modelEditor() const { return m_modelEditor; }
    ChartsPanel* charts() const { return m_charts; }
    RunsPanel* runs() const { return m_runs; }
    MonitorsPanel* monitors() const { return m_monitors; }
    AlertsDock* alerts() const { return m_alerts; }
    DeploymentsDock* deployments() const { return m_deployments; }
    AlertNotifier* alertNotifier() const { return m_alertNotifier; }
    QAction* checkAction() const { return m_checkAction; }            // Train > Check (the pre-flight)
    QAction* shortcutsAction() const { return m_shortcutsAction; }   // Help > Keyboard Shortcuts
    ShortcutsDialog* shortcutsDialog() const { return m_shortcuts; }  // while it is open
    QString databasePath() const;
    void setDatabasePath(const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createPanels();
    void createMenus();
    void createCompressionDock(QDockWidget* besides);
    void connectTraining();
    void updateTitle();
    void openStoredExperiment(const QString& runId, const QString& json);
    void resumeRun(const QString& runId);
    void chooseDatabase();
    void showShortcuts();
    void checkRuntime();

    ExperimentDocument* m_document;
    TrainingController* m_controller;
    FileActions* m_files = nullptr;
    TrainingBar* m_trainingBar = nullptr;
    ModelEditor* m_modelEditor = nullptr;
    NetworkDiagram* m_diagram = nullptr;
    DataPanel* m_data = nullptr;
    HyperparametersPanel* m_hyper = nullptr;
    ChartsPanel* m_charts = nullptr;
    RunsPanel* m_runs = nullptr;
    MonitorsPanel* m_monitors = nullptr;
    AlertsDock* m_alerts = nullptr;
    DeploymentsDock* m_deployments = nullptr;
    AlertNotifier* m_alertNotifier = nullptr;
    QAction* m_checkAction = nullptr;
    QAction* m_shortcutsAction = nullptr;
    QPointer<ShortcutsDialog> m_shortcuts;
};
