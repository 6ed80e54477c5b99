// nnlab-cli as a user runs it: exit statuses, messages on stderr, the per-layer table, and
// a real training run recorded in a store.
#include "cli_test_util.h"

#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace nnlab::test;

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void helpEverywhere()
    {
        for (const QStringList& args : {QStringList{"--help"}, QStringList{"train", "--help"}, QStringList{"validate", "--help"},
                                        QStringList{"runs", "--help"}}) {
            const Result r = cli(args);
            QCOMPARE(r.status, 0);
            QVERIFY2(r.out.contains("Usage"), qPrintable(args.join(' ')));
        }
    }

    void usageErrors()
    {
        QCOMPARE(cli({}).status, 2);
        QCOMPARE(cli({"fly"}).status, 2);
        const Result r = cli({"train", "--bogus"});
        QCOMPARE(r.status, 2);
        QVERIFY(r.err.contains("unknown option --bogus"));
    }

    void validatePrintsTheLayerTable()
    {
        const Result r = cli({"validate", kExamples + "fashion-cnn.json"});
        QCOMPARE(r.status, 0);
        QVERIFY(r.out.contains("3.body.0"));
        QVERIFY(r.out.contains("[16, 14, 14]"));
        QVERIFY(r.out.contains("10362"));   // total parameters
    }

    void validateListsEveryProblem()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath("bad.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"model": {"input": [1, 28, 28], "layers": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 0},
            {"type": "linear", "out_features": 10}]}, "training": {"epochs": 0}})");
        f.close();
        const Result r = cli({"validate", f.fileName()});
        QCOMPARE(r.status, 2);
        QVERIFY(r.err.contains("model.layers[0].kernel_size: must be >= 1, got 0"));
        QVERIFY(r.err.contains("training.epochs: must be >= 1, got 0"));
        QVERIFY(r.out.isEmpty());
        const Result missing = cli({"train", dir.filePath("none.json")});
        QCOMPARE(missing.status, 2);
        QVERIFY(missing.err.contains("none.json"));
    }

    void trainRecordsTheRun()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const Result r = cli({"train", kExamples + "spiral-mlp.json", "--epochs", "5", "--set", "data.samples=500", "--quiet"}, db);
        QCOMPARE(r.status, 0);
        const QRegularExpression id("^run (\\S+)$", QRegularExpression::MultilineOption);
        const auto match = id.match(r.out);
        QVERIFY2(match.hasMatch(), qPrintable(r.out));
        QVERIFY(r.out.contains("val/accuracy"));
        QVERIFY(QFile::exists(db));
        QVERIFY(QFile::exists(dir.filePath("checkpoints/" + match.captured(1) + ".pt")));
        const Result list = cli({"runs", "list"}, db);
        QCOMPARE(list.status, 0);
        QVERIFY2(list.out.contains(match.captured(1).left(8)), qPrintable(list.out));
        QVERIFY(list.out.contains("finished"));
    }

    void killedRunIsInterruptedAndResumes()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QProcess p;
        const QString runId = startRecordedRun(p, db, {kExamples + "spiral-mlp.json", "--epochs", "400", "--quiet"});
        QVERIFY(!runId.isEmpty());
        QTest::qSleep(2500);   // several epochs: checkpoints and metric flushes exist
        QVERIFY(p.state() == QProcess::Running);
        p.kill();   // SIGKILL: no chance to clean up
        QVERIFY(p.waitForFinished());

        const Result list = cli({"runs", "list", "--status", "interrupted"}, db);
        QCOMPARE(list.status, 0);
        QVERIFY2(list.out.contains(runId.left(12)), qPrintable(list.out));
        const Result resumed = cli({"runs", "resume", runId}, db);
        QVERIFY2(resumed.status == 0, qPrintable(resumed.err));
        QVERIFY(resumed.out.contains("finished 22800 steps"));   // 400 epochs x 57 steps, counted across both parts
        const Result show = cli({"runs", "show", runId}, db);
        QVERIFY(show.out.contains("finished"));
        const Result exported = cli({"runs", "export", runId, "--format", "json"}, db);
        QVERIFY(exported.out.contains("\"resumed\""));
    }

    void noStoreLeavesNoDatabase()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const Result r = cli({"train", kExamples + "spiral-mlp.json", "--epochs", "1", "--no-store", "--quiet"}, db);
        QCOMPARE(r.status, 0);
        QVERIFY(!QFile::exists(db));
    }

    void badStoreIsReportedNotCorrupted()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QFile f(db);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not a database, and stays as it is\n");
        f.close();
        const Result r = cli({"train", kExamples + "spiral-mlp.json", "--epochs", "1", "--quiet"}, db);
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains(db), qPrintable(r.err));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("this is not a database, and stays as it is\n"));
    }

    // A CSV experiment as a new user writes it: the data beside the file, named relative to
    // it, and a model that takes its input width and class count from the data. It validates
    // (with shapes) and trains from any working directory.
    void csvExperimentBesideItsDataFromAnyFolder()
    {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath("data"));
        QFile csv(dir.filePath("data/flowers.csv"));
        QVERIFY(csv.open(QIODevice::WriteOnly));
        csv.write("# flowers, measured in 2024\na,b,c,d,kind\n");
        for (int i = 0; i < 90; ++i) {
            const int k = i % 3;
            csv.write(QString("%1,%2,%3,%4,%5\n").arg(k + (i % 7) * 0.05).arg(-k).arg(i % 5).arg(k * 2)
                          .arg(QStringList{"iris", "rose", "tulip"}[k]).toUtf8());
        }
        csv.close();
        QFile exp(dir.filePath("flowers.json"));
        QVERIFY(exp.open(QIODevice::WriteOnly));
        // (No raw string: Qt 6.4's moc loses the class after one holding "#" across lines.)
        exp.write("{\"name\": \"flowers\", \"data\": {\"source\": \"csv\", \"path\": \"data/flowers.csv\", "
                  "\"comment\": \"#\"}, \"model\": {\"layers\": [{\"type\": \"linear\", \"out_features\": 8}, "
                  "{\"type\": \"relu\"}, {\"type\": \"linear\"}]}, \"training\": {\"epochs\": 2, \"batch_size\": 16}}");
        exp.close();

        const auto run = [](const QString& cwd, const QStringList& args) {
            QProcess p;
            p.setWorkingDirectory(cwd);
            p.start(NNLAB_CLI, args);
            p.waitForFinished(300000);
            return Result{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                          QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
        };
        for (const QString& cwd : {QStringLiteral("/"), dir.path()}) {
            const Result v = run(cwd, {"validate", exp.fileName()});
            QVERIFY2(v.status == 0, qPrintable(v.err));
            QVERIFY2(v.out.contains("shapes from the data"), qPrintable(v.out));
            QVERIFY2(v.out.contains(QRegularExpression("\\b0 +linear +\\[8\\] +40\\b")), qPrintable(v.out));
            QVERIFY2(v.out.contains(QRegularExpression("\\b2 +linear +\\[3\\] +27\\b")), qPrintable(v.out));
            const Result t = run(cwd, {"train", exp.fileName(), "--no-store", "--quiet"});
            QVERIFY2(t.status == 0, qPrintable(t.err));
        }

        // Without the comment setting the error names the file, the line and both settings.
        const Result bad = run(QStringLiteral("/"), {"train", exp.fileName(), "--no-store", "--quiet",
                                                    "--set", "data.comment=\"\""});
        QCOMPARE(bad.status, 1);
        QVERIFY2(bad.err.contains("flowers.csv:2: expected 2 columns as on line 1, got 5"), qPrintable(bad.err));
        QVERIFY2(bad.err.contains("data.skip_rows") && bad.err.contains("data.comment"), qPrintable(bad.err));
    }

    // `runs --help` is made from the table of sub-commands: every one is listed and has its help.
    void runsHelpListsEverySubcommand()
    {
        const Result overview = cli({"runs", "--help"});
        QCOMPARE(overview.status, 0);
        const QStringList subcommands{"list", "show", "export", "diff", "delete", "resume", "import"};
        for (const QString& sub : subcommands) {
            QVERIFY2(overview.out.contains(QRegularExpression("\\n  " + sub + "\\b")), qPrintable(sub));
            const Result help = cli({"runs", sub, "--help"});
            QCOMPARE(help.status, 0);
            QVERIFY2(help.out.startsWith("Usage: nnlab-cli runs " + sub), qPrintable(help.out));
        }
    }

    void unknownRunsSubcommandNamesTheValidOnes()
    {
        const Result r = cli({"runs", "frob"});
        QCOMPARE(r.status, 2);
        QVERIFY2(r.err.contains("unknown command 'frob'"), qPrintable(r.err));
        QVERIFY2(r.err.contains("list, show, export, diff, delete, resume, import"), qPrintable(r.err));
    }

    // An explicit --db beats $NNLAB_DB.
    void dbFlagBeatsTheEnvironment()
    {
        QTemporaryDir dir;
        const Result r = cli({"runs", "list", "--db", dir.filePath("flag.db")}, dir.filePath("env.db"));
        QCOMPARE(r.status, 0);
        QVERIFY2(r.out.contains("flag.db does not exist"), qPrintable(r.out));
    }

    // `runs delete` removes the run's latest and best checkpoints; another run's stay.
    void runsDeleteRemovesCheckpoints()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QStringList ids;
        for (int i = 0; i < 2; ++i) {
            const Result r = cli({"train", kExamples + "spiral-mlp.json", "--epochs", "2", "--set", "data.samples=300",
                                  "--quiet"}, db);
            QVERIFY2(r.status == 0, qPrintable(r.err));
            ids << r.out.section('\n', 0, 0).section(' ', 1, 1).trimmed();
        }
        const QString gone = dir.filePath("checkpoints/" + ids[0]);
        const QString kept = dir.filePath("checkpoints/" + ids[1]);
        QVERIFY(QFile::exists(gone + ".pt") && QFile::exists(kept + ".pt"));
        const Result r = cli({"runs", "delete", ids[0]}, db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("checkpoint file"), qPrintable(r.out));
        QVERIFY(!QFile::exists(gone + ".pt"));
        QVERIFY(!QFile::exists(gone + ".best.pt"));
        QVERIFY(QFile::exists(kept + ".pt"));
        QCOMPARE(cli({"runs", "show", ids[0]}, db).status, 1);
    }
};

QTEST_APPLESS_MAIN(TestCli)
#include "test_cli.moc"
