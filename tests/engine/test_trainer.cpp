// The trainer end to end on real (generated) data: convergence, exact resume from a
// checkpoint, pause/resume/cancel from another thread, and failures that end the run
// with a message instead of a crash.
#include "nnlab/run_session.h"
#include "train_test_util.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

using namespace nnlab;
using namespace nnlab::test;

namespace {

struct Recorder {
    std::mutex mutex;
    std::vector<MetricPoint> points;
    std::vector<EventKind> events;
    std::atomic<int64_t> lastStep{0};
    TrainCallbacks callbacks()
    {
        TrainCallbacks c;
        c.metrics = [this](const std::vector<MetricPoint>& batch) {
            std::lock_guard<std::mutex> lock(mutex);
            points.insert(points.end(), batch.begin(), batch.end());
            lastStep = batch.back().step;
        };
        c.event = [this](EventKind kind, int64_t, const std::string&) {
            std::lock_guard<std::mutex> lock(mutex);
            events.push_back(kind);
        };
        return c;
    }
    bool hasEvent(EventKind kind)
    {
        std::lock_guard<std::mutex> lock(mutex);
        return std::find(events.begin(), events.end(), kind) != events.end();
    }
};

} // namespace

class TestTrainer : public QObject {
    Q_OBJECT
private slots:
    void spiralConverges()
    {
        const ExperimentSpec spec = spiralSpec();
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        Recorder rec;
        const TrainResult result = trainSpec(spec, data, control, rec.callbacks());
        QCOMPARE(result.status, TrainStatus::Finished);
        qInfo("spiral MLP: val/accuracy %.3f in %.2f s", result.finalMetrics.at("val/accuracy"), result.seconds);
        QVERIFY(result.finalMetrics.at("val/accuracy") >= 0.95);
        QVERIFY(result.seconds < 30);
        // Every tag the issue names is reported, with steps that only grow.
        for (const char* tag : {"train/loss", "train/accuracy", "val/loss", "val/accuracy", "lr", "grad_norm", "samples_per_sec"})
            QVERIFY2(result.finalMetrics.count(tag), tag);
        int64_t previous = 0;
        for (const auto& p : rec.points)
            if (p.tag == "train/loss") {
                QVERIFY(p.step > previous);
                previous = p.step;
            }
        QCOMPARE(previous, result.steps);
    }

    void resumeMatchesAnUninterruptedRun()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 4;
        spec.training.threads = 1;   // one thread: bit-for-bit reproducible reductions
        spec.model.layers.insert(spec.model.layers.begin() + 2, spec.model.layers[1]);
        spec.model.layers[2].type = "dropout";   // dropout masks must replay too
        spec.model.layers[2].options = {{"p", 0.2}};
        const DataBundle data = loadData(spec.data, true, spec.seed);
        QTemporaryDir dir;

        TrainControl c1;
        Recorder r1;
        const TrainResult full = trainSpec(spec, data, c1, r1.callbacks());
        QCOMPARE(full.status, TrainStatus::Finished);

        // Stop mid-epoch (the checkpoint is written on cancel), then resume from it.
        TrainControl c2;
        Recorder r2;
        TrainCallbacks cb = r2.callbacks();
        cb.metrics = [&](const std::vector<MetricPoint>& batch) {
            if (batch.back().step >= 150)
                c2.cancel();
        };
        TrainOptions options;
        options.checkpointPath = dir.filePath("run.pt").toStdString();
        options.reportInterval = 0.0;
        const TrainResult first = trainSpec(spec, data, c2, cb, options);
        QCOMPARE(first.status, TrainStatus::Cancelled);
        QVERIFY(first.steps > 0 && first.steps % 57 != 0);   // 1800 samples / 32 = 57 steps an epoch

