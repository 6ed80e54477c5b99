// The training loop's hook points and the pieces built on them: hooks that change the
// learning rate, roll back and stop without editing the loop; checkpoints by steps, by
// seconds and by best metric; deterministic runs; the checkpoint format; the CUDA path.
#include "builder.h"
#include "checkpoint.h"
#include "train_hooks.h"

#include "train_test_util.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace nnlab;

namespace {

ExperimentSpec spiralSpec()
{
    ExperimentSpec spec = test::spiralSpec();
    spec.training.threads = 1;
    return spec;
}

using test::prepared;

using test::Timeline;

// A hook a later feature might be: at given points it asks the loop to act, and it records
// what it saw and on which thread.
class ScriptedHook : public nnlab::detail::TrainHook {
public:
    int64_t halveAtStep = -1;
    int64_t rollBackAtEpoch = -1;
    int64_t stopAtEpoch = -1;
    std::set<std::thread::id> threads;
    std::vector<int64_t> stepsSeen;
    int rollbacks = 0;
    int lrChanges = 0;
    bool sawGradients = false;
    TrainStatus endedWith = TrainStatus::Failed;

    void afterStep(const nnlab::detail::StepView& step, nnlab::detail::TrainRequests& requests) override
    {
        threads.insert(std::this_thread::get_id());
        stepsSeen.push_back(step.state.step);
        sawGradients = sawGradients || (step.loss.defined() && step.output.size(0) == step.input.size(0)
                                        && step.optimizer.gradNorm().item<double>() > 0);
        if (step.state.step == halveAtStep)
            requests.multiplyLearningRate(0.5, "test");
    }
    void atEpochEnd(const nnlab::detail::TrainState&, int64_t epoch, nnlab::detail::TrainRequests& requests) override
    {
        threads.insert(std::this_thread::get_id());
        if (epoch == rollBackAtEpoch && rollbacks == 0)
            requests.rollBack("test rollback");
        if (epoch == stopAtEpoch)
            requests.stop("test stop");
    }
    void rolledBack(const nnlab::detail::TrainState&, const std::string&) override { ++rollbacks; }
    void learningRateChanged(const nnlab::detail::TrainState&, double, const std::string&) override { ++lrChanges; }
    void ending(const nnlab::detail::TrainState&, TrainStatus status) override { endedWith = status; }
};

} // namespace

