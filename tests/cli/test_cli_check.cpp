// `nnlab-cli check` as a user runs it: every shipped example passes the pre-flight, and the
// classic mistakes fail the right check with a message that names the setting to change.
#include "cli_test_util.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace nnlab::test;

namespace {

QString outputOf(const Result& r) { return r.out + r.err; }

// The summary line's seconds: "7 passed, 0 warnings, 0 failed, 0 skipped in 1.3 s".
double secondsOf(const Result& r)
{
    const auto match = QRegularExpression(R"(skipped in ([0-9.]+) s)").match(r.out);
    return match.hasMatch() ? match.captured(1).toDouble() : -1.0;
}

} // namespace

class TestCliCheck : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void help()
    {
        const Result r = cli({"check", "--help"});
        QCOMPARE(r.status, 0);
        QVERIFY(r.out.contains("Usage: nnlab-cli check"));
        QVERIFY(cli({"--help"}).out.contains("check [EXPERIMENT.json]"));
    }

    void shippedExamplesPass_data()
    {
        QTest::addColumn<QString>("file");
        for (const QString& name : QDir(kExamples).entryList({"*.json"}, QDir::Files, QDir::Name))
            QTest::newRow(qPrintable(name)) << kExamples + name;
    }
    void shippedExamplesPass()
    {
        QFETCH(QString, file);
        const Result r = cli({"check", file, "--quiet"});
        if (r.status == 2 && r.err.contains("data.path"))
            QSKIP(qPrintable("its data set is not installed here: " + r.err.trimmed()));
        QVERIFY2(r.status == 0, qPrintable(outputOf(r)));
        QVERIFY(r.out.contains("PASS  Overfits one batch"));
        QVERIFY(!r.out.contains("FAIL"));
    }

    // The default experiment (the Fashion-MNIST CNN) checks in well under 30 s.
    void defaultExperimentIsQuick()
    {
        const Result r = cli({"check", "--quiet"});
        QVERIFY2(r.status == 0, qPrintable(outputOf(r)));
        const double seconds = secondsOf(r);
        qInfo("pre-flight of the default experiment: %.1f s", seconds);
        QVERIFY(seconds >= 0 && seconds < 30);
        QVERIFY(r.out.contains("What enters the network, per channel"));
        QVERIFY(r.out.contains("T-shirt/top") || r.out.contains("Trouser") || r.out.contains("Sneaker"));
    }

    void brokenExperimentsFail_data()
    {
        QTest::addColumn<QString>("example");
        QTest::addColumn<QStringList>("overrides");
        QTest::addColumn<QString>("failure");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("final relu") << "fashion-cnn.json+relu" << QStringList{} << "FAIL  Last layer before the loss"
                                    << "model.layers[7] (relu)";
        QTest::newRow("unnormalised input") << "fashion-cnn.json" << QStringList{"data.normalize=none"}
                                            << "FAIL  Input normalised" << "set data.normalize to auto";
        QTest::newRow("learning rate 10, cnn") << "fashion-cnn.json" << QStringList{"optimizer.lr=10"}
                                               << "FAIL  Beats a zero-input baseline" << "optimizer.lr = 10 is probably too high";
        QTest::newRow("learning rate 10, mlp") << "spiral-mlp.json" << QStringList{"optimizer.lr=10"}
                                               << "FAIL  Overfits one batch" << "optimizer.lr (10)";
    }
    void brokenExperimentsFail()
    {
        QFETCH(QString, example);
        QFETCH(QStringList, overrides);
        QFETCH(QString, failure);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        QString file = kExamples + example;
        if (example.endsWith("+relu")) {   // the example with a ReLU after its last linear layer
            QFile in(kExamples + example.chopped(5));
            QVERIFY(in.open(QIODevice::ReadOnly));
            QJsonObject spec = QJsonDocument::fromJson(in.readAll()).object();
            QJsonObject model = spec["model"].toObject();
            QJsonArray layers = model["layers"].toArray();
            layers.append(QJsonObject{{"type", "relu"}});
            model["layers"] = layers;
            spec["model"] = model;
            file = dir.filePath("final-relu.json");
            QFile out(file);
            QVERIFY(out.open(QIODevice::WriteOnly));
            out.write(QJsonDocument(spec).toJson());
        }
        QStringList args{"check", file, "--quiet"};
        for (const QString& o : overrides)
            args << "--set" << o;
        const Result r = cli(args);
        QVERIFY2(r.status == 1, qPrintable(outputOf(r)));
        const QStringList lines = r.out.split('\n');
        const auto line = std::find_if(lines.begin(), lines.end(), [&](const QString& l) { return l.startsWith(failure); });
        QVERIFY2(line != lines.end(), qPrintable(r.out));
        QVERIFY2(line->contains(mentions), qPrintable(*line));
    }

    void badExperimentIsAUsageError()
    {
        const Result r = cli({"check", kExamples + "spiral-mlp.json", "--set", "optimizer.lr=-1"});
        QCOMPARE(r.status, 2);
        QVERIFY(r.err.contains("optimizer.lr"));
        QCOMPARE(cli({"check", "missing.json"}).status, 2);
    }
};

QTEST_GUILESS_MAIN(TestCliCheck)
#include "test_cli_check.moc"