        TrainControl c3;
        Recorder r3;
        TrainOptions resume;
        resume.resumeFrom = options.checkpointPath;
        const TrainResult second = trainSpec(spec, data, c3, r3.callbacks(), resume);
        QCOMPARE(second.status, TrainStatus::Finished);
        QCOMPARE(second.steps, full.steps);
        QCOMPARE(second.finalMetrics.at("val/loss"), full.finalMetrics.at("val/loss"));
        QCOMPARE(second.finalMetrics.at("val/accuracy"), full.finalMetrics.at("val/accuracy"));
    }

    void resumeRejectsAnotherModel()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 1;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        QTemporaryDir dir;
        TrainControl c;
        TrainOptions options;
        options.checkpointPath = dir.filePath("a.pt").toStdString();
        QCOMPARE(trainSpec(spec, data, c, {}, options).status, TrainStatus::Finished);
        spec.model.layers[0].options["out_features"] = 32;
        TrainOptions resume;
        resume.resumeFrom = options.checkpointPath;
        TrainControl c2;
        const TrainResult r = trainSpec(spec, data, c2, {}, resume);
        QCOMPARE(r.status, TrainStatus::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("different model"), r.message.c_str());
        resume.resumeFrom = dir.filePath("none.pt").toStdString();
        TrainControl c3;
        const TrainResult missing = trainSpec(spec, data, c3, {}, resume);
        QCOMPARE(missing.status, TrainStatus::Failed);
        QVERIFY(QString::fromStdString(missing.message).contains("none.pt"));
    }

    void pauseResumeCancelFromAnotherThread()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 100000;
        spec.training.logEverySteps = 1;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        Recorder rec;
        TrainOptions options;
        options.reportInterval = 0.01;
        TrainResult result;
        std::thread worker([&] { result = trainSpec(spec, data, control, rec.callbacks(), options); });
        QTRY_VERIFY_WITH_TIMEOUT(rec.lastStep > 20, 20000);

        control.pause();
        QTRY_VERIFY_WITH_TIMEOUT(rec.hasEvent(EventKind::Paused), 5000);
        const int64_t pausedAt = rec.lastStep;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        QCOMPARE(rec.lastStep.load(), pausedAt);   // no step while paused

        control.resume();
        QTRY_VERIFY_WITH_TIMEOUT(rec.lastStep > pausedAt + 10, 5000);
        QVERIFY(rec.hasEvent(EventKind::Resumed));

        control.pause();
        QTRY_VERIFY_WITH_TIMEOUT(rec.hasEvent(EventKind::Paused), 5000);
        const auto cancelled = std::chrono::steady_clock::now();
        control.cancel();   // wakes the paused trainer
        worker.join();
        QVERIFY(std::chrono::steady_clock::now() - cancelled < std::chrono::seconds(2));
        QCOMPARE(result.status, TrainStatus::Cancelled);
    }

    void nanInDataFailsWithAMessage()
    {
        ExperimentSpec spec = spiralSpec();
        DataBundle data = loadData(spec.data, true, spec.seed);
        data.train.features[10] = std::numeric_limits<float>::quiet_NaN();
        TrainControl control;
        const TrainResult r = trainSpec(spec, data, control, {});
        QCOMPARE(r.status, TrainStatus::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("NaN"), r.message.c_str());
        QVERIFY(QString::fromStdString(r.message).contains("lower optimizer.lr"));
    }

    void dataThatDoesNotFitTheModel()
    {
        ExperimentSpec spec = spiralSpec();
        DataBundle data = loadData(spec.data, true, spec.seed);
        data.numClasses = 4;
        TrainControl control;
        const TrainResult r = trainSpec(spec, data, control, {});
        QCOMPARE(r.status, TrainStatus::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("4 classes"), r.message.c_str());
        DataBundle empty;
        const TrainResult e = trainSpec(spec, empty, control, {});
        QCOMPARE(e.status, TrainStatus::Failed);
        QVERIFY(QString::fromStdString(e.message).contains("training split is empty"));
    }

    void csvRegressionWithMse()
    {
        // y = 2 a - b + 0.5 on a real CSV file with a header; mse reports no accuracy.
        QTemporaryDir dir;
        QFile f(dir.filePath("reg.csv"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("a,b,target\n");
        for (int i = 0; i < 600; ++i) {
            const double a = (i % 37) / 37.0, b = (i % 23) / 23.0;
            f.write(QString("%1,%2,%3\n").arg(a).arg(b).arg(2 * a - b + 0.5).toUtf8());
        }
        f.close();
        const std::string doc = std::string("{\"name\": \"reg\", \"data\": {\"source\": \"csv\", \"path\": \"")
                                + f.fileName().toStdString()
                                + "\"}, \"model\": {\"input\": [2], \"layers\": [{\"type\": \"linear\", \"out_features\": 16},"
                                  " {\"type\": \"tanh\"}, {\"type\": \"linear\", \"out_features\": 1}]},"
                                  " \"loss\": \"mse\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},"
                                  " \"training\": {\"epochs\": 40, \"batch_size\": 32}}";
        const ParseResult parsed = parseExperiment(doc);
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        const DataBundle data = loadData(parsed.spec.data, false, 0);
        TrainControl control;
        const TrainResult r = trainSpec(parsed.spec, data, control, {});
        QCOMPARE(r.status, TrainStatus::Finished);
        QVERIFY2(r.finalMetrics.at("val/loss") < 0.01, qPrintable(QString::number(r.finalMetrics.at("val/loss"))));
        QVERIFY(!r.finalMetrics.count("val/accuracy"));
        QVERIFY(!r.finalMetrics.count("train/accuracy"));
    }

    void cifarExampleTrainsOnCifarFormatFiles()
    {
        // The shipped CIFAR-10 example on a small batch file in the binary CIFAR format.
        QTemporaryDir dir;
        QFile f(dir.filePath("data_batch_1.bin"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        QByteArray record(3073, '\0');
        for (int i = 0; i < 200; ++i) {
            record[0] = static_cast<char>(i % 10);
            for (int p = 1; p < 3073; ++p)
                record[p] = static_cast<char>((i * 7 + p * (i % 10 + 1)) % 256);
            f.write(record);
        }
        f.close();
        const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/cifar10-cnn.json",
                                                 {"data.path=" + dir.path().toStdString(), "training.epochs=1"});
        QVERIFY2(r.ok(), r.errorText().c_str());
        const DataBundle data = loadData(r.spec.data, true, r.spec.seed);
        QCOMPARE(data.train.sampleShape, std::vector<int64_t>({3, 32, 32}));
        TrainControl control;
        const TrainResult result = trainSpec(r.spec, data, control, {});
        QVERIFY2(result.status == TrainStatus::Finished, result.message.c_str());
        QVERIFY(result.finalMetrics.count("val/accuracy"));
    }

    void cudaWithoutGpuIsAClearError()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.device = "cuda";
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        const TrainResult r = trainSpec(spec, data, control, {});
        if (r.status == TrainStatus::Finished)
            QSKIP("this LibTorch has CUDA and a GPU");
        QVERIFY(QString::fromStdString(r.message).contains("training.device"));
    }

    // A CSV experiment that leaves model.input and the classifier's width to the data trains
    // end to end through the run session, its data named relative to the experiment file.
    void csvModelSizedByTheData()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath("three.csv"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("x1,x2,x3,label\n");
        for (int i = 0; i < 300; ++i) {
            const int k = i % 3;
            const double jitter = ((i * 37) % 11) / 22.0;
            f.write(QString("%1,%2,%3,c%4\n").arg(k + jitter).arg(2 - k - jitter).arg((i % 5) * 0.1).arg(k).toUtf8());
        }
        f.close();
        QFile e(dir.filePath("three.json"));
        QVERIFY(e.open(QIODevice::WriteOnly));
        e.write(R"({"name": "three", "seed": 3, "data": {"source": "csv", "path": "three.csv"},
            "model": {"layers": [{"type": "linear", "out_features": 16}, {"type": "relu"}, {"type": "linear"}]},
            "optimizer": {"type": "adam", "lr": 0.02}, "training": {"epochs": 8, "batch_size": 32, "threads": 1}})");
        e.close();

        const ParseResult parsed = loadExperimentFile(e.fileName().toStdString());
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        QVERIFY(parsed.spec.model.input.empty());
        const Preparation prepared = prepareExperiment(parsed);
        QVERIFY2(prepared.ok(), prepared.errorText().c_str());
        TrainControl control;
        RunSessionOptions options;
        options.store = false;
        const RunSessionResult run = runTrainingSession(prepared.experiment, control, options);
        QVERIFY2(run.result.status == TrainStatus::Finished, run.result.message.c_str());
        QVERIFY2(run.result.finalMetrics.at("val/accuracy") > 0.9,
                 qPrintable(QString::number(run.result.finalMetrics.at("val/accuracy"))));

        // Filled in from the data: [3] features in, 3 classes out.
        const DataBundle data = loadData(parsed.spec.data, true, parsed.spec.seed);
        const Preparation fitted = fitToData(prepared.experiment, data);
        QVERIFY2(fitted.ok(), fitted.errorText().c_str());
        QCOMPARE(fitted.experiment.spec.model.input, (std::vector<int64_t>{3}));
        QCOMPARE(fitted.experiment.model.outputShape, (std::vector<int64_t>{3}));
        QCOMPARE(fitted.experiment.model.parameters, int64_t(3 * 16 + 16 + 16 * 3 + 3));
    }
};

QTEST_MAIN(TestTrainer)
#include "test_trainer.moc"
