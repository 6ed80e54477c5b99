// Monitor rules from the command line: each alert is a line of `nnlab-cli train`, a rule
// that stops says why, `runs show` lists the alerts, and bad rules are refused with their path.
#include "cli_test_util.h"

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace nnlab::test;

class TestCliMonitors : public QObject {
    Q_OBJECT
private slots:
    void alertLinesAndRunsShow()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        // train/loss is above 0 from its first report: one alert (it fires on crossing), and a
        // second rule that stops the run at its first val/loss (step 15: 450 samples in batches of 32).
        const Result r = cli({"train", kExamples + "spiral-mlp.json", "--quiet", "--set", "data.samples=500",
                              "--set", R"(monitors=[{"metric": "train/loss", "rule": "above", "value": 0},
                                        {"name": "stop at once", "metric": "val/loss", "rule": "above", "value": 0,
                                         "actions": ["stop"]}])"},
                             db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        const QRegularExpression line("^alert \\d\\d:\\d\\d:\\d\\d train/loss above: value [0-9.]+, threshold 0, step 10 -> annotate$",
                                      QRegularExpression::MultilineOption);
        QVERIFY2(line.match(r.err).hasMatch(), qPrintable(r.err));
        QCOMPARE(r.err.count("alert "), 2);
        QVERIFY2(r.err.contains(QRegularExpression("^alert \\S+ stop at once: value .* -> stop$", QRegularExpression::MultilineOption)),
                 qPrintable(r.err));
        QVERIFY2(r.out.contains("stopped at step 15: stop at once: val/loss"), qPrintable(r.out));

        const QString id = QRegularExpression("^run (\\S+)$", QRegularExpression::MultilineOption).match(r.out).captured(1);
        const Result show = cli({"runs", "show", id}, db);
        QCOMPARE(show.status, 0);
        QVERIFY2(show.out.contains("alert") && show.out.contains("stop at once: val/loss"), qPrintable(show.out));
    }

    void badRuleIsRefusedWithItsPath()
    {
        const Result r = cli({"validate", kExamples + "spiral-mlp.json", "--set",
                              R"(monitors=[{"rule": "not_finite"}, {"metric": "val/loss", "rule": "plateau", "patience": 0}])"});
        QCOMPARE(r.status, 2);
        QVERIFY2(r.err.contains("monitors[1].patience: must be >= 1, got 0"), qPrintable(r.err));
    }
};

QTEST_APPLESS_MAIN(TestCliMonitors)
#include "test_cli_monitors.moc"
