// Learning-rate schedules against PyTorch's schedulers. wholeRunMatchesTorch() compares every
// step of whole runs with a reference written here from torch.optim.lr_scheduler (1.13) as
// PyTorch computes it: the recursive ("chainable") get_lr of StepLR, ExponentialLR, LinearLR
// and CosineAnnealingLR stepped once an epoch or once a step, OneCycleLR's phase table, and
// SequentialLR's hand-over from the warm-up to the cosine. The engine uses closed forms, so
// the two are independent. The point checks below them pin a few values by hand.
#include "nnlab/spec.h"

#include <QtTest>

#include <cmath>
#include <vector>

using namespace nnlab;

Q_DECLARE_METATYPE(nnlab::ScheduleSpec)

namespace {

constexpr double kPi = 3.14159265358979323846;

// torch.optim.lr_scheduler.LinearLR(start_factor=1/W, end_factor=1, total_iters=W-1), stepped
// each step: the warm-up. Returns the rates of steps 0..W-1.
std::vector<double> linearWarmup(double base, int64_t w)
{
    const double start = 1.0 / static_cast<double>(w), end = 1.0;
    const double totalIters = static_cast<double>(w - 1);
    std::vector<double> lrs;
    double lr = base;
    for (int64_t t = 0; t < w; ++t) {
        if (t == 0)
            lr = lr * start;
        else if (t <= totalIters)
            lr = lr * (1.0 + (end - start) / (totalIters * start + static_cast<double>(t - 1) * (end - start)));
        lrs.push_back(lr);
    }
    return lrs;
}

// CosineAnnealingLR(T_max, eta_min).get_lr, stepped each step, for `count` steps.
std::vector<double> cosineAnnealing(double base, double etaMin, int64_t tMax, int64_t count)
{
    std::vector<double> lrs;
    double lr = base;
    const double T = static_cast<double>(tMax);
    for (int64_t t = 0; t < count; ++t) {
        const double e = static_cast<double>(t);
        if (t == 0)
            lr = base;
        else if ((t - 1 - tMax) % (2 * tMax) == 0)
            lr = lr + (base - etaMin) * (1 - std::cos(kPi / T)) / 2;
        else
            lr = (1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lr - etaMin) + etaMin;
        lrs.push_back(lr);
    }
    return lrs;
}

// OneCycleLR(max_lr=base, total_steps, pct_start, anneal_strategy='cos', div_factor,
// final_div_factor, three_phase=False).get_lr at step_num.
double oneCycle(const ScheduleSpec& s, double base, int64_t total, int64_t stepNum)
{
    const double initial = base / s.divFactor, minLr = initial / s.finalDivFactor;
    struct Phase {
        double endStep, startLr, endLr;
    };
    const Phase phases[] = {{s.pctStart * static_cast<double>(total) - 1, initial, base},
                            {static_cast<double>(total) - 1, base, minLr}};
    double startStep = 0;
    for (int i = 0; i < 2; ++i) {
        const Phase& phase = phases[i];
        if (static_cast<double>(stepNum) <= phase.endStep || i == 1) {
            const double pct = (static_cast<double>(stepNum) - startStep) / (phase.endStep - startStep);
            const double cosOut = std::cos(kPi * pct) + 1;
            return phase.endLr + (phase.startLr - phase.endLr) / 2.0 * cosOut;
        }
        startStep = phase.endStep;
    }
    return 0;
}

// The rate of every step of a run, as PyTorch's schedulers give it. Epoch schedulers (StepLR,
// ExponentialLR) are stepped once an epoch; a warm-up replaces their first W steps (they go on
// at their own epoch). A warm-up before a cosine is SequentialLR([LinearLR, CosineAnnealingLR(
// T_max = total - W)], milestones=[W]).
std::vector<double> torchRates(const ScheduleSpec& s, double base, int64_t total, int64_t perEpoch)
{
    std::vector<double> lrs;
    if (s.type == "onecycle") {
        for (int64_t t = 0; t < total; ++t)
            lrs.push_back(oneCycle(s, base, total, t));
        return lrs;
    }
    int64_t w = s.warmupSteps;
    if (s.type == "warmup_cosine" && w == 0)
        w = std::max<int64_t>(1, total / 20);   // the documented 5%, rounded down
    if (s.type == "cosine" || s.type == "warmup_cosine") {
        lrs = w > 0 ? linearWarmup(base, w) : std::vector<double>{};
        const auto cosine = cosineAnnealing(base, s.minLr, total - w, total - w);
        lrs.insert(lrs.end(), cosine.begin(), cosine.end());
        return lrs;
    }
    double lr = base;
    for (int64_t epoch = 0; static_cast<int64_t>(lrs.size()) < total; ++epoch) {
        if (s.type == "step" && epoch > 0 && epoch % s.stepSize == 0)
            lr *= s.gamma;
        else if (s.type == "exponential" && epoch > 0)
            lr *= s.gamma;
        for (int64_t i = 0; i < perEpoch && static_cast<int64_t>(lrs.size()) < total; ++i)
            lrs.push_back(lr);
    }
    const auto warm = w > 0 ? linearWarmup(base, w) : std::vector<double>{};
    std::copy(warm.begin(), warm.end(), lrs.begin());
    return lrs;
}

ScheduleSpec schedule(const char* type, int64_t warmupSteps = 0)
{
    ScheduleSpec s;
    s.type = type;
    s.warmupSteps = warmupSteps;
    return s;
}

} // namespace

