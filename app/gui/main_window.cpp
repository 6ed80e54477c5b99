#include "main_window.h"

#include "file_actions.h"
#include "shortcuts_dialog.h"
#include "training_bar.h"

#include "charts/alert_notifier.h"
#include "charts/alerts_dock.h"
#include "charts/charts_panel.h"
#include "compress/compress_dialog.h"
#include "compress/compression_panel.h"
#include "compress/pareto_view.h"
#include "compress/sensitivity_view.h"
#include "core/experiment_document.h"
#include "core/training_controller.h"
#include "deploy/deployments_dock.h"
#include "deploy/predictions_dialog.h"
#include "editor/data_panel.h"
#include "editor/hyperparameters_panel.h"
#include "editor/lr_finder_dialog.h"
#include "editor/model_editor.h"
#include "editor/monitors_panel.h"
#include "editor/network_diagram.h"
#include "editor/preflight_dialog.h"
#include "inspect/inspect_docks.h"
#include "labs/lab_panel.h"
#include "runs/runs_panel.h"

#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <QToolBar>
#include <QUndoStack>

#include <memory>

MainWindow::MainWindow(const QString& databasePath, QWidget* parent)
    : QMainWindow(parent), m_document(new ExperimentDocument(this)), m_controller(new TrainingController(this))
{
    setObjectName("MainWindow");
    setDockNestingEnabled(true);
    createPanels();
    m_files = new FileActions(m_document, this);
    m_trainingBar = new TrainingBar(m_document, m_controller, statusBar());
    createMenus();
    connectTraining();

    QSettings settings;
    QString db = databasePath;   // --db, which beats $NNLAB_DB, which beats the store last used
    if (db.isEmpty() && qEnvironmentVariableIsEmpty("NNLAB_DB"))
        db = settings.value("database").toString();
    if (db.isEmpty())
        db = QString::fromStdString(nnlab::defaultDatabasePath());
    setDatabasePath(db);

    connect(m_document, &ExperimentDocument::specChanged, this, &MainWindow::updateTitle);
    connect(m_document, &ExperimentDocument::filePathChanged, this, &MainWindow::updateTitle);
    connect(m_document, &ExperimentDocument::modifiedChanged, this, &MainWindow::updateTitle);
    updateTitle();

    resize(1400, 900);
    restoreGeometry(settings.value("geometry").toByteArray());
    restoreState(settings.value("windowState").toByteArray());
    QTimer::singleShot(0, this, &MainWindow::checkRuntime);
}

MainWindow::~MainWindow() = default;

