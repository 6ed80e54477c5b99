// The hyperparameters panel: its fields edit the spec (typing merges into one undo step),
// fields follow the optimizer and schedule types, problems show inline, and the schedule
// preview plots the learning rate at every step of the run.
#include "core/experiment_document.h"
#include "editor/hyperparameters_panel.h"
#include "editor/number_edit.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QTest>
#include <QUndoStack>

#include <qcustomplot.h>

#include <cmath>

class TestEditorHyperparameters : public QObject {
    Q_OBJECT
private slots:
    void everyFieldHasATooltipWithItsDefault()
    {
        ExperimentDocument doc;
        HyperparametersPanel panel(&doc);
        int fields = 0;
        for (QWidget* w : panel.findChildren<QWidget*>()) {
            const QString name = w->objectName();
            if (!(name.startsWith(QLatin1String("optimizer.")) || name.startsWith(QLatin1String("schedule."))
                  || name.startsWith(QLatin1String("training.")) || name == QLatin1String("seed") || name == QLatin1String("loss")))
                continue;
            if (name.endsWith(QLatin1String(".problem")))
                continue;
            ++fields;
            QVERIFY2(w->toolTip().contains(QStringLiteral("(default ")), qPrintable(name + ": " + w->toolTip()));
        }
        QCOMPARE(fields, 32);   // every field of the optimizer, schedule and training (with checkpoints and workers)
        QVERIFY(panel.findChild<QWidget*>(QStringLiteral("training.workers")));
        auto* lr = panel.findChild<QWidget*>(QStringLiteral("optimizer.lr"));
        QVERIFY(lr->toolTip().contains(QStringLiteral("(default 0.001)")));
    }

    void learningRateEntry()
    {
        ExperimentDocument doc;
        HyperparametersPanel panel(&doc);
        auto* lr = panel.findChild<LogNumberEdit*>(QStringLiteral("optimizer.lr"));
        QVERIFY(lr);
        QCOMPARE(lr->value(), 2e-3);
        const int steps = doc.undoStack()->count();
        lr->edit()->selectAll();
        QTest::keyClicks(lr->edit(), QStringLiteral("3e-4"));
        QCOMPARE(doc.spec().optimizer.lr, 3e-4);
        QCOMPARE(doc.undoStack()->count(), steps + 1);   // one step for the whole typing
        QCOMPARE(lr->slider()->value(), int(std::lround(std::log10(3e-4) * 100)));

        lr->slider()->setValue(-200);   // the slider is log10 in hundredths of a decade
        QCOMPARE(doc.spec().optimizer.lr, 0.01);
        QCOMPARE(lr->edit()->text(), QStringLiteral("0.01"));

        doc.undoStack()->undo();
        QCOMPARE(doc.spec().optimizer.lr, 2e-3);
        QCOMPARE(lr->edit()->text(), QStringLiteral("0.002"));
    }

    void fieldsFollowTheTypesAndShowProblems()
    {
        ExperimentDocument doc;
        HyperparametersPanel panel(&doc);
        auto visible = [&](const char* name) { return panel.findChild<QWidget*>(QString::fromLatin1(name))->isVisibleTo(&panel); };
        QVERIFY(visible("optimizer.betas[0]"));
        QVERIFY(!visible("optimizer.momentum"));
        panel.findChild<QComboBox*>(QStringLiteral("optimizer.type"))->setCurrentText(QStringLiteral("sgd"));
        QCOMPARE(doc.spec().optimizer.type, std::string("sgd"));
        QVERIFY(visible("optimizer.momentum"));
        QVERIFY(visible("optimizer.nesterov"));
        QVERIFY(!visible("optimizer.betas[0]"));

        // Nesterov without momentum is a problem, shown next to the field.
        panel.findChild<QCheckBox*>(QStringLiteral("optimizer.nesterov"))->setChecked(true);
        auto* problem = panel.findChild<QLabel*>(QStringLiteral("optimizer.nesterov.problem"));
        QVERIFY(!problem->isHidden());
        QVERIFY(problem->text().contains(QStringLiteral("momentum")));
        panel.findChild<QDoubleSpinBox*>(QStringLiteral("optimizer.momentum"))->setValue(0.9);
        QVERIFY(problem->isHidden());
        QCOMPARE(doc.spec().optimizer.momentum, 0.9);

        panel.findChild<QComboBox*>(QStringLiteral("schedule.type"))->setCurrentText(QStringLiteral("onecycle"));
        QVERIFY(visible("schedule.pct_start"));
        QVERIFY(!visible("schedule.warmup_steps"));

        // Out-of-range numbers reach the spec, and validation explains them inline.
        auto* gamma = panel.findChild<NumberEdit*>(QStringLiteral("schedule.gamma"));
        panel.findChild<QComboBox*>(QStringLiteral("schedule.type"))->setCurrentText(QStringLiteral("step"));
        gamma->selectAll();
        QTest::keyClicks(gamma, QStringLiteral("2"));
        QCOMPARE(doc.spec().schedule.gamma, 2.0);
        QVERIFY(!panel.findChild<QLabel*>(QStringLiteral("schedule.gamma.problem"))->isHidden());

        panel.findChild<QSpinBox*>(QStringLiteral("training.threads"))->setValue(3);
        QCOMPARE(doc.spec().training.threads, 3);
        panel.findChild<QLineEdit*>(QStringLiteral("seed"))->setText(QStringLiteral("12345678901"));
        QCOMPARE(doc.spec().seed, uint64_t(12345678901));
        panel.findChild<QComboBox*>(QStringLiteral("loss"))->setCurrentText(QStringLiteral("mse"));
        QCOMPARE(doc.spec().loss, std::string("mse"));
    }