class TestSchedule : public QObject {
    Q_OBJECT
private slots:
    void wholeRunMatchesTorch_data()
    {
        QTest::addColumn<ScheduleSpec>("spec");
        QTest::addColumn<double>("base");
        QTest::addColumn<qint64>("total");
        QTest::addColumn<qint64>("perEpoch");

        QTest::newRow("constant") << schedule("constant") << 0.1 << qint64(200) << qint64(20);
        QTest::newRow("constant warm-up 30") << schedule("constant", 30) << 0.1 << qint64(200) << qint64(20);
        ScheduleSpec step = schedule("step");
        step.stepSize = 2;
        step.gamma = 0.5;
        QTest::newRow("step 2 x0.5") << step << 0.3 << qint64(1000) << qint64(100);
        step.stepSize = 3;
        step.gamma = 0.1;
        step.warmupSteps = 50;
        QTest::newRow("step 3 x0.1 warm-up 50, uneven epochs") << step << 0.01 << qint64(1234) << qint64(95);
        ScheduleSpec exponential = schedule("exponential");
        exponential.gamma = 0.9;
        QTest::newRow("exponential 0.9") << exponential << 1.0 << qint64(600) << qint64(30);
        exponential.gamma = 0.8;
        exponential.warmupSteps = 20;
        QTest::newRow("exponential 0.8 warm-up 20") << exponential << 0.05 << qint64(500) << qint64(50);
        QTest::newRow("cosine") << schedule("cosine") << 0.1 << qint64(1000) << qint64(100);
        ScheduleSpec cosine = schedule("cosine", 100);
        cosine.minLr = 0.001;
        QTest::newRow("cosine warm-up 100 min 0.001 (default experiment)") << cosine << 0.01 << qint64(1690) << qint64(169);
        QTest::newRow("cosine 7 steps") << schedule("cosine") << 0.1 << qint64(7) << qint64(7);
        QTest::newRow("warmup_cosine default warm-up") << schedule("warmup_cosine") << 0.1 << qint64(1000) << qint64(100);
        QTest::newRow("warmup_cosine 10 steps") << schedule("warmup_cosine") << 0.1 << qint64(10) << qint64(5);
        ScheduleSpec warmupCosine = schedule("warmup_cosine", 200);
        warmupCosine.minLr = 1e-4;
        QTest::newRow("warmup_cosine warm-up 200 min 1e-4") << warmupCosine << 0.003 << qint64(2000) << qint64(100);
        QTest::newRow("onecycle") << schedule("onecycle") << 0.1 << qint64(1000) << qint64(100);
        ScheduleSpec oneCycleSpec = schedule("onecycle");
        oneCycleSpec.pctStart = 0.25;
        oneCycleSpec.divFactor = 10;
        oneCycleSpec.finalDivFactor = 100;
        QTest::newRow("onecycle 0.25 /10 /100, 337 steps") << oneCycleSpec << 0.05 << qint64(337) << qint64(40);
        oneCycleSpec.pctStart = 0.5;
        QTest::newRow("onecycle 0.5, 2300 steps") << oneCycleSpec << 1.0 << qint64(2300) << qint64(230);
    }