void MainWindow::createPanels()
{
    m_charts = new ChartsPanel(this);
    setCentralWidget(m_charts);

    auto dock = [this](const QString& title, const QString& name, QWidget* widget, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(widget);
        addDockWidget(area, d);
        return d;
    };
    m_modelEditor = new ModelEditor(m_document, this);
    m_data = new DataPanel(m_document, this);
    m_hyper = new HyperparametersPanel(m_document, this);
    m_diagram = new NetworkDiagram(m_document, this);
    m_runs = new RunsPanel(this);
    QDockWidget* model = dock(tr("Model"), "modelDock", m_modelEditor, Qt::LeftDockWidgetArea);
    QDockWidget* data = dock(tr("Data"), "dataDock", m_data, Qt::LeftDockWidgetArea);
    QDockWidget* hyper = dock(tr("Hyperparameters"), "hyperDock", m_hyper, Qt::LeftDockWidgetArea);
    tabifyDockWidget(model, data);
    tabifyDockWidget(data, hyper);
    m_monitors = new MonitorsPanel(m_document, this);
    tabifyDockWidget(hyper, dock(tr("Monitors"), "monitorsDock", m_monitors, Qt::LeftDockWidgetArea));
    model->raise();
    QDockWidget* diagram = dock(tr("Diagram"), "diagramDock", m_diagram, Qt::RightDockWidgetArea);
    QDockWidget* runs = dock(tr("Runs"), "runsDock", m_runs, Qt::BottomDockWidgetArea);
    resizeDocks({model, diagram}, {480, 300}, Qt::Horizontal);
    resizeDocks({runs}, {220}, Qt::Vertical);
    m_alerts = new AlertsDock(m_charts, this);
    QDockWidget* alerts = dock(tr("Alerts"), "alertsDock", m_alerts, Qt::BottomDockWidgetArea);
    splitDockWidget(runs, alerts, Qt::Horizontal);
    resizeDocks({runs, alerts}, {700, 400}, Qt::Horizontal);
    m_deployments = new DeploymentsDock(this);
    tabifyDockWidget(alerts, dock(tr("Deployments"), "deploymentsDock", m_deployments, Qt::BottomDockWidgetArea));
    alerts->raise();

    connect(m_modelEditor, &ModelEditor::selectionChangedTo, m_diagram, &NetworkDiagram::setSelectedLayer);
    connect(m_diagram, &NetworkDiagram::layerClicked, m_modelEditor, &ModelEditor::selectLayer);
    connect(m_data, &DataPanel::trainSampleCountChanged, m_hyper, &HyperparametersPanel::setLoadedTrainSamples);
    connect(m_runs, &RunsPanel::overlayChanged, m_charts, &ChartsPanel::setOverlaidRuns);
    connect(m_runs, &RunsPanel::runRenamed, m_charts, &ChartsPanel::setRunName);
    connect(m_runs, &RunsPanel::openExperimentRequested, this, &MainWindow::openStoredExperiment);
    connect(m_runs, &RunsPanel::resumeRequested, this, &MainWindow::resumeRun);
    connect(m_runs, &RunsPanel::deployRequested, this, [this](const QString& runId, const QString& name) {
        m_deployments->deploy(runId, name, databasePath());
        if (auto* d = qobject_cast<QDockWidget*>(m_deployments->parentWidget())) {
            d->show();
            d->raise();
        }
    });
    connect(m_deployments, &DeploymentsDock::deployRequested, m_runs, [this] {
        if (QAction* deploy = m_runs->action(QStringLiteral("deploy")); deploy && deploy->isEnabled())
            deploy->trigger();
        else
            statusBar()->showMessage(tr("Select a trained run in the Runs dock first"), 5000);
    });
    connect(m_runs, &RunsPanel::predictImagesRequested, this, [this](const QString& runId, const QStringList& files) {
        (new PredictionsDialog(databasePath(), runId, files, this))->show();
    });
    createCompressionDock(diagram);

    // Inside the network (ui/inspect): decision boundary, layer statistics, confusion matrix,
    // filters and feature maps, beside the diagram; live from the controller, stored from the
    // run selected in the Runs dock.
    auto* inspectDocks = new inspect::InspectDocks(this, m_controller, m_document, diagram);
    connect(m_runs, &RunsPanel::selectedRunsChanged, inspectDocks, [inspectDocks](const QStringList& ids) {
        if (ids.size() == 1)
            inspectDocks->showRun(ids.first());
    });

    // Lab mode (ui/labs): a teaching lab's steps in a dock; its locks grey the editors' fields.
    auto* lab = new LabPanel(m_document, this);
    lab->locks().setRoot(this);
    lab->locks().setArea(QStringLiteral("model"), m_modelEditor);
    lab->locks().setArea(QStringLiteral("model"), m_diagram);
    QDockWidget* labDock = dock(tr("Lab"), "labDock", lab, Qt::RightDockWidgetArea);
    tabifyDockWidget(diagram, labDock);
    labDock->hide();
    // A step's runs are listed as they are recorded and plotted together once it is judged.
    auto stepRuns = std::make_shared<QStringList>();
    connect(lab, &LabPanel::stepStarted, this, [stepRuns] { stepRuns->clear(); });
    connect(lab, &LabPanel::runRecorded, this, [this, stepRuns](const QString& id) {
        stepRuns->append(id);
        m_runs->refresh();
    });
    connect(lab, &LabPanel::stepFinished, this, [this, stepRuns] { m_runs->setTickedRuns(*stepRuns); });
}

