// Monitor rules: each rule on a made-up sequence of metric points (the hook driven
// directly), what a rollback does to the statistics, and whole runs on the spiral example:
// an exploding learning rate rolled back to a finished run, early stopping that keeps the
// best checkpoint, a NaN that names its layer, and no rules at all.
#include "builder.h"
#include "checkpoint.h"
#include "monitor_hook.h"

#include "train_test_util.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <limits>
#include <mutex>

using namespace nnlab;
using nnlab::detail::MonitorHook;
using nnlab::detail::StopKind;
using nnlab::detail::TrainRequests;
using nnlab::detail::TrainState;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// The spiral example with these rules (a JSON list), read as a file would be.
ExperimentSpec spiralWith(const std::string& monitors, std::vector<std::string> overrides = {})
{
    overrides.push_back("monitors=" + monitors);
    overrides.push_back("training.threads=1");
    overrides.push_back("training.device=\"cpu\"");   // the same numbers on every machine
    const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json", overrides);
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

// What a hook point asked of the loop: "rollback+lr x0.1", "stop failed", "" (nothing).
QString asked(TrainRequests& r)
{
    QStringList parts;
    if (r.takeRollback())
        parts << "rollback";
    if (const auto lr = r.takeLearningRate())
        parts << QString("lr x%1").arg(lr->first);
    const StopKind kind = r.stopKind();
    if (r.takeStop())
        parts << (kind == StopKind::Failed ? "stop failed" : kind == StopKind::FinishedBest ? "stop best" : "stop");
    return parts.join('+');
}

// The run's timeline, and the alerts among its events.
struct Events : test::Timeline {
    std::vector<MonitorAlert> alerts()
    {
        std::vector<MonitorAlert> out;
        for (const auto& d : details(EventKind::Alert))
            if (const auto a = alertFromDetail(d))
                out.push_back(*a);
        return out;
    }
};

// One rule fed points by hand, as the trainer feeds it.
struct Driven {
    explicit Driven(const std::string& rule, std::function<bool()> canRollBack = {})
        : spec(spiralWith("[" + rule + "]")), callbacks(events.callbacks()), report(callbacks, 0.0),
          hook(spec.monitors, report, std::move(canRollBack))
    {
    }
    // Feeds one point; returns what it asked, or null when no alert fired.
    std::optional<QString> feed(const std::string& tag, int64_t step, double value)
    {
        state.step = step;
        MetricPoint point;
        point.tag = tag;
        point.step = step;
        point.value = value;
        const size_t before = hook.alerts().size();
        hook.metricReported(state, point, requests);
        const QString what = asked(requests);
        if (hook.alerts().size() == before) {
            if (!what.isEmpty())
                qWarning("asked %s without an alert", qPrintable(what));
            return std::nullopt;
        }
        return what;
    }
    ExperimentSpec spec;
    Events events;
    TrainCallbacks callbacks;   // the reporter keeps a reference
    nnlab::detail::Reporter report;
    TrainState state;
    TrainRequests requests;   // the loop's, which outlive a hook point (a rollback comes back to them)
    MonitorHook hook;
};

} // namespace

