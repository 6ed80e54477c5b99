// Learning-rate schedules against their closed forms (PyTorch's definitions).
#include "nnlab/spec.h"

#include <QtTest>

#include <cmath>

using namespace nnlab;

class TestSchedule : public QObject {
    Q_OBJECT
private slots:
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