    void schedulePreviewHasAPointPerStep()
    {
        ExperimentDocument doc;   // 12000 limit, 10% validation: 10800 samples, 169 steps an epoch
        HyperparametersPanel panel(&doc);
        QCPGraph* graph = panel.schedulePlot()->graph(0);
        QCOMPARE(panel.stepPlan().stepsPerEpoch, 169);
        QCOMPARE(graph->dataCount(), 338);
        const auto& spec = doc.spec();
        for (int step : {0, 50, 99, 100, 337})
            QCOMPARE(graph->data()->at(step)->value, nnlab::learningRateAt(spec.schedule, spec.optimizer.lr, step, 338, 169));

        panel.findChild<QSpinBox*>(QStringLiteral("training.epochs"))->setValue(5);
        QCOMPARE(doc.spec().training.epochs, 5);
        QCOMPARE(graph->dataCount(), 845);
        panel.findChild<QSpinBox*>(QStringLiteral("training.batch_size"))->setValue(100);
        QCOMPARE(graph->dataCount(), 5 * 108);

        // A count from the loaded data replaces the estimate until the data options change.
        panel.setLoadedTrainSamples(1000);
        QCOMPARE(panel.stepPlan().stepsPerEpoch, 10);
        QVERIFY(panel.stepPlan().exact);
        doc.apply(QStringLiteral("limit"), [](nnlab::ExperimentSpec& s) { s.data.trainLimit = 2000; });
        QCOMPARE(panel.stepPlan().trainSamples, 1800);
        QVERIFY(!panel.stepPlan().exact);

        // Long runs are sampled evenly, first and last step kept.
        panel.findChild<QSpinBox*>(QStringLiteral("training.batch_size"))->setValue(1);
        panel.findChild<QSpinBox*>(QStringLiteral("training.epochs"))->setValue(100);
        QCOMPARE(panel.stepPlan().totalSteps, 180000);
        QCOMPARE(graph->dataCount(), HyperparametersPanel::kMaxPlotPoints);
        QCOMPARE(graph->data()->at(0)->key, 0.0);
        QCOMPARE(graph->data()->at(graph->dataCount() - 1)->key, 179999.0);
    }

    void stepPlanEstimates_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<qint64>("samples");
        QTest::addColumn<qint64>("limit");
        QTest::addColumn<double>("fraction");
        QTest::addColumn<qint64>("train");
        QTest::newRow("fashion, all") << "fashion-mnist" << qint64(0) << qint64(0) << 0.1 << qint64(54000);
        QTest::newRow("cifar, limit") << "cifar10" << qint64(0) << qint64(5000) << 0.2 << qint64(4000);
        QTest::newRow("limit above size") << "cifar10" << qint64(0) << qint64(90000) << 0.0 << qint64(50000);
        QTest::newRow("spiral") << "spiral" << qint64(1000) << qint64(0) << 0.25 << qint64(750);
        QTest::newRow("csv, limit") << "csv" << qint64(0) << qint64(300) << 0.1 << qint64(270);
        QTest::newRow("tiny fraction holds one out") << "moons" << qint64(10) << qint64(0) << 0.01 << qint64(9);
    }

    void stepPlanEstimates()
    {
        QFETCH(QString, source);
        QFETCH(qint64, samples);
        QFETCH(qint64, limit);
        QFETCH(double, fraction);
        QFETCH(qint64, train);
        nnlab::ExperimentSpec spec;
        spec.data.source = source.toStdString();
        spec.data.samples = samples;
        spec.data.trainLimit = limit;
        spec.data.validationFraction = fraction;
        spec.training.batchSize = 64;
        const StepPlan plan = planSteps(spec);
        QCOMPARE(plan.trainSamples, train);
        QCOMPARE(plan.stepsPerEpoch, (train + 63) / 64);
    }
};

QTEST_MAIN(TestEditorHyperparameters)
#include "test_editor_hyperparameters.moc"
