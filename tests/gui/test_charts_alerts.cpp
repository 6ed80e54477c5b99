// Alerts of monitor rules on the charts: a live alert adds a line to the Alerts dock (newest
// first) and a marker at its step (a flag on its metric's chart, a dashed line on every
// chart) with a hover text; a stored run's Alert events come with it and go when it is
// unticked; a double-click centres the charts on the step; notifications fall back to the
// status bar without a system tray.
#include "charts/alert_markers.h"
#include "charts/alert_notifier.h"
#include "charts/alerts_dock.h"
#include "charts/charts_panel.h"
#include "charts/metric_chart.h"

#include "test_runs_fixture.h"

#include "nnlab/monitor_alert.h"

#include <QMainWindow>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using charts::AlertMarkers;

namespace {

QVector<nnlab::MetricPoint> batch(const std::string& tag, int64_t first, int64_t count, double value)
{
    const auto p = fixture::points(tag, count, [value](int64_t) { return value; }, first);
    return QVector<nnlab::MetricPoint>(p.begin(), p.end());
}

nnlab::MonitorAlert makeAlert(const std::string& metric, int64_t step, const std::string& action)
{
    nnlab::MonitorAlert a;
    a.rule = metric + " above";
    a.metric = metric;
    a.step = step;
    a.value = 2.5;
    a.threshold = 2.0;
    a.action = action;
    a.message = metric + " 2.5 > 2 at step " + std::to_string(step);
    return a;
}

AlertMarkers* markers(ChartsPanel& p, int chart) { return p.chart(chart)->alertMarkers(); }

} // namespace

