// The compression lab's core: the measurement (measure.h) on a small model and made-up data,
// the recording of a result and compareRuns reading it back (compress_record.h), and the
// Pareto frontier on hand-made rows. No data files, no training: seconds.
#include "builder.h"
#include "compress_record.h"
#include "measure.h"
#include "weights_io.h"

#include "nnlab/compress.h"
#include "nnlab/run_recorder.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace nnlab;
using namespace nnlab::compress;

namespace {

ExperimentSpec fashionCnn()
{
    const ParseResult parsed = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
    if (!parsed.ok())
        qFatal("fashion-cnn.json: %s", parsed.errorText().c_str());
    return parsed.spec;
}

// Labelled random images: enough to run every part of the measurement without loading data.
MeasureData madeUpData(int64_t count)
{
    MeasureData data;
    torch::manual_seed(1);
    auto set = [&](int64_t n) {
        nnlab::detail::TensorSet s;
        s.x = torch::randn({n, 1, 28, 28});
        s.y = torch::randint(0, 10, {n}, torch::kLong);
        s.count = n;
        return s;
    };
    data.train = set(count);
    data.validation = set(count / 2);
    data.test = set(count);
    return data;
}

ModelMeasurement sample(double accuracy, int64_t bytes, double b1, double b64)
{
    ModelMeasurement m;
    m.testAccuracy = accuracy;
    m.validationAccuracy = accuracy - 0.01;
    m.fileBytes = bytes;
    m.parameters = 1000;
    m.nonzeroParameters = 600;
    m.batch1 = {1, b1, b1 * 0.9, b1 * 1.2, 50};
    m.batch64 = {64, b64, b64 * 0.9, b64 * 1.1, 50};
    m.throughput = 64000.0 / b64;
    return m;
}

CompareRow row(const std::string& id, double accuracy, int64_t bytes, double b64)
{
    CompareRow r;
    r.runId = id;
    r.measurement = sample(accuracy, bytes, 0.1, b64);
    return r;
}

} // namespace