// The compression lab: the Compression dock (Pareto, layers, sensitivity) beside the diagram,
// the Compress dialog from the Runs dock, selection linked both ways, and a heat-map cell
// selecting its layer in the model editor (opening the run's experiment first).
void MainWindow::createCompressionDock(QDockWidget* besides)
{
    auto* compression = new CompressionPanel(this);
    auto* dock = new QDockWidget(tr("Compression"), this);
    dock->setObjectName(QStringLiteral("compressionDock"));
    dock->setWidget(compression);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    tabifyDockWidget(besides, dock);
    besides->raise();
    const auto showDock = [dock] {
        dock->show();
        dock->raise();
    };
    connect(m_runs, &RunsPanel::compressRequested, this, [this, compression](const QString& runId, const QString& name) {
        auto* dialog = new CompressDialog(databasePath(), runId, name, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &CompressDialog::runRecorded, m_runs, &RunsPanel::refresh);
        connect(dialog, &CompressDialog::runRecorded, compression->pareto(), &ParetoView::refresh);
        dialog->show();
    });
    connect(m_runs, &RunsPanel::compareCompressionRequested, this, [compression, showDock](const QStringList& ids) {
        compression->showRuns(ids);
        showDock();
    });
    connect(m_runs, &RunsPanel::selectedRunsChanged, compression->pareto(), &ParetoView::setSelectedRuns);
    connect(compression->pareto(), &ParetoView::runClicked, m_runs, [this](const QString& runId) {
        m_runs->selectRuns({runId});
    });
    connect(compression->sensitivity(), &SensitivityView::layerSelected, this,
            [this](const QString& runId, const QList<int>& path) {
                if (property("compressionExperimentRun").toString() != runId && m_runs->openExperiment(runId))
                    setProperty("compressionExperimentRun", runId);
                m_modelEditor->selectLayer(path);
                if (auto* d = qobject_cast<QDockWidget*>(m_modelEditor->parentWidget())) {
                    d->show();
                    d->raise();
                }
            });
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_files->newAction());
    file->addAction(m_files->openAction());
    file->addMenu(m_files->recentMenu());
    file->addAction(m_files->saveAction());
    file->addAction(m_files->saveAsAction());
    file->addSeparator();
    file->addAction(tr("Open run &database…"), this, &MainWindow::chooseDatabase);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_document->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    undo->setIcon(QIcon::fromTheme("edit-undo"));
    QAction* redo = m_document->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    redo->setIcon(QIcon::fromTheme("edit-redo"));
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu* train = menuBar()->addMenu(tr("&Train"));
    train->addAction(m_trainingBar->trainAction());
    train->addAction(m_trainingBar->pauseAction());
    train->addAction(m_trainingBar->stopAction());
    m_checkAction = train->addAction(QIcon::fromTheme("dialog-ok-apply"), tr("&Check…"), this,
                                     [this] { PreflightDialog::openFor(m_document, m_controller, this); });
    m_checkAction->setObjectName(QStringLiteral("checkAction"));
    m_checkAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_checkAction->setToolTip(tr("Pre-flight check: initial loss, overfit one batch, gradient flow, what enters the network"));
    train->addSeparator();
    train->addAction(tr("Find &learning rate…"), this, [this] { LrFinderDialog::openFor(m_document, m_controller, this); })
        ->setObjectName(QStringLiteral("lrFinderAction"));

    QMenu* labMenu = menuBar()->addMenu(tr("&Lab"));
    labMenu->addAction(tr("&Open Lab…"), this, [this] {
        QString dir = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral(NNLAB_DATADIR_FROM_BINDIR "/labs"));
        if (!QFileInfo(dir).isDir())
            dir = QStringLiteral(NNLAB_SOURCE_EXAMPLES_DIR "/../labs");
        const QString path = QFileDialog::getOpenFileName(this, tr("Open Lab"), QDir::cleanPath(dir), tr("Labs (*.json)"));
        auto* lab = findChild<LabPanel*>();
        if (path.isEmpty() || !lab)
            return;
        lab->setDatabasePath(databasePath());
        if (const QString problems = lab->openLab(path); !problems.isEmpty())
            return void(QMessageBox::warning(this, tr("Open Lab"), tr("%1 is not a usable lab:\n%2").arg(path, problems)));
        findChild<QDockWidget*>(QStringLiteral("labDock"))->show();
        findChild<QDockWidget*>(QStringLiteral("labDock"))->raise();
    })->setObjectName(QStringLiteral("openLabAction"));
    labMenu->addAction(tr("&Close Lab"), this, [this] {
        if (auto* lab = findChild<LabPanel*>())
            lab->closeLab();
    })->setObjectName(QStringLiteral("closeLabAction"));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* d : findChildren<QDockWidget*>())
        view->addAction(d->toggleViewAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    m_shortcutsAction = help->addAction(tr("&Keyboard Shortcuts…"), this, &MainWindow::showShortcuts);
    m_shortcutsAction->setObjectName(QStringLiteral("shortcutsAction"));
    m_shortcutsAction->setShortcuts({QKeySequence::HelpContents, QKeySequence(Qt::CTRL | Qt::Key_Slash)});
    help->addAction(tr("&About nnlab"), this, [this] {
        nnlab::RuntimeInfo info;
        try {
            info = nnlab::probeRuntime(false);
        } catch (const std::exception& e) {   // the engine module could not be loaded
            info.nnlabVersion = NNLAB_VERSION;
            info.torchVersion = tr("not loaded (%1)").arg(QString::fromUtf8(e.what())).toStdString();
        }
        QMessageBox::about(this, tr("About nnlab"),
                           tr("<b>nnlab %1</b><br>A deep-learning experiment workbench.<br>LibTorch %2 · BLAS %3<br>Run store: %4")
                               .arg(QString::fromStdString(info.nnlabVersion), QString::fromStdString(info.torchVersion),
                                    QString::fromStdString(info.blasLibrary), databasePath()));
    });

    QToolBar* tools = addToolBar(tr("Main"));
    tools->setObjectName("mainToolBar");
    tools->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    tools->addAction(m_files->newAction());
    tools->addAction(m_files->openAction());
    tools->addAction(m_files->saveAction());
    tools->addSeparator();
    tools->addAction(undo);
    tools->addAction(redo);
    tools->addSeparator();
    tools->addAction(m_trainingBar->trainAction());
    tools->addAction(m_trainingBar->pauseAction());
    tools->addAction(m_trainingBar->stopAction());
    tools->addAction(m_checkAction);
}