class TestTrainLoop : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hooksChangeTheRateRollBackAndStop()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 6;
        spec.training.logEverySteps = 1;
        spec.training.checkpointEverySeconds = 0;   // the latest checkpoint at each epoch's end
        const DataBundle data = loadData(spec.data, true, spec.seed);
        QTemporaryDir dir;
        auto hook = std::make_shared<ScriptedHook>();
        hook->halveAtStep = 30;
        hook->rollBackAtEpoch = 3;
        hook->stopAtEpoch = 5;
        TrainOptions options;
        options.checkpointPath = dir.filePath("latest.pt").toStdString();
        options.reportInterval = 0;
        options.hooks = {hook};
        TrainControl control;
        Timeline timeline;
        TrainResult result;
        std::thread worker([&] { result = train(prepared(spec), data, control, timeline.callbacks(), options); });
        const std::thread::id trainingThread = worker.get_id();
        worker.join();

        QVERIFY2(result.status == TrainStatus::Finished, result.message.c_str());
        QVERIFY2(QString::fromStdString(result.message).contains("test stop"), result.message.c_str());
        const int64_t perEpoch = 57;   // 1800 training samples / 32
        // Six epochs less the one rolled back, stopped at the end of the fifth counted one.
        QCOMPARE(result.steps, 5 * perEpoch);
        QCOMPARE(hook->endedWith, TrainStatus::Finished);
        QCOMPARE(hook->rollbacks, 1);
        QCOMPARE(hook->lrChanges, 1);
        QVERIFY(hook->sawGradients);
        QCOMPARE(hook->threads, std::set<std::thread::id>{trainingThread});   // every hook on the training thread
        // Epoch 3 ran twice: the rollback restored the checkpoint of epoch 2's end.
        QCOMPARE(std::count(hook->stepsSeen.begin(), hook->stepsSeen.end(), 3 * perEpoch), 2L);
        QCOMPARE(timeline.count(EventKind::Rollback), 1);
        QCOMPARE(timeline.count(EventKind::LearningRate), 1);
        QCOMPARE(timeline.count(EventKind::Stop), 1);
        // Events carry the step they happened at: the rollback lands on epoch 2's end.
        QCOMPARE(timeline.steps[EventKind::Rollback], std::vector<int64_t>{2 * perEpoch});
        QCOMPARE(timeline.steps[EventKind::LearningRate], std::vector<int64_t>{30});
        QCOMPARE(timeline.steps[EventKind::Stop], std::vector<int64_t>{5 * perEpoch});
        // The rate halves from step 31 on (the constant schedule's rate is optimizer.lr).
        for (const auto& p : timeline.series("lr"))
            QCOMPARE(p.value, p.step <= 30 ? spec.optimizer.lr : spec.optimizer.lr * 0.5);
    }

    void checkpointsByStepsAndBestByMetric()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 4;
        spec.training.checkpointEverySteps = 20;
        spec.training.checkpointEverySeconds = 0;
        spec.training.bestMetric = "val/loss";
        const DataBundle data = loadData(spec.data, true, spec.seed);
        QTemporaryDir dir;
        TrainOptions options;
        options.checkpointPath = dir.filePath("latest.pt").toStdString();
        options.bestCheckpointPath = dir.filePath("best.pt").toStdString();
        TrainControl control;
        Timeline timeline;
        const TrainResult r = train(prepared(spec), data, control, timeline.callbacks(), options);
        QCOMPARE(r.status, TrainStatus::Finished);
        // Every 20 steps (11 in 228 steps), plus the epoch ends not on a multiple of 20 (all 4).
        QCOMPARE(timeline.count(EventKind::Checkpoint), 11 + 4);
        for (int64_t step : timeline.steps[EventKind::Checkpoint])
            QVERIFY2(step % 20 == 0 || step % 57 == 0, qPrintable(QString::number(step)));
        QVERIFY(timeline.count(EventKind::BestCheckpoint) >= 1);
        QVERIFY(QFile::exists(dir.filePath("best.pt")));
        QVERIFY(!QFile::exists(dir.filePath("latest.pt.tmp")));   // written atomically

        // The best checkpoint holds the best val/loss and its step; both resume.
        const auto val = timeline.series("val/loss");
        const auto best = *std::min_element(val.begin(), val.end(), [](auto& a, auto& b) { return a.value < b.value; });
        const PreparedExperiment e = prepared(spec);
        torch::nn::Sequential model = nnlab::detail::buildModel(e.spec.model, e.model);
        nnlab::detail::FlatOptimizer optimizer(e.spec.optimizer, model->parameters());
        const nnlab::detail::CheckpointState state = nnlab::detail::loadCheckpoint(options.bestCheckpointPath, *model, optimizer, e.layoutHash);
        QCOMPARE(state.step, best.step);
        QCOMPARE(state.bestValue, best.value);
    }

    void checkpointsBySeconds()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 2000;
        spec.training.checkpointEverySeconds = 0.2;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        QTemporaryDir dir;
        TrainOptions options;
        options.checkpointPath = dir.filePath("latest.pt").toStdString();
        TrainControl control;
        Timeline timeline;
        TrainResult r;
        std::thread worker([&] { r = train(prepared(spec), data, control, timeline.callbacks(), options); });
        QTRY_VERIFY_WITH_TIMEOUT(timeline.count(EventKind::Checkpoint) >= 3, 20000);
        control.cancel();
        worker.join();
        QCOMPARE(r.status, TrainStatus::Cancelled);
        QVERIFY(QFile::exists(dir.filePath("latest.pt")));
    }

    void deterministicRunsMatchBitForBit()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.threads = 0;            // deterministic fixes it
        spec.training.deterministic = true;
        spec.training.epochs = 3;
        spec.model.layers.insert(spec.model.layers.begin() + 2, spec.model.layers[1]);
        spec.model.layers[2].type = "dropout";
        spec.model.layers[2].options = {{"p", 0.2}};
        const DataBundle data = loadData(spec.data, true, spec.seed);
        std::vector<std::vector<MetricPoint>> runs;
        for (int i = 0; i < 2; ++i) {
            TrainControl control;
            Timeline timeline;
            const TrainResult r = train(prepared(spec), data, control, timeline.callbacks());
            QCOMPARE(r.status, TrainStatus::Finished);
            runs.push_back(timeline.points);
        }
        QCOMPARE(runs[0].size(), runs[1].size());
        for (size_t i = 0; i < runs[0].size(); ++i) {
            if (runs[0][i].tag == "samples_per_sec" || runs[0][i].tag == "step_time" || runs[0][i].tag == "inspect/seconds")
                continue;   // measurements of time, not of the model
            QCOMPARE(runs[0][i].tag, runs[1][i].tag);
            QCOMPARE(runs[0][i].step, runs[1][i].step);
            QVERIFY2(std::memcmp(&runs[0][i].value, &runs[1][i].value, sizeof(double)) == 0, runs[0][i].tag.c_str());
        }
    }

    void olderCheckpointFormatIsRefusedClearly()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("old.pt").toStdString();
        torch::serialize::OutputArchive archive;   // format 1: no "format", a torch::optim state
        archive.write("step", torch::tensor(int64_t{5}));
        archive.write("spec_hash", torch::tensor(int64_t{1}));
        archive.save_to(path);
        const PreparedExperiment e = prepared(spiralSpec());
        torch::nn::Sequential model = nnlab::detail::buildModel(e.spec.model, e.model);
        nnlab::detail::FlatOptimizer optimizer(e.spec.optimizer, model->parameters());
        try {
            nnlab::detail::loadCheckpoint(path, *model, optimizer, e.layoutHash);
            QFAIL("loaded a format-1 checkpoint");
        } catch (const std::runtime_error& error) {
            const QString message = error.what();
            QVERIFY2(message.contains("old.pt") && message.contains("earlier nnlab"), error.what());
        }
    }

    void cudaDeviceTrainsWhereCudaExists()
    {
        if (!torch::cuda::is_available())
            QSKIP("this LibTorch has no CUDA or no GPU is visible (Debian's build is CPU-only)");
        ExperimentSpec spec = spiralSpec();
        spec.training.device = "cuda:0";
        spec.training.epochs = 2;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        const TrainResult r = train(prepared(spec), data, control, {});
        QVERIFY2(r.status == TrainStatus::Finished, r.message.c_str());
        QVERIFY(r.finalMetrics.count("val/accuracy"));
    }

    void cudaIndexIsValidated()
    {
        ExperimentSpec spec = spiralSpec();
        for (const char* device : {"cuda:0", "cuda:12", "cuda"}) {
            spec.training.device = device;
            QVERIFY2(prepareExperiment(spec).ok(), device);
        }
        for (const char* device : {"cuda:", "cuda:x", "gpu", "cuda:-1"}) {
            spec.training.device = device;
            const Preparation p = prepareExperiment(spec);
            QVERIFY2(!p.ok() && p.problems.front().path == "training.device", device);
        }
    }
};

QTEST_MAIN(TestTrainLoop)
#include "test_train_loop.moc"
