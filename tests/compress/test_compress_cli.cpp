// `nnlab-cli compress` and `compare` as a user runs them: bad input is exit status 2 with a
// message naming the problem, and one small run (1,500 Fashion-MNIST images, one epoch) is
// quantized and structurally pruned with a fine-tuning epoch, then compared.
#include "../cli/cli_test_util.h"

#include "nnlab/run_recorder.h"
#include "nnlab/spec_json.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace nnlab;
using namespace nnlab::test;

class TestCompressCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db");
        const Result r = cli({"train", kExamples + "fashion-cnn.json", "--set", "data.train_limit=1500", "--set",
                              "schedule.warmup_steps=5", "--set", "training.epochs=1", "--set", "training.threads=1"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        m_run = r.out.section('\n', 0, 0).section(' ', 1, 1).trimmed();
        QVERIFY2(m_run.startsWith("20"), qPrintable(r.out.left(200)));

        // A run that never wrote a checkpoint.
        const ParseResult parsed = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
        QVERIFY(parsed.ok());
        auto recorder = RunRecorder::open(m_db.toStdString());
        QVERIFY(recorder.ok());
        m_noCheckpoint = QString::fromStdString(recorder.value->begin(parsed.spec, experimentToJson(parsed.spec)).value);
        TrainResult failed;
        failed.message = "stopped before any checkpoint";
        QVERIFY(recorder.value->finish(failed).ok());
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("no run") << QStringList{"compress", "--prune", "0.5"} << "expected one RUN";
        QTest::newRow("no method") << QStringList{"compress", "RUN"} << "--prune S or --quantize int8";
        QTest::newRow("both methods") << QStringList{"compress", "RUN", "--prune", "0.5", "--quantize", "int8"}
                                      << "--prune S or --quantize int8";
        QTest::newRow("sparsity 1") << QStringList{"compress", "RUN", "--prune", "1"} << "--prune: a sparsity must be in [0, 1), got 1";
        QTest::newRow("sparsity -0.1") << QStringList{"compress", "RUN", "--prune", "-0.1"} << "[0, 1)";
        QTest::newRow("sparsity text") << QStringList{"compress", "RUN", "--prune", "half"} << "--prune: 'half' is not a number";
        QTest::newRow("unknown flag") << QStringList{"compress", "RUN", "--prune", "0.5", "--fast"} << "--fast";
        QTest::newRow("int4") << QStringList{"compress", "RUN", "--quantize", "int4"} << "--quantize: 'int4'";
        QTest::newRow("engine") << QStringList{"compress", "RUN", "--quantize", "int8", "--engine", "tpu"} << "--engine: 'tpu'";
        QTest::newRow("norm") << QStringList{"compress", "RUN", "--prune", "0.5", "--norm", "l3"} << "--norm: 'l3'";
        QTest::newRow("schedule") << QStringList{"compress", "RUN", "--prune", "0.5", "--schedule", "linear"} << "--schedule: 'linear'";
        QTest::newRow("agp without epochs") << QStringList{"compress", "RUN", "--prune", "0.5", "--schedule", "agp"} << "--finetune-epochs >= 1";
        QTest::newRow("epochs not whole") << QStringList{"compress", "RUN", "--prune", "0.5", "--finetune-epochs", "1.5"}
                                          << "--finetune-epochs: '1.5' is not a whole number";
        QTest::newRow("calls") << QStringList{"compress", "RUN", "--quantize", "int8", "--latency-calls", "3"} << "--latency-calls: must be >= 10";
        QTest::newRow("calibrate 0") << QStringList{"compress", "RUN", "--quantize", "int8", "--calibrate", "0"} << "--calibrate";
        QTest::newRow("mixed options") << QStringList{"compress", "RUN", "--prune", "0.5", "--per-channel"} << "need --quantize int8";
        QTest::newRow("no checkpoint") << QStringList{"compress", "NOCKPT", "--quantize", "int8"} << "has no checkpoint";
        QTest::newRow("unknown run") << QStringList{"compress", "19990101-nosuchrun", "--quantize", "int8"} << "19990101-nosuchrun";
        QTest::newRow("compare format") << QStringList{"compare", "RUN", "--format", "xml"} << "--format: 'xml'";
        QTest::newRow("compare cost") << QStringList{"compare", "RUN", "--cost", "flops"} << "--cost: 'flops'";
        QTest::newRow("compare nothing") << QStringList{"compare"} << "expected one or more RUNs";
        QTest::newRow("compare unknown") << QStringList{"compare", "19990101-nosuchrun"} << "19990101-nosuchrun";
    }

    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        args.replaceInStrings(QRegularExpression("^RUN$"), m_run);
        args.replaceInStrings(QRegularExpression("^NOCKPT$"), m_noCheckpoint);
        const Result r = cli(args, m_db);
        QVERIFY2(r.status == 2, qPrintable(QString("status %1: %2").arg(r.status).arg(r.err)));
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
    }

    void quantizesPrunesAndCompares()
    {
        Result q = cli({"compress", m_run, "--quantize", "int8", "--calibrate", "200", "--latency-calls", "10",
                        "--name", "tiny int8"}, m_db);
        QVERIFY2(q.status == 0, qPrintable(q.err + q.out));
        Result p = cli({"compress", m_run, "--prune", "0.5", "--structured", "--finetune-epochs", "1", "--latency-calls",
                        "10", "--name", "tiny pruned"}, m_db);
        QVERIFY2(p.status == 0, qPrintable(p.err + p.out));

        const QStringList children{q.out.section('\n', 0, 0).section(' ', 1, 1).trimmed(),
                                   p.out.section('\n', 0, 0).section(' ', 1, 1).trimmed()};
        QVERIFY2(children[0].startsWith("20") && children[1].startsWith("20"), qPrintable(q.out + p.out));

        const Result csv = cli(QStringList{"compare", m_run} + children + QStringList{"--format", "csv"}, m_db);
        QVERIFY2(csv.status == 0, qPrintable(csv.err));
        const QStringList lines = csv.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 4);
        const QStringList header = lines[0].split(',');
        auto field = [&](int line, const QString& name) { return lines[line].split(',').value(header.indexOf(name)); };
        QCOMPARE(field(1, "method"), QString(""));
        QCOMPARE(field(1, "run"), m_run);
        const int quantized = field(2, "method") == "int8-static" ? 2 : 3;
        const int pruned = 5 - quantized;
        QCOMPARE(field(quantized, "method"), QString("int8-static"));
        QCOMPARE(field(pruned, "method"), QString("prune-structured"));
        for (int line : {quantized, pruned}) {
            QCOMPARE(field(line, "parent"), m_run);
            QVERIFY2(field(line, "file_bytes").toLongLong() < field(1, "file_bytes").toLongLong(), qPrintable(lines[line]));
            QVERIFY2(field(line, "test_accuracy").toDouble() > 0.4, qPrintable(csv.out));   // 10 classes: 0.1 by chance
            QVERIFY(field(line, "latency_b64_ms").toDouble() > 0);
        }
        // int8 stays close to float on the same test set.
        QVERIFY2(std::abs(field(quantized, "test_accuracy").toDouble() - field(1, "test_accuracy").toDouble()) < 0.05,
                 qPrintable(csv.out));
        // int8 weights: about a quarter of the float file; pruning half the filters: fewer parameters.
        QVERIFY(field(quantized, "file_bytes").toLongLong() * 3 < field(1, "file_bytes").toLongLong());
        QVERIFY(field(pruned, "parameters").toLongLong() < field(1, "parameters").toLongLong());

        const Result table = cli(QStringList{"compare", m_run} + children, m_db);
        QCOMPARE(table.status, 0);
        QVERIFY(table.out.contains("int8-static"));
        QVERIFY(table.out.contains("*"));   // some run is on the frontier
    }

private:
    QTemporaryDir m_dir;
    QString m_db;
    QString m_run;
    QString m_noCheckpoint;
};

QTEST_APPLESS_MAIN(TestCompressCli)
#include "test_compress_cli.moc"