void MainWindow::connectTraining()
{
    connect(m_controller, &TrainingController::runStarted, this,
            [this](const QString& runId, const QString& summary, qint64 totalSteps) {
                const auto& spec = m_document->spec();
                m_charts->beginLiveRun(runId, QString::fromStdString(spec.name),
                                       totalSteps / std::max<int64_t>(spec.training.epochs, 1));
                m_runs->refresh();
                statusBar()->showMessage(summary, 8000);
            });
    connect(m_controller, &TrainingController::metricsArrived, m_charts, &ChartsPanel::appendMetrics);
    m_alertNotifier = new AlertNotifier(this, statusBar(), this);
    connect(m_controller, &TrainingController::eventOccurred, this,
            [this](const QString& runId, nnlab::EventKind kind, const QString& detail) {
                if (kind != nnlab::EventKind::Alert)
                    return;
                const auto alert = nnlab::alertFromDetail(detail.toStdString());
                if (!alert)
                    return;
                m_charts->addAlert(runId, *alert, QDateTime::currentMSecsSinceEpoch() / 1000.0);
                const charts::ChartRun* run = m_charts->run(runId);
                m_alertNotifier->handle(run ? run->name : runId, *alert,
                                        AlertNotifier::wantsNotification(*alert, m_document->spec().monitors));
            });
    connect(m_controller, &TrainingController::runFinished, this,
            [this](const QString& runId, nnlab::TrainStatus status, const QString& message) {
                if (!runId.isEmpty())
                    m_charts->endLiveRun(runId);
                m_runs->refresh();
                if (status == nnlab::TrainStatus::Failed)
                    QMessageBox::warning(this, tr("Training failed"), message);
            });
}

