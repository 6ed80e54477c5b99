// `nnlab-cli sweep` on the local queue: --set lists as a grid, the ranked table, tagged runs,
// the hidden sweep-trial drawing the same trial, and usage errors.
#include "cli_test_util.h"

#include "nnlab/store.h"
#include "nnlab/sweep.h"

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest/QtTest>

using namespace nnlab;
using nnlab::test::cli;
using nnlab::test::kExamples;

class TestCliSweep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gridFromSetRunsRankedAndTagged()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const auto r = cli({"sweep", kExamples + "spiral-mlp.json", "--set", "optimizer.lr=0.003,0.03", "--set",
                            "training.epochs=1", "--quiet"},
                           db);
        QVERIFY2(r.status == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains("rank trial  values"), qPrintable(r.out));
        QVERIFY2(r.out.contains("lr=0.003") && r.out.contains("lr=0.03"), qPrintable(r.out));
        const auto id = QRegularExpression("carry the tag sweep:(\\S+)").match(r.out);
        QVERIFY2(id.hasMatch(), qPrintable(r.out));
        auto store = RunStore::open(db.toStdString());
        QVERIFY(store.ok());
        const auto runs = store.value->listRuns();
        QCOMPARE(runs.value.size(), size_t(2));
        for (const auto& run : runs.value) {
            QCOMPARE(run.tags, (std::vector<std::string>{sweepTag(id.captured(1).toStdString())}));
            QVERIFY2(QString::fromStdString(run.name).startsWith("spiral-mlp #"), run.name.c_str());
        }
    }

    void listAndSweepTrialAgree()
    {
        const QString file = kExamples + "spiral-sweep.json";
        const auto list = cli({"sweep", file, "--list"});
        QVERIFY2(list.status == 0, qPrintable(list.err));
        const QStringList lines = list.out.split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 12);
        const QString third = lines[2].section("  ", 1).trimmed();
        QTemporaryDir dir;
        const auto ok = cli({"sweep-trial", file, "--index", "2", "--db", dir.filePath("t.db")});
        QVERIFY2(ok.status == 0, qPrintable(ok.out + ok.err));
        QVERIFY2(ok.out.contains("trial 3 " + third), qPrintable(ok.out + " / " + third));
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("words");
        QTest::newRow("no sweep") << QStringList{"sweep", kExamples + "spiral-mlp.json"} << "has no sweep section";
        QTest::newRow("bad pruner") << QStringList{"sweep", kExamples + "spiral-sweep.json", "--pruner", "fast"}
                                    << "--pruner takes none, asha or median";
        QTest::newRow("bad path") << QStringList{"sweep", kExamples + "spiral-mlp.json", "--set", "optimizer.rate=1,2"}
                                  << "sweep.parameters[0].values[0]: optimizer.rate=1: optimizer.rate: unknown key";
        QTest::newRow("trials zero") << QStringList{"sweep", kExamples + "spiral-sweep.json", "--trials", "0"}
                                     << "sweep.trials: must be >= 1, got 0";
        QTest::newRow("trial out of range") << QStringList{"sweep-trial", kExamples + "spiral-sweep.json", "--index", "12",
                                                           "--no-store"}
                                            << "no trial 12: the sweep has 12";
    }

    void usageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, words);
        const auto r = cli(args);
        QVERIFY(r.status != 0);
        QVERIFY2((r.out + r.err).contains(words), qPrintable(r.out + r.err));
    }
};

QTEST_APPLESS_MAIN(TestCliSweep)
#include "test_cli_sweep.moc"