class TestChartsAlerts : public QObject {
    Q_OBJECT
private slots:
    void init()
    {
        m_panel = std::make_unique<ChartsPanel>();
        m_dock = std::make_unique<AlertsDock>(m_panel.get());
        m_panel->resize(1100, 800);
        m_panel->show();
        m_dock->resize(700, 300);
        m_dock->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_panel.get()));
        QVERIFY(QTest::qWaitForWindowExposed(m_dock.get()));
    }
    void cleanup()
    {
        m_dock.reset();
        m_panel.reset();
    }

    void liveAlertAddsARowAndAMarker()
    {
        ChartsPanel& p = *m_panel;
        const QString id = QStringLiteral("live-1");
        p.beginLiveRun(id, QStringLiteral("Live run"), 50);
        p.appendMetrics(id, batch("train/loss", 0, 100, 1.0) + batch("lr", 0, 100, 0.001));
        p.replotNow();
        QCOMPARE(m_dock->rowCount(), 0);
        QCOMPARE(markers(p, ChartsPanel::LossChart)->lineCount(), 0);

        QSignalSpy changed(&p, &ChartsPanel::alertsChanged);
        p.addAlert(id, makeAlert("train/loss", 40, "stop"), 1.7e9 + 0.4);
        QCOMPARE(m_dock->rowCount(), 0);   // drawn with the next coalesced redraw
        QTRY_COMPARE(m_dock->rowCount(), 1);
        QCOMPARE(changed.count(), 1);
        QTableWidget* t = m_dock->table();
        QCOMPARE(t->item(0, AlertsDock::RunColumn)->text(), QStringLiteral("Live run"));
        QCOMPARE(t->item(0, AlertsDock::RuleColumn)->text(), QStringLiteral("train/loss above"));
        QCOMPARE(t->item(0, AlertsDock::StepColumn)->text(), QStringLiteral("40"));
        QCOMPARE(t->item(0, AlertsDock::ValueColumn)->text(), QStringLiteral("2.5"));
        QCOMPARE(t->item(0, AlertsDock::ThresholdColumn)->text(), QStringLiteral("2"));
        QCOMPARE(t->item(0, AlertsDock::ActionColumn)->text(), QStringLiteral("stop"));
        QVERIFY(t->item(0, AlertsDock::RuleColumn)->toolTip().contains(QStringLiteral("train/loss 2.5 > 2 at step 40")));

        // A flag on the loss chart, a line on every chart, at step 40.
        QCOMPARE(markers(p, ChartsPanel::LossChart)->keys(true), std::vector<double>{40.0});
        QCOMPARE(markers(p, ChartsPanel::AccuracyChart)->flagCount(), 0);
        QCOMPARE(markers(p, ChartsPanel::AccuracyChart)->keys(), std::vector<double>{40.0});
        QCOMPARE(markers(p, ChartsPanel::LearningRateChart)->lineCount(), 1);

        // Hovering the marker away from the curve reads the alert.
        charts::MetricChart* loss = p.chart(ChartsPanel::LossChart);
        const QPointF atMarker(loss->xAxis->coordToPixel(40) + 2, loss->axisRect()->top() + 12);
        QVERIFY(loss->hoverAt(atMarker));
        QVERIFY2(loss->hoverText().contains(QStringLiteral("train/loss 2.5 > 2 at step 40")), qPrintable(loss->hoverText()));
        QVERIFY2(loss->hoverText().contains(QStringLiteral("stop")), qPrintable(loss->hoverText()));

        // A metric no chart draws flags the loss chart; lr's flags its own chart. Newest first.
        p.addAlert(id, makeAlert("grad_norm", 60, "annotate"), 1.7e9 + 0.6);
        p.addAlert(id, makeAlert("lr", 80, "annotate"), 1.7e9 + 0.8);
        p.replotNow();
        QCOMPARE(m_dock->rowCount(), 3);
        QCOMPARE(m_dock->stepAt(0), qint64(80));
        QCOMPARE(m_dock->stepAt(2), qint64(40));
        QCOMPARE(markers(p, ChartsPanel::LossChart)->keys(true), (std::vector<double>{40.0, 60.0}));
        QCOMPARE(markers(p, ChartsPanel::LearningRateChart)->keys(true), std::vector<double>{80.0});
        QCOMPARE(markers(p, ChartsPanel::AccuracyChart)->lineCount(), 3);

        // The epoch axis moves the markers with the curves.
        p.setXAxisMode(charts::XAxisMode::Epoch);
        p.replotNow();
        QCOMPARE(markers(p, ChartsPanel::LossChart)->keys(true), (std::vector<double>{0.8, 1.2}));
    }

    void doubleClickCentresTheChartsOnTheStep()
    {
        ChartsPanel& p = *m_panel;
        const QString id = QStringLiteral("live-2");
        p.beginLiveRun(id, QStringLiteral("Long run"), 0);
        p.appendMetrics(id, batch("train/loss", 0, 2000, 1.0));
        p.addAlert(id, makeAlert("train/loss", 300, "annotate"), 1.7e9 + 3);
        p.replotNow();
        charts::MetricChart* loss = p.chart(ChartsPanel::LossChart);
        loss->xAxis->setRange(1500, 1700);   // zoomed in elsewhere
        QCOMPARE(m_dock->rowCount(), 1);
        QTableWidget* t = m_dock->table();
        const QRect cell = t->visualItemRect(t->item(0, AlertsDock::RuleColumn));
        // An item view acts on a double-click at the index its press was on.
        QTest::mousePress(t->viewport(), Qt::LeftButton, {}, cell.center());
        QTest::mouseDClick(t->viewport(), Qt::LeftButton, {}, cell.center());
        QVERIFY(!p.follow());
        QCOMPARE(loss->xAxis->range().center(), 300.0);
        QCOMPARE(loss->xAxis->range().size(), 200.0);
        p.replotNow();
        QCOMPARE(loss->xAxis->range().center(), 300.0);   // the redraw keeps it there
    }

    void storedRunBringsItsAlerts()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath(QStringLiteral("runs.db"));
        fixture::RunSpec spec;
        spec.name = "stored";
        spec.stepsPerEpoch = 100;
        const QString id = fixture::recordRun(db, spec, [](nnlab::RunRecorder& r) {
            r.addMetrics(fixture::points("train/loss", 300, [](int64_t s) { return 1.0 / (1 + s); }));
            r.addEvent(nnlab::EventKind::Alert, nnlab::alertToDetail(makeAlert("train/loss", 120, "rollback x0.5 (1 of 3)")));
            r.addEvent(nnlab::EventKind::Epoch, "1");
            r.addEvent(nnlab::EventKind::Alert, nnlab::alertToDetail(makeAlert("val/accuracy", 250, "annotate")));
        });
        QVERIFY(!id.isEmpty());
        ChartsPanel& p = *m_panel;
        p.setStorePath(db);
        p.setOverlaidRuns({id});
        p.replotNow();
        QCOMPARE(p.run(id)->alerts.size(), size_t(2));
        QCOMPARE(m_dock->rowCount(), 2);
        QCOMPARE(m_dock->stepAt(0), qint64(250));
        QCOMPARE(m_dock->table()->item(1, AlertsDock::ActionColumn)->text(), QStringLiteral("rollback x0.5 (1 of 3)"));
        QCOMPARE(m_dock->table()->item(1, AlertsDock::RunColumn)->text(), QStringLiteral("stored"));
        QCOMPARE(markers(p, ChartsPanel::LossChart)->keys(true), std::vector<double>{120.0});
        QCOMPARE(markers(p, ChartsPanel::AccuracyChart)->keys(true), std::vector<double>{250.0});

        p.setOverlaidRuns({});
        p.replotNow();
        QCOMPARE(m_dock->rowCount(), 0);
        QCOMPARE(markers(p, ChartsPanel::LossChart)->lineCount(), 0);
    }

    void notifierFallsBackToTheStatusBar()
    {
        QMainWindow window;
        AlertNotifier notifier(&window, window.statusBar());
        nnlab::MonitorSpec rule;
        rule.name = "watch";
        rule.actions = {nnlab::MonitorAction::Annotate, nnlab::MonitorAction::Notify};
        nnlab::MonitorAlert alert = makeAlert("train/loss", 10, "annotate");
        alert.rule = "watch";
        QVERIFY(AlertNotifier::wantsNotification(alert, {rule}));
        QVERIFY(!AlertNotifier::wantsNotification(alert, nnlab::defaultMonitors()));
        QVERIFY(!AlertNotifier::changedTheRun(alert));

        // Annotate only: nothing to say.
        notifier.handle(QStringLiteral("run"), alert, false);
        QVERIFY(window.statusBar()->currentMessage().isEmpty());
        // Offscreen there is no system tray: the status bar carries the notification.
        notifier.handle(QStringLiteral("run"), alert, true);
        QVERIFY(!notifier.usedTray());
        QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("Alert: run · watch at step 10 → annotate"));
        QVERIFY2(notifier.lastNotification().contains(QStringLiteral("train/loss 2.5 > 2 at step 10")),
                 qPrintable(notifier.lastNotification()));
        // A rule that stopped the run says so without a notification.
        window.statusBar()->clearMessage();
        const nnlab::MonitorAlert stop = makeAlert("train/loss", 20, "stop");
        QVERIFY(AlertNotifier::changedTheRun(stop));
        notifier.handle(QStringLiteral("run"), stop, false);
        QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("→ stop")));
    }

private:
    std::unique_ptr<ChartsPanel> m_panel;
    std::unique_ptr<AlertsDock> m_dock;
};

QTEST_MAIN(TestChartsAlerts)
#include "test_charts_alerts.moc"
