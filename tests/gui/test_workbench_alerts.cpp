// The main window's alert wiring: an Alert event from the training controller becomes a line
// in the Alerts dock, a marker on the charts, and (for a rule with notify, offscreen without
// a system tray) a status-bar line; other events and unreadable details add nothing.
#include "main_window.h"

#include "charts/alert_markers.h"
#include "charts/alert_notifier.h"
#include "charts/alerts_dock.h"
#include "charts/charts_panel.h"
#include "charts/metric_chart.h"
#include "core/experiment_document.h"
#include "core/training_controller.h"
#include "editor/monitors_panel.h"

#include "nnlab/monitor_alert.h"

#include <QDockWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QtTest>

class TestWorkbenchAlerts : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);   // QSettings away from the user's
        QCoreApplication::setOrganizationName("nnlab-tests");
        QCoreApplication::setApplicationName("test_workbench_alerts");
    }

    void controllerAlertReachesDockChartsAndStatusBar()
    {
        MainWindow window(m_dir.filePath("runs.db"));
        QVERIFY(window.findChild<QDockWidget*>("monitorsDock"));
        QVERIFY(window.findChild<QDockWidget*>("alertsDock"));
        QCOMPARE(window.monitors()->ruleList()->count(), 1);

        // The experiment's rule asks for a notification.
        window.document()->apply("notify", [](nnlab::ExperimentSpec& s) {
            s.monitors[0].name = "watch";
            s.monitors[0].actions = {nnlab::MonitorAction::Annotate, nnlab::MonitorAction::Notify};
        });
        nnlab::MonitorAlert alert;
        alert.rule = "watch";
        alert.metric = "train/loss";
        alert.step = 12;
        alert.value = 7;
        alert.threshold = 3;
        alert.action = "annotate";
        alert.message = "train/loss 7 > 3 at step 12";
        TrainingController* c = window.controller();
        emit c->eventOccurred("run-1", nnlab::EventKind::Checkpoint, "/tmp/x.pt");
        emit c->eventOccurred("run-1", nnlab::EventKind::Alert, "not json");
        emit c->eventOccurred("run-1", nnlab::EventKind::Alert, QString::fromStdString(nnlab::alertToDetail(alert)));
        window.charts()->replotNow();
        QCOMPARE(window.alerts()->rowCount(), 1);
        QCOMPARE(window.alerts()->stepAt(0), qint64(12));
        QCOMPARE(window.charts()->chart(ChartsPanel::LossChart)->alertMarkers()->keys(true), std::vector<double>{12.0});
        QVERIFY2(window.statusBar()->currentMessage().contains("watch at step 12"),
                 qPrintable(window.statusBar()->currentMessage()));
        QVERIFY(window.alertNotifier()->lastNotification().contains("train/loss 7 > 3 at step 12"));
    }
};

QTEST_MAIN(TestWorkbenchAlerts)
#include "test_workbench_alerts.moc"
