// The experiment's "inspect" section: defaults, round trip, and bad values named by path.
#include "nnlab/spec_json.h"

#include <QtTest>

using namespace nnlab;

namespace {
const char* const kBase = R"({"format": "nnlab.experiment/1", "name": "s", "data": {"source": "spiral"},
  "model": {"input": [2], "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"},
                                     {"type": "linear"}]}})";
}

class TestInspectSpec : public QObject {
    Q_OBJECT
private slots:
    void defaults()
    {
        const ParseResult r = parseExperiment(kBase);
        QVERIFY(r.ok());
        QVERIFY(r.spec.inspect == InspectSpec{});
        QCOMPARE(r.spec.inspect.layerStatsEverySteps, int64_t(100));
        QVERIFY(r.spec.inspect.confusionMatrix);
        QVERIFY(experimentToJson(r.spec).find("\"inspect\"") == std::string::npos);   // defaults stay implicit
    }

    void roundTrip()
    {
        const ParseResult r = parseExperiment(kBase, {R"(inspect={"layer_stats_every_steps": 7, "histograms_every_steps": 0,
            "boundary_every_steps": 3, "boundary_resolution": 64, "confusion_matrix": false})"});
        QVERIFY2(r.ok(), r.errorText().c_str());
        QCOMPARE(r.spec.inspect.layerStatsEverySteps, int64_t(7));
        QCOMPARE(r.spec.inspect.histogramsEverySteps, int64_t(0));
        QCOMPARE(r.spec.inspect.boundaryEverySteps, int64_t(3));
        QCOMPARE(r.spec.inspect.boundaryResolution, int64_t(64));
        QVERIFY(!r.spec.inspect.confusionMatrix);
        const ParseResult back = parseExperiment(experimentToJson(r.spec));
        QVERIFY(back.spec == r.spec);
        ExperimentSpec other = r.spec;
        other.inspect.boundaryResolution = 65;
        QVERIFY(other != r.spec);   // compared structurally
        // One key alone keeps the others' defaults.
        const ParseResult partial = parseExperiment(kBase, {"inspect.boundary_every_steps=0"});
        QVERIFY2(partial.ok(), partial.errorText().c_str());
        QCOMPARE(partial.spec.inspect.boundaryEverySteps, int64_t(0));
        QCOMPARE(partial.spec.inspect.boundaryResolution, InspectSpec{}.boundaryResolution);
    }

    void badValues_data()
    {
        QTest::addColumn<QString>("override");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("words");
        QTest::newRow("negative") << "inspect.layer_stats_every_steps=-1" << "inspect.layer_stats_every_steps" << "must be >= 0";
        QTest::newRow("fraction") << "inspect.histograms_every_steps=2.5" << "inspect.histograms_every_steps" << "must be an integer";
        QTest::newRow("resolution low") << "inspect.boundary_resolution=2" << "inspect.boundary_resolution" << "must be 8..256";
        QTest::newRow("resolution high") << "inspect.boundary_resolution=1000" << "inspect.boundary_resolution" << "got 1000";
        QTest::newRow("bool") << "inspect.confusion_matrix=\"yes\"" << "inspect.confusion_matrix" << "must be true or false";
        QTest::newRow("unknown key") << "inspect.boundary=5" << "inspect.boundary" << "unknown key";
        QTest::newRow("not an object") << "inspect=5" << "inspect" << "must be an object";
    }
    void badValues()
    {
        QFETCH(QString, override);
        QFETCH(QString, path);
        QFETCH(QString, words);
        const ParseResult r = parseExperiment(kBase, {override.toStdString()});
        QVERIFY(!r.ok());
        bool found = false;
        for (const auto& p : r.problems)
            found = found || (p.path == path.toStdString() && p.message.find(words.toStdString()) != std::string::npos);
        QVERIFY2(found, r.errorText().c_str());
    }
};

QTEST_APPLESS_MAIN(TestInspectSpec)
#include "test_inspect_spec.moc"
