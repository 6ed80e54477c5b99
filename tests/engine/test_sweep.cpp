// Sweeps: the trials a sweep section defines, the pruning board's rules, and whole sweeps of
// the shipped spiral example, with and without ASHA.
#include "sweep_pruner.h"

#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/sweep.h"
#include "nnlab/trainer.h"

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <set>

using namespace nnlab;

namespace {

ExperimentSpec sweepExample()
{
    const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-sweep.json");
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

PreparedExperiment prepared(const ExperimentSpec& spec)
{
    const Preparation p = prepareExperiment(spec);
    if (!p.ok())
        qFatal("%s", p.errorText().c_str());
    return p.experiment;
}

double bestValue(const SweepResult& r)
{
    const auto order = r.ranking();
    return order.empty() || !r.trials[order[0]].hasValue ? std::nan("") : r.trials[order[0]].value;
}

} // namespace

class TestSweep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gridIsTheProductLastFastest()
    {
        SweepSpec s;
        s.parameters = {{/*path*/ "optimizer.lr", /*values*/ {"0.1", "0.01"}},
                        {/*path*/ "optimizer.type", /*values*/ {"\"sgd\"", "\"adam\"", "\"adamw\""}}};
        QCOMPARE(sweepTrialCount(s), int64_t(6));
        const auto trials = sweepTrials(s, 0);
        QCOMPARE(trials.size(), size_t(6));
        QCOMPARE(trials[1].overrides(), (std::vector<std::string>{"optimizer.lr=0.1", "optimizer.type=\"adam\""}));
        QCOMPARE(trials[3].label(), std::string("lr=0.01 type=\"sgd\""));
    }

    void randomDrawsAreSeededAndInRange()
    {
        SweepSpec s;
        s.method = SweepMethod::Random;
        s.trials = 200;
        s.parameters = {{/*path*/ "optimizer.lr", /*values*/ {}, /*min*/ 1e-4, /*max*/ 1.0, SweepScale::Log},
                        {/*path*/ "training.batch_size", /*values*/ {}, /*min*/ 8, /*max*/ 64, SweepScale::Linear,
                         /*integer*/ true}};
        const auto a = sweepTrials(s, 7);
        QCOMPARE(a.size(), size_t(200));
        QVERIFY(a[5].values == sweepTrials(s, 7)[5].values);
        QVERIFY(a[5].values != sweepTrials(s, 8)[5].values);
        int belowHundredth = 0;
        for (const auto& t : a) {
            const double lr = std::stod(t.values[0].second);
            QVERIFY(lr >= 1e-4 && lr <= 1.0);
            belowHundredth += lr < 1e-2;
            const std::string& batch = t.values[1].second;
            QVERIFY2(batch.find('.') == std::string::npos, batch.c_str());
            QVERIFY(std::stoi(batch) >= 8 && std::stoi(batch) <= 64);
        }
        // Log-uniform: half of the decades lie below 1e-2 (uniform would put 1% there).
        QVERIFY2(belowHundredth > 70 && belowHundredth < 130, qPrintable(QString::number(belowHundredth)));
    }

    void trialExperimentSetsValuesAndDropsTheSweep()
    {
        const ExperimentSpec base = sweepExample();
        const auto trials = sweepTrials(base.sweep, base.seed);
        QCOMPARE(trials.size(), size_t(12));
        const ParseResult trial = trialExperiment(base, trials[3]);
        QVERIFY2(trial.ok(), trial.errorText().c_str());
        QVERIFY(trial.spec.sweep == SweepSpec{});
        QCOMPARE(trial.spec.optimizer.lr, std::stod(trials[3].values[0].second));
        QCOMPARE(trial.spec.model.layers[0].intOption("out_features"), int64_t(std::stoll(trials[3].values[1].second)));
        QVERIFY(experimentToJson(trial.spec).find("\"sweep\"") == std::string::npos);
    }

    void noteRoundTrips()
    {
        const ExperimentSpec base = sweepExample();
        const auto trials = sweepTrials(base.sweep, base.seed);
        const std::string notes = sweepNote("20250101-000000-abcd", base.sweep, trials[2]);
        const auto note = parseSweepNote(notes);
        QVERIFY(note);
        QCOMPARE(note->sweepId, std::string("20250101-000000-abcd"));
        QCOMPARE(note->trial, int64_t(2));
        QCOMPARE(note->trials, int64_t(12));
        QVERIFY(note->values == trials[2].values);
        QVERIFY(note->sweep == base.sweep);
        QVERIFY(!parseSweepNote("just a note\n{\"not\": \"a sweep\"}"));
    }

    void ashaKeepsTheBestThirdAtEachRung()
    {
        nnlab::detail::SweepBoard board(SweepPruner::Asha, "val/accuracy", +1, 3, 1);
        QCOMPARE(board.rungs(9), (std::vector<int64_t>{1, 3}));
        QVERIFY(!board.report(0, 1, 9, 0.5));   // alone: the best
        QVERIFY(!board.report(1, 1, 9, 0.7));   // best of 2
        QVERIFY(board.report(2, 1, 9, 0.6));    // 2nd of 3, keep 1
        QVERIFY(!board.report(1, 2, 9, 0.1));   // epoch 2 is no rung
        const auto why = board.report(3, 1, 9, 0.4);
        QVERIFY(why);
        QVERIFY2(why->find("pruned by asha at epoch 1") == 0, why->c_str());
        QVERIFY(!board.report(4, 1, 9, 0.9));
        QVERIFY(board.report(5, 1, 9, 0.65));   // 6 trials: keep 2 (0.9, 0.7)
        QVERIFY(!board.report(6, 1, 9, 0.8));   // 7 trials: keep 2 (0.9, 0.8)
        QVERIFY(!board.report(4, 9, 9, 0.1));   // the last epoch ends the trial anyway
    }