class TestMonitors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Each row: a rule, the tag fed, its values (at steps 10, 20, ...), and the firings as
    // "index:what the rule asked".
    void rules_data()
    {
        QTest::addColumn<QString>("rule");
        QTest::addColumn<QString>("tag");
        QTest::addColumn<QList<double>>("values");
        QTest::addColumn<QStringList>("fired");
        QTest::newRow("not_finite stops as failed, re-arms")
            << R"({"metric": "grad_norm", "rule": "not_finite", "actions": ["stop"]})" << "grad_norm"
            << QList<double>{1, 2, kNaN, kNaN, 3, kInf} << QStringList{"2:stop failed", "5:stop failed"};
        QTest::newRow("above fires on crossing only")
            << R"({"metric": "val/loss", "rule": "above", "value": 5})" << "val/loss" << QList<double>{1, 6, 7, 4, 8}
            << QStringList{"1:", "4:"};
        QTest::newRow("below multiplies the lr")
            << R"({"metric": "val/accuracy", "rule": "below", "value": 0.5, "actions": ["multiply_lr"]})"
            << "val/accuracy" << QList<double>{0.9, 0.4, 0.3, 0.6, 0.2} << QStringList{"1:lr x0.5", "4:lr x0.5"};
        QTest::newRow("above_min rolls back at most twice, then stops")
            << R"({"rule": "above_min", "coefficient": 3, "actions": ["rollback"], "lr_factor": 0.1, "max_rollbacks": 2})"
            << "train/loss" << QList<double>{1.0, 0.8, 2.0, 2.3, 3.0, 0.5, 5, 0.5, 5}
            << QStringList{"4:rollback+lr x0.1", "6:rollback+lr x0.1", "8:stop"};
        QTest::newRow("above_min takes NaN as blown up")
            << R"({"rule": "above_min", "coefficient": 3, "actions": ["stop"]})" << "train/loss" << QList<double>{1, kNaN}
            << QStringList{"1:stop"};
        QTest::newRow("below_max")
            << R"({"metric": "val/accuracy", "rule": "below_max", "coefficient": 0.8, "actions": ["notify"]})"
            << "val/accuracy" << QList<double>{0.5, 0.9, 0.75, 0.7} << QStringList{"3:"};
        QTest::newRow("spike against the mean of the window")
            << R"({"rule": "spike", "coefficient": 2, "window": 3})" << "train/loss"
            << QList<double>{1, 1, 1, 1.5, 3, 1, 10} << QStringList{"4:", "6:"};
        QTest::newRow("slow throughput against the median")
            << R"({"metric": "samples_per_sec", "rule": "slow_throughput", "coefficient": 0.5, "window": 3})"
            << "samples_per_sec" << QList<double>{100, 10, 100, 100, 40, 30, 100, 20} << QStringList{"4:"};
        QTest::newRow("plateau stops and keeps the best")
            << R"({"metric": "val/loss", "rule": "plateau", "patience": 3, "actions": ["stop_keep_best"]})" << "val/loss"
            << QList<double>{1.0, 0.9, 0.95, 0.91, 0.92} << QStringList{"4:stop best"};
        QTest::newRow("plateau by min_delta reduces the lr again")
            << R"({"metric": "val/accuracy", "rule": "plateau", "min_delta": 0.05, "patience": 2,
                   "actions": ["multiply_lr"], "lr_factor": 0.5})"
            << "val/accuracy" << QList<double>{0.5, 0.52, 0.53, 0.54, 0.6, 0.61, 0.62}
            << QStringList{"2:lr x0.5", "6:lr x0.5"};
        QTest::newRow("plateau: NaN is no improvement")
            << R"({"rule": "plateau", "patience": 2})" << "train/loss" << QList<double>{1, kNaN, kNaN} << QStringList{"2:"};
        QTest::newRow("other metrics are not watched")
            << R"({"metric": "val/loss", "rule": "above", "value": 0})" << "train/loss" << QList<double>{1, 2}
            << QStringList{};
    }

    void rules()
    {
        QFETCH(QString, rule);
        QFETCH(QString, tag);
        QFETCH(QList<double>, values);
        QFETCH(QStringList, fired);
        Driven d(rule.toStdString());
        QStringList seen;
        for (int i = 0; i < values.size(); ++i)
            if (const auto what = d.feed(tag.toStdString(), 10 * (i + 1), values[i]))
                seen << QString("%1:%2").arg(i).arg(*what);
        QCOMPARE(seen, fired);
        // Each firing is one Alert event on the timeline, readable back.
        QCOMPARE(d.events.alerts().size(), size_t(fired.size()));
    }

    void alertDetailSaysWhatHappened()
    {
        Driven d(R"({"name": "diverging", "rule": "above_min", "coefficient": 3, "actions": ["notify", "rollback"],
                     "lr_factor": 0.1})");
        d.feed("train/loss", 10, 2.0);
        QVERIFY(d.feed("train/loss", 20, 7.0));
        const std::vector<MonitorAlert> alerts = d.events.alerts();
        QCOMPARE(alerts.size(), size_t(1));
        const MonitorAlert& a = alerts[0];
        QCOMPARE(QString::fromStdString(a.rule), QString("diverging"));
        QCOMPARE(QString::fromStdString(a.metric), QString("train/loss"));
        QCOMPARE(a.step, int64_t(20));
        QCOMPARE(a.value, 7.0);
        QCOMPARE(a.threshold, 6.0);
        QCOMPARE(QString::fromStdString(a.action), QString("notify, rollback x0.1 (1 of 3)"));
        QVERIFY2(QString::fromStdString(a.message).contains("3 x its minimum 2"), a.message.c_str());
    }

    // After a rollback the values past the checkpoint are gone: the running minimum is that
    // of the trajectory the run is back on, and the rule fires again.
    void rollbackDropsTheAbandonedValues()
    {
        Driven d(R"({"rule": "above_min", "coefficient": 3, "actions": ["rollback"]})");
        for (const auto& [step, value] : std::vector<std::pair<int64_t, double>>{{10, 1.0}, {20, 2.0}, {30, 0.5}, {40, 0.6}})
            QVERIFY(!d.feed("train/loss", step, value));
        QCOMPARE(d.feed("train/loss", 50, 2.0).value_or("none"), QString("rollback+lr x0.5"));
        // The loop keeps the rate in use across a rollback; the hook asks nothing more of it.
        TrainState back;
        back.step = 20;
        d.hook.rolledBack(back, "diverging");
        QCOMPARE(asked(d.requests), QString(""));
        QVERIFY(!d.feed("train/loss", 30, 2.5));   // 2.5 < 3 x 1.0 (the minimum up to step 20)
        QCOMPARE(d.feed("train/loss", 40, 3.5).value_or("none"), QString("rollback+lr x0.5"));
    }

    void noCheckpointStopsInstead()
    {
        Driven d(R"({"rule": "above", "value": 1, "actions": ["rollback"]})", [] { return false; });
        QCOMPARE(d.feed("train/loss", 10, 2.0).value_or("none"), QString("stop"));
        QCOMPARE(QString::fromStdString(d.hook.alerts().at(0).action), QString("stop (no checkpoint to roll back to)"));
    }

    // Adam whose rate ramps up to 0.1 over 1500 steps trains, then diverges on the way up
    // (left alone it ends near 60% accuracy); rolled back with a tenth of the rate, it trains
    // through to its last step and well.
    void explodingLearningRateIsRolledBackAndFinishes()
    {
        const std::vector<std::string> exploding{R"(optimizer={"type": "adam", "lr": 0.1})",
                                                 R"(schedule={"type": "constant", "warmup_steps": 1500})",
                                                 "training.epochs=30", "training.batch_size=40",
                                                 "training.log_every_steps=15", "training.checkpoint_every_steps=15"};
        const auto run = [&](const std::string& rule, Events& events) {
            const ExperimentSpec spec = spiralWith("[{\"rule\": \"above_min\", \"coefficient\": 3, " + rule + "}]", exploding);
            const DataBundle data = loadData(spec.data, true, spec.seed);
            QTemporaryDir dir;
            TrainOptions options;
            options.checkpointPath = dir.filePath("latest.pt").toStdString();
            options.bestCheckpointPath = dir.filePath("best.pt").toStdString();
            TrainControl control;
            return test::trainSpec(spec, data, control, events.callbacks(), options);
        };
        Events events;
        const TrainResult r = run(R"("actions": ["rollback"], "lr_factor": 0.1, "max_rollbacks": 3)", events);
        QVERIFY2(r.status == TrainStatus::Finished, r.message.c_str());
        QVERIFY2(r.message.empty(), r.message.c_str());
        QCOMPARE(r.steps, int64_t(30 * 45));   // 1800 training samples in batches of 40
        QVERIFY(!events.details(EventKind::Rollback).empty());
        QVERIFY(!events.details(EventKind::LearningRate).empty());
        QCOMPARE(events.alerts().size(), events.details(EventKind::Rollback).size());
        QVERIFY2(events.alerts().at(0).action.rfind("rollback x0.1 (1 of 3)", 0) == 0, events.alerts().at(0).action.c_str());
        const double rolledBack = r.finalMetrics.at("val/accuracy");
        QVERIFY2(rolledBack > 0.9, QByteArray::number(rolledBack));

        Events alone;
        const TrainResult annotated = run(R"("actions": ["annotate"])", alone);
        QCOMPARE(annotated.status, TrainStatus::Finished);
        QVERIFY(alone.details(EventKind::Rollback).empty());
        QVERIFY(alone.alerts().size() >= 1);
        QVERIFY2(annotated.finalMetrics.at("val/accuracy") < rolledBack - 0.1, QByteArray::number(annotated.finalMetrics.at("val/accuracy")));
    }

    // A val/loss that stops improving ends a long run early, and the best checkpoint holds
    // the best val/loss of the run.
    void earlyStoppingKeepsTheBestCheckpoint()
    {
        const ExperimentSpec spec = spiralWith(
            R"([{"metric": "val/loss", "rule": "plateau", "patience": 3, "actions": ["stop_keep_best"]}])",
            {"training.epochs=200", "training.best_metric=\"val/loss\""});
        const DataBundle data = loadData(spec.data, true, spec.seed);
        QTemporaryDir dir;
        TrainOptions options;
        options.checkpointPath = dir.filePath("latest.pt").toStdString();
        options.bestCheckpointPath = dir.filePath("best.pt").toStdString();
        TrainControl control;
        Events events;
        const TrainResult r = test::trainSpec(spec, data, control, events.callbacks(), options);
        QVERIFY2(r.status == TrainStatus::Finished, r.message.c_str());
        const int64_t stepsPerEpoch = (data.train.count() + 31) / 32;
        QVERIFY2(r.steps < stepsPerEpoch * spec.training.epochs, QByteArray::number(qlonglong(r.steps)));
        QVERIFY2(QString::fromStdString(r.message).contains("best checkpoint) restored"), r.message.c_str());
        QCOMPARE(events.alerts().size(), size_t(1));
        QCOMPARE(events.details(EventKind::Stop).size(), size_t(1));

        // The run stopped `patience` evaluations after its best val/loss, which the best
        // checkpoint holds; its weights give that val/loss again.
        const auto val = events.series("val/loss");
        const auto best = *std::min_element(val.begin(), val.end(), [](auto& a, auto& b) { return a.value < b.value; });
        QCOMPARE(val.back().step, best.step + 3 * stepsPerEpoch);
        QVERIFY(QFile::exists(dir.filePath("best.pt")));
        const PreparedExperiment e = test::prepared(spec);
        torch::nn::Sequential model = nnlab::detail::buildModel(e.spec.model, e.model);
        nnlab::detail::FlatOptimizer optimizer(e.spec.optimizer, model->parameters());
        const auto state = nnlab::detail::loadCheckpoint(options.bestCheckpointPath, *model, optimizer, e.layoutHash);
        QCOMPARE(state.step, best.step);
        QCOMPARE(state.bestValue, best.value);
        const auto validation = nnlab::detail::toTensors(data.validation, true, torch::kCPU);
        const double again = nnlab::detail::evaluate(model, validation, spec.training.batchSize, true).loss;
        QVERIFY2(std::abs(again - best.value) < 1e-6, qPrintable(QString("%1 vs %2").arg(again).arg(best.value)));
    }

    // The default rule: a NaN stops the run as failed at its step, naming the first layer
    // whose gradient went non-finite. With no rules the run goes on.
    void nanNamesItsStepAndLayer()
    {
        ExperimentSpec spec = test::spiralSpec();
        spec.training.threads = 1;
        spec.training.device = "cpu";
        QVERIFY(spec.monitors == defaultMonitors());
        DataBundle data = loadData(spec.data, true, spec.seed);
        data.train.features[10] = std::numeric_limits<float>::quiet_NaN();
        TrainControl control;
        Events events;
        const TrainResult r = test::trainSpec(spec, data, control, events.callbacks());
        QCOMPARE(r.status, TrainStatus::Failed);
        const QString message = QString::fromStdString(r.message);
        QVERIFY2(message.contains("NaN at step " + QString::number(r.steps)) && message.contains("0.weight")
                     && message.contains("lower optimizer.lr"),
                 r.message.c_str());
        const std::vector<MonitorAlert> alerts = events.alerts();
        QCOMPARE(alerts.size(), size_t(1));
        QCOMPARE(QString::fromStdString(alerts[0].rule), QString("train/loss not_finite"));
        QCOMPARE(alerts[0].step, r.steps);

        spec.monitors.clear();
        spec.training.epochs = 1;
        TrainControl again;
        Events quiet;
        const TrainResult none = test::trainSpec(spec, data, again, quiet.callbacks());
        QVERIFY2(none.status == TrainStatus::Finished, none.message.c_str());
        QVERIFY(std::isnan(none.finalMetrics.at("train/loss")));
        QVERIFY(quiet.alerts().empty());
    }
};

QTEST_APPLESS_MAIN(TestMonitors)
#include "test_monitors.moc"