QString MainWindow::databasePath() const { return m_controller->databasePath(); }

void MainWindow::setDatabasePath(const QString& path)
{
    m_controller->setDatabasePath(path);
    m_charts->setStorePath(path);
    m_runs->setStorePath(path);
    if (auto* compression = findChild<CompressionPanel*>())
        compression->setStorePath(path);
    QSettings().setValue("database", path);
}

void MainWindow::chooseDatabase()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Open or create a run database"), databasePath(),
                                                      tr("nnlab run databases (*.db);;All files (*)"), nullptr,
                                                      QFileDialog::DontConfirmOverwrite);
    if (!path.isEmpty())
        setDatabasePath(path);
}

void MainWindow::updateTitle()
{
    const QString file = m_document->filePath().isEmpty() ? tr("untitled") : QFileInfo(m_document->filePath()).fileName();
    setWindowTitle(QStringLiteral("%1 (%2)[*] — nnlab").arg(QString::fromStdString(m_document->spec().name), file));
    setWindowModified(m_document->isModified());
}

void MainWindow::openStoredExperiment(const QString& runId, const QString& json)
{
    if (!m_files->maybeSave())
        return;
    const nnlab::ParseResult parsed = nnlab::parseExperiment(json.toStdString());
    if (!parsed.complete) {
        QMessageBox::warning(this, tr("Cannot open run %1").arg(runId), QString::fromStdString(parsed.errorText()));
        return;
    }
    m_document->reset(parsed.spec);
    statusBar()->showMessage(tr("Opened the experiment of run %1 (unsaved copy)").arg(runId), 5000);
}

void MainWindow::resumeRun(const QString& runId)
{
    if (!m_controller->resumeStoredRun(runId))
        QMessageBox::information(this, tr("Cannot resume"), tr("A run is already training."));
}

void MainWindow::showShortcuts()
{
    if (m_shortcuts) {   // one at a time; it lists the actions as they were when it opened
        m_shortcuts->raise();
        m_shortcuts->activateWindow();
        return;
    }
    m_shortcuts = new ShortcutsDialog(this, this);
    m_shortcuts->setAttribute(Qt::WA_DeleteOnClose);
    m_shortcuts->show();
}

void MainWindow::checkRuntime()
{
    // Off the GUI thread: the probe times a matrix product, and in the nnlab program it first
    // waits for LibTorch, which loads in the background (engine/src/lazy/engine_loader.h).
    auto* probe = new QFutureWatcher<nnlab::RuntimeInfo>(this);
    connect(probe, &QFutureWatcher<nnlab::RuntimeInfo>::finished, this, [this, probe] {
        probe->deleteLater();
        try {
            const nnlab::RuntimeInfo info = probe->result();
            if (!info.warning.empty())
                statusBar()->showMessage(tr("Warning: %1").arg(QString::fromStdString(info.warning)));
        } catch (const std::exception& e) {   // the engine could not be loaded: nothing can train
            statusBar()->showMessage(tr("Training is unavailable: %1").arg(QString::fromUtf8(e.what())));
        }
    });
    probe->setFuture(QtConcurrent::run([] { return nnlab::probeRuntime(true); }));
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (m_controller->isRunning()) {
        const auto answer = QMessageBox::question(this, tr("Training in progress"),
                                                  tr("A run is training. Stop it and quit? It is kept as cancelled "
                                                     "and can be resumed later."));
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    if (!m_files->maybeSave()) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings.setValue("geometry", saveGeometry());
    settings.setValue("windowState", saveState());
    event->accept();
}