    void medianStopsBelowTheCompletedMedian()
    {
        nnlab::detail::SweepBoard board(SweepPruner::Median, "val/loss", -1, 3, 2);
        QVERIFY(!board.report(0, 2, 5, 1.0));   // nobody completed yet
        board.completed(0);
        QVERIFY(!board.report(1, 1, 5, 9.0));   // before min_epochs
        QVERIFY(!board.report(1, 2, 5, 0.8));
        board.completed(1);
        QVERIFY(!board.report(2, 2, 5, 0.9));   // the median of 1.0 and 0.8
        const auto why = board.report(3, 2, 5, 0.95);
        QVERIFY(why);
        QVERIFY2(why->find("worse than the median 0.9 of 2 completed trials") != std::string::npos, why->c_str());
    }

    void recordedTrialsCarryTheSweep()
    {
        QTemporaryDir dir;
        ExperimentSpec spec = sweepExample();
        spec.training.epochs = 2;
        spec.sweep = SweepSpec{};
        spec.sweep.parameters = {{/*path*/ "optimizer.lr", /*values*/ {"0.01", "0.003"}}};
        spec.sweep.concurrent = 2;
        SweepOptions options;
        options.databasePath = dir.filePath("runs.db").toStdString();
        TrainControl control;
        const SweepResult r = runSweep(prepared(spec), control, options);
        QVERIFY2(r.error.empty(), r.error.c_str());
        QCOMPARE(r.trials.size(), size_t(2));
        auto store = RunStore::open(options.databasePath);
        QVERIFY(store.ok());
        for (const auto& t : r.trials) {
            QCOMPARE(t.status, TrainStatus::Finished);
            const auto run = store.value->getRun(t.runId);
            QVERIFY(run.ok());
            QCOMPARE(run.value.tags, (std::vector<std::string>{sweepTag(r.sweepId)}));
            QCOMPARE(run.value.name, "spiral-sweep #" + std::to_string(t.trial.index + 1) + " " + t.trial.label());
            const ParseResult stored = parseExperiment(run.value.experimentJson);
            QVERIFY2(stored.ok(), stored.errorText().c_str());
            QCOMPARE(stored.spec.optimizer.lr, std::stod(t.trial.values[0].second));
            QVERIFY(stored.spec.sweep == SweepSpec{});
            const auto note = parseSweepNote(run.value.notes);
            QVERIFY(note && note->sweepId == r.sweepId && note->trial == t.trial.index);
        }
    }

    // The issue's measure: a 12-trial random sweep with ASHA trains fewer steps than the same
    // sweep without it and finds a setting at least as good.
    void ashaTrainsLessAndFindsAsGood()
    {
        const ExperimentSpec spec = sweepExample();
        QCOMPARE(spec.sweep.pruner, SweepPruner::Asha);
        QTemporaryDir dir;
        SweepOptions options;
        options.databasePath = dir.filePath("runs.db").toStdString();
        TrainControl control;
        const SweepResult asha = runSweep(prepared(spec), control, options);
        options.prune = false;
        const SweepResult full = runSweep(prepared(spec), control, options);
        QVERIFY2(asha.error.empty() && full.error.empty(), (asha.error + full.error).c_str());
        QCOMPARE(asha.trials.size(), size_t(12));
        QCOMPARE(full.trials.size(), size_t(12));
        int pruned = 0;
        auto store = RunStore::open(options.databasePath);
        QVERIFY(store.ok());
        for (const auto& t : asha.trials) {
            QCOMPARE(t.status, TrainStatus::Finished);
            if (!t.pruned)
                continue;
            ++pruned;
            const auto run = store.value->getRun(t.runId);
            QVERIFY(run.ok());
            QVERIFY(std::set<std::string>(run.value.tags.begin(), run.value.tags.end())
                    == (std::set<std::string>{sweepTag(asha.sweepId), kPrunedTag}));
            QVERIFY2(run.value.message.find("pruned by asha at epoch") != std::string::npos, run.value.message.c_str());
        }
        qInfo("ASHA: %lld steps, %.1f s, %d of 12 pruned, best %s %.4f; without: %lld steps, %.1f s, best %.4f",
              static_cast<long long>(asha.totalSteps), asha.seconds, pruned, asha.metric.c_str(), bestValue(asha),
              static_cast<long long>(full.totalSteps), full.seconds, bestValue(full));
        QVERIFY(pruned > 0);
        QVERIFY(asha.totalSteps < full.totalSteps);
        QVERIFY(bestValue(asha) >= bestValue(full));
    }
};

QTEST_APPLESS_MAIN(TestSweep)
#include "test_sweep.moc"
