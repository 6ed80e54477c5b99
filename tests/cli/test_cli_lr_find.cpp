// `nnlab-cli lr-find`: the table, the suggestions and the hint on the spiral example, no
// run recorded, and usage errors for bad options.
#include "cli_test_util.h"

#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace nnlab::test;

class TestCliLrFind : public QObject {
    Q_OBJECT
private slots:
    void help()
    {
        const Result r = cli({"lr-find", "--help"});
        QCOMPARE(r.status, 0);
        QVERIFY(r.out.contains("--start-lr"));
        QVERIFY(cli({"--help"}).out.contains("lr-find"));
    }

    void printsTheTableAndSuggestions()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const Result r = cli({"lr-find", kExamples + "spiral-mlp.json", "--steps", "300", "--start-lr", "1e-5",
                              "--set", "training.deterministic=true", "--rows", "10"},
                             db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("spiral-mlp: spiral"), qPrintable(r.err));   // the header line above the bar
        const QStringList lines = r.out.split('\n');
        QCOMPARE(lines.first().simplified(), QString("lr loss smoothed"));
        const QRegularExpression row(R"(^\s+\d\.\d{3}e[-+]\d\d\s+\d+\.\d{4}\s+\d+\.\d{4}$)");
        int rows = 0;
        for (const QString& line : lines)
            rows += row.match(line).hasMatch() ? 1 : 0;
        QVERIFY2(rows >= 5 && rows <= 10, qPrintable(r.out));
        QVERIFY(lines[1].trimmed().startsWith("1.000e-05"));   // the first row is the start
        for (const char* label : {"steepest", "minimum/10", "one-cycle max"})
            QVERIFY2(r.out.contains(QRegularExpression(QString(R"(\n  %1\s+\d\.\d{3}e[-+]\d\d)").arg(label))),
                     qPrintable(r.out));
        const QRegularExpression hint(R"(hint: --set optimizer.lr=([0-9.e+-]+)\n)");
        const auto m = hint.match(r.out);
        QVERIFY2(m.hasMatch(), qPrintable(r.out));
        bool ok = false;
        const double lr = m.captured(1).toDouble(&ok);
        QVERIFY(ok && lr >= 1e-5 && lr <= 10);
        QVERIFY2(!QFileInfo::exists(db), "lr-find records nothing");
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("steps") << QStringList{"--steps", "2"} << "steps: must be 5..100000, got 2";
        QTest::newRow("not a number") << QStringList{"--end-lr", "big"} << "--end-lr: expected a number, got 'big'";
        QTest::newRow("end below start") << QStringList{"--start-lr", "1", "--end-lr", "0.5"}
                                         << "end_lr: must be > start_lr (1), got 0.5";
        QTest::newRow("unknown option") << QStringList{"--fast"} << "--fast";
    }
    void usageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const Result r = cli(QStringList{"lr-find", kExamples + "spiral-mlp.json"} + args);
        QCOMPARE(r.status, 2);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
    }
};

QTEST_APPLESS_MAIN(TestCliLrFind)
#include "test_cli_lr_find.moc"