class TestCompressCore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void latencyPercentiles()
    {
        const LatencyFigure l = latencyOf({5, 1, 4, 2, 3, 10, 6, 7, 8, 9}, 64);
        QCOMPARE(l.calls, 10);
        QCOMPARE(l.batch, int64_t(64));
        QCOMPARE(l.medianMs, 5.5);
        QCOMPARE(l.p10Ms, 1.0);
        QCOMPARE(l.p90Ms, 9.0);
        const LatencyFigure odd = latencyOf({3, 1, 2}, 1);
        QCOMPARE(odd.medianMs, 2.0);
    }

    void measuresASmallModel()
    {
        QTemporaryDir dir;
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = nnlab::detail::buildModel(spec.model);
        // Zero a known number of weights, so that the non-zero count has a right answer.
        torch::NoGradGuard noGrad;
        const auto params = model->named_parameters();
        params["0.weight"].view(-1).slice(0, 0, 50).zero_();
        int64_t total = 0, nonzero = 0;
        for (const auto& p : params) {
            total += p.value().numel();
            nonzero += p.value().ne(0).sum().item<int64_t>();
        }
        const std::string file = dir.filePath("model.safetensors").toStdString();
        writeSafetensors(file, nnlab::detail::weightsOf(*model), {});

        const int threadsBefore = at::get_num_threads();
        MeasureOptions options;
        options.calls = 12;
        std::vector<std::string> stages;
        const ModelMeasurement m = measureModel(floatModel(spec, model, file), madeUpData(100), options,
                                                [&](const CompressProgress& p) { stages.push_back(p.stage); });
        QCOMPARE(at::get_num_threads(), threadsBefore);   // restored after timing on one thread
        QVERIFY(!stages.empty());
        QCOMPARE(m.fileBytes, int64_t(std::filesystem::file_size(file)));
        QCOMPARE(m.parameters, total);
        QCOMPARE(m.nonzeroParameters, nonzero);
        QVERIFY(m.nonzeroParameters <= m.parameters - 50);
        for (const LatencyFigure& l : {m.batch1, m.batch64}) {
            QCOMPARE(l.calls, 12);
            QVERIFY(l.medianMs > 0);
            QVERIFY(l.p10Ms <= l.medianMs && l.medianMs <= l.p90Ms);
        }
        QCOMPARE(m.batch64.batch, int64_t(64));
        QVERIFY(m.throughput > 0);
        QVERIFY(m.testAccuracy >= 0 && m.testAccuracy <= 1);
        QVERIFY(m.validationAccuracy >= 0 && m.validationAccuracy <= 1);
        // Per layer: the conv's count and MACs, and top-level latency shares adding up to one.
        double shares = 0;
        bool sawConv = false;
        for (const LayerMeasurement& l : m.layers) {
            shares += l.latencyShare;
            if (l.name == "0") {
                sawConv = true;
                QCOMPARE(l.type, std::string("conv2d"));
                QCOMPARE(l.parameters, int64_t(16 * 9 + 16));
                QCOMPARE(l.nonzeroParameters, l.parameters - 50);
                QVERIFY(l.macs > 0);
                QVERIFY(l.latencyShare > 0);
            }
        }
        QVERIFY(sawConv);
        QVERIFY(std::abs(shares - 1.0) < 1e-6);
    }

    void measuresTwoModelsInterleaved()
    {
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential dense = nnlab::detail::buildModel(spec.model);
        torch::nn::Sequential zeroed = nnlab::detail::buildModel(spec.model);
        {
            torch::NoGradGuard noGrad;
            for (auto& p : zeroed->parameters())
                p.zero_();
        }
        MeasureOptions options;
        options.calls = 10;
        const MeasurableModel a = floatModel(spec, dense), b = floatModel(spec, zeroed);
        const std::vector<ModelMeasurement> both = measureModels({&a, &b}, madeUpData(64), options);
        QCOMPARE(both.size(), size_t(2));
        QCOMPARE(both[0].parameters, both[1].parameters);
        QVERIFY(both[0].nonzeroParameters > 0);
        QCOMPARE(both[1].nonzeroParameters, int64_t(0));
        for (const ModelMeasurement& m : both) {
            QCOMPARE(m.batch64.calls, 10);
            QVERIFY(m.batch1.medianMs > 0 && m.batch64.medianMs > 0);
            QCOMPARE(m.fileBytes, int64_t(0));   // no file given
        }
    }

    void badTimingOptionsNameTheOption()
    {
        const ExperimentSpec spec = fashionCnn();
        MeasureOptions options;
        options.calls = 3;
        try {
            measureModel(floatModel(spec, nnlab::detail::buildModel(spec.model)), madeUpData(10), options);
            QFAIL("3 calls accepted");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(std::string(e.what()).find("--latency-calls") != std::string::npos, e.what());
        }
    }

    void recordedResultReadsBack()
    {
        QTemporaryDir dir;
        const std::string db = dir.filePath("runs.db").toStdString();
        const ExperimentSpec spec = fashionCnn();
        std::string parentId;
        {
            auto recorder = RunRecorder::open(db);
            QVERIFY(recorder.ok());
            parentId = recorder.value->begin(spec, experimentToJson(spec)).value;
            TrainResult done;
            done.status = TrainStatus::Finished;
            QVERIFY(recorder.value->finish(done).ok());
        }
        ResultRecord record;
        record.method = CompressMethod::QuantizeStatic;
        record.parentId = parentId;
        record.options = {{"engine", "onednn"}};
        record.measurement = sample(0.871, 30000, 0.2, 3.5);
        record.parent = sample(0.874, 110000, 0.15, 7.0);
        record.measurement.layers.push_back({"0", "conv2d", 160, 150, 125440, 0.4, true});
        std::string childId;
        {
            auto recorder = RunRecorder::open(db);
            QVERIFY(recorder.ok());
            RunStartInfo info;
            info.parentId = parentId;
            info.name = "child";
            childId = recorder.value->begin(spec, experimentToJson(spec), info).value;
            record.modelPath = modelPathFor(db, childId, ".int8.safetensors");
            std::ofstream(record.modelPath) << "not really a model";
            addResult(*recorder.value, childId, record);
            TrainResult done;
            done.status = TrainStatus::Finished;
            QVERIFY(recorder.value->finish(done).ok());
        }
        auto store = RunStore::open(db);
        QVERIFY(store.ok());
        const std::vector<CompareRow> rows = compareRuns(*store.value, {childId, parentId}, false);
        QCOMPARE(rows.size(), size_t(2));
        const CompareRow& child = rows[0];
        QCOMPARE(child.runId, childId);
        QCOMPARE(child.name, std::string("child"));
        QCOMPARE(child.parentId, parentId);
        QCOMPARE(child.method, CompressMethod::QuantizeStatic);
        QCOMPARE(child.measurement.fileBytes, int64_t(30000));
        QCOMPARE(child.measurement.testAccuracy, 0.871);
        QCOMPARE(child.measurement.nonzeroParameters, int64_t(600));
        QCOMPARE(child.measurement.batch64.medianMs, 3.5);
        QCOMPARE(child.measurement.batch64.p90Ms, 3.5 * 1.1);
        QCOMPARE(child.measurement.batch1.p10Ms, 0.2 * 0.9);
        QCOMPARE(child.measurement.throughput, 64000.0 / 3.5);
        QCOMPARE(child.measurement.layers.size(), size_t(1));
        QVERIFY(child.measurement.layers[0].quantized);
        QCOMPARE(child.measurement.layers[0].latencyShare, 0.4);
        // The parent has no figures of its own: those its child recorded for it, same process.
        const CompareRow& parent = rows[1];
        QCOMPARE(parent.method, CompressMethod::None);
        QVERIFY(parent.parentId.empty());
        QCOMPARE(parent.measurement.fileBytes, int64_t(110000));
        QCOMPARE(parent.measurement.testAccuracy, 0.874);
        // Both files recorded as artifacts.
        const auto artifacts = store.value->artifacts(childId);
        QVERIFY(artifacts.ok());
        QStringList kinds;
        for (const RunArtifact& a : artifacts.value)
            kinds << QString::fromStdString(a.kind);
        QVERIFY2(kinds.contains("model") && kinds.contains("compression"), qPrintable(kinds.join(",")));
        QCOMPARE(compressionInfoOf(*store.value, childId)["options"]["engine"].get<std::string>(), std::string("onednn"));
    }

    void frontierOnHandMadeRows()
    {
        // a: big and best; b: smaller, a bit worse; c: dominated by b; d: smallest, worst;
        // e: no accuracy (left out); f: same size as b, worse (dominated).
        std::vector<CompareRow> rows = {row("a", 0.90, 100000, 8), row("b", 0.89, 30000, 4), row("c", 0.85, 50000, 9),
                                        row("d", 0.70, 10000, 2), row("e", -1.0, 5000, 1), row("f", 0.88, 30000, 3)};
        std::vector<size_t> size = paretoFrontier(rows, ParetoCost::FileBytes);
        QCOMPARE(size, (std::vector<size_t>{3, 1, 0}));   // by cost: d, b, a
        // At batch-64 latency f (3 ms) is no longer dominated, c still is.
        std::vector<size_t> latency = paretoFrontier(rows, ParetoCost::LatencyBatch64);
        QCOMPARE(latency, (std::vector<size_t>{3, 5, 1, 0}));
        QVERIFY(paretoFrontier({}, ParetoCost::FileBytes).empty());
    }

    void methodNamesRoundTrip()
    {
        for (CompressMethod m : {CompressMethod::None, CompressMethod::PruneUnstructured, CompressMethod::PruneStructured,
                                 CompressMethod::QuantizeStatic, CompressMethod::QuantizeDynamic, CompressMethod::Distill})
            QCOMPARE(compressMethodFromName(compressMethodName(m)), std::optional<CompressMethod>(m));
        QVERIFY(!compressMethodFromName("int4"));
    }
};

QTEST_APPLESS_MAIN(TestCompressCore)
#include "test_compress_core.moc"