    void wholeRunMatchesTorch()
    {
        QFETCH(ScheduleSpec, spec);
        QFETCH(double, base);
        QFETCH(qint64, total);
        QFETCH(qint64, perEpoch);
        const std::vector<double> expected = torchRates(spec, base, total, perEpoch);
        QCOMPARE(static_cast<qint64>(expected.size()), total);
        for (qint64 i = 0; i < total; ++i) {
            const double got = learningRateAt(spec, base, i, total, perEpoch);
            const double want = expected[static_cast<size_t>(i)];
            if (std::abs(got - want) > 1e-9 * base)
                QFAIL(qPrintable(QString("step %1 of %2: lr %3, PyTorch %4").arg(i).arg(total).arg(got, 0, 'g', 12)
                                     .arg(want, 0, 'g', 12)));
        }
    }

    // cosine has no warm-up unless asked; warmup_cosine warms up over 5% of the run by default
    // and is cosine itself once warmup_steps is given.
    void cosineAndWarmupCosineDiffer()
    {
        const ScheduleSpec cosine = schedule("cosine"), warm = schedule("warmup_cosine");
        QCOMPARE(learningRateAt(cosine, 0.1, 0, 1000, 100), 0.1);
        QCOMPARE(learningRateAt(warm, 0.1, 0, 1000, 100), 0.1 / 50);
        QCOMPARE(learningRateAt(warm, 0.1, 49, 1000, 100), 0.1);
        QCOMPARE(learningRateAt(warm, 0.1, 50, 1000, 100), 0.1);   // the cosine starts after the warm-up
        QVERIFY(learningRateAt(warm, 0.1, 51, 1000, 100) < 0.1);
        for (int64_t i = 0; i < 1000; i += 37)
            QCOMPARE(learningRateAt(schedule("warmup_cosine", 80), 0.1, i, 1000, 100),
                     learningRateAt(schedule("cosine", 80), 0.1, i, 1000, 100));
    }

    void constantWithWarmup()
    {
        ScheduleSpec s;
        s.warmupSteps = 10;
        QCOMPARE(learningRateAt(s, 0.1, 0, 100, 10), 0.01);
        QCOMPARE(learningRateAt(s, 0.1, 9, 100, 10), 0.1);
        QCOMPARE(learningRateAt(s, 0.1, 50, 100, 10), 0.1);
    }
    void stepDecaysPerEpochs()
    {
        ScheduleSpec s;
        s.type = "step";
        s.stepSize = 2;
        s.gamma = 0.5;
        QCOMPARE(learningRateAt(s, 1.0, 19, 100, 10), 1.0);    // epoch 1
        QCOMPARE(learningRateAt(s, 1.0, 20, 100, 10), 0.5);    // epoch 2
        QCOMPARE(learningRateAt(s, 1.0, 45, 100, 10), 0.25);   // epoch 4
    }
    void exponential()
    {
        ScheduleSpec s;
        s.type = "exponential";
        s.gamma = 0.9;
        QVERIFY(qFuzzyCompare(learningRateAt(s, 1.0, 30, 100, 10), 0.729));
    }
    void cosineEndsAtMinLr()
    {
        ScheduleSpec s;
        s.type = "cosine";
        s.minLr = 0.001;
        QCOMPARE(learningRateAt(s, 0.1, 0, 100, 10), 0.1);
        QVERIFY(qFuzzyCompare(learningRateAt(s, 0.1, 50, 100, 10), 0.0505));   // halfway
        QVERIFY(qFuzzyCompare(learningRateAt(s, 0.1, 100, 100, 10), 0.001));
    }
    void oneCycleRisesThenFalls()
    {
        ScheduleSpec s;
        s.type = "onecycle";
        const double first = learningRateAt(s, 1.0, 0, 1000, 100);
        QVERIFY(qFuzzyCompare(first, 1.0 / 25.0));
        double peak = 0;
        int64_t peakStep = 0;
        for (int64_t i = 0; i < 1000; ++i)
            if (learningRateAt(s, 1.0, i, 1000, 100) > peak) {
                peak = learningRateAt(s, 1.0, i, 1000, 100);
                peakStep = i;
            }
        QVERIFY(qFuzzyCompare(peak, 1.0));
        QVERIFY(std::abs(peakStep - 299) <= 1);
        QVERIFY(learningRateAt(s, 1.0, 999, 1000, 100) < 1e-5);
    }
};

QTEST_APPLESS_MAIN(TestSchedule)
#include "test_schedule.moc"
