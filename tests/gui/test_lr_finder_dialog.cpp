// The LR finder dialog: on a result computed beforehand, each "Use" button is one undoable
// edit of the experiment (the one-cycle one sets the schedule and the maximum together),
// the curve is on a log axis with the suggestions marked; and a real run on the spiral
// example ends in exactly one terminal signal, also when stopped or closed while running.
#include "core/experiment_document.h"
#include "editor/lr_finder_dialog.h"

#include "nnlab/spec_json.h"

#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QUndoStack>

#include <qcustomplot.h>

#include <cmath>

namespace {

nnlab::ExperimentSpec spiral()
{
    const nnlab::ParseResult r = nnlab::loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

// A range test's shape: flat, falling fastest around 1e-3, lowest near 1e-1, then rising.
nnlab::LrFinderResult precomputed()
{
    nnlab::LrFinderResult r;
    r.status = nnlab::TrainStatus::Finished;
    r.options.steps = 120;
    for (int64_t i = 0; i < r.options.steps; ++i) {
        const double lr = nnlab::lrFinderRate(r.options, i);
        const double x = std::log10(lr);
        const double loss = 2.0 - std::tanh((x + 3.0) * 2.0) * 0.9 + (x > -1 ? (x + 1) * (x + 1) : 0.0);
        r.points.push_back({/*lr*/ lr, /*loss*/ loss + 0.05 * std::sin(static_cast<double>(i)), /*smoothedLoss*/ loss});
    }
    r.suggestions = nnlab::suggestLearningRates(r.points, r.options.startLr, r.options.endLr);
    r.seconds = 3.5;
    return r;
}

double rounded(double lr) { return QString::number(lr, 'g', 3).toDouble(); }

} // namespace

class TestLrFinderDialog : public QObject {
    Q_OBJECT
private slots:
    void useButtonsAreUndoableEdits()
    {
        ExperimentDocument doc;
        doc.reset(spiral());
        LrFinderDialog dialog(&doc);
        for (QPushButton* b : {dialog.useSteepestButton(), dialog.useMinimumButton(), dialog.useOneCycleButton()})
            QVERIFY(!b->isEnabled());   // nothing to use before a result

        const nnlab::LrFinderResult result = precomputed();
        const nnlab::LrSuggestions& s = result.suggestions;
        QVERIFY(s.valid);
        dialog.showResult(result);
        QVERIFY(dialog.useSteepestButton()->isEnabled());
        QCOMPARE(dialog.useSteepestButton()->text(), QString("Use steepest (%1)").arg(QString::number(s.steepest, 'g', 3)));
        QCOMPARE(dialog.useMinimumButton()->text(), QString("Use minimum/10 (%1)").arg(QString::number(s.minimum, 'g', 3)));

        QUndoStack* undo = doc.undoStack();
        const int before = undo->count();
        const double shippedLr = doc.spec().optimizer.lr;
        QTest::mouseClick(dialog.useSteepestButton(), Qt::LeftButton);
        QCOMPARE(undo->count(), before + 1);
        QCOMPARE(doc.spec().optimizer.lr, rounded(s.steepest));
        QCOMPARE(QString::fromStdString(doc.spec().schedule.type), QString("constant"));

        QTest::mouseClick(dialog.useMinimumButton(), Qt::LeftButton);
        QCOMPARE(undo->count(), before + 2);
        QCOMPARE(doc.spec().optimizer.lr, rounded(s.minimum));

        QTest::mouseClick(dialog.useOneCycleButton(), Qt::LeftButton);
        QCOMPARE(undo->count(), before + 3);
        QCOMPARE(QString::fromStdString(doc.spec().schedule.type), QString("onecycle"));
        QCOMPARE(doc.spec().optimizer.lr, rounded(s.oneCycleMax));
        QVERIFY(doc.isValid());

        undo->undo();   // the one-cycle edit goes back in one step: schedule and lr together
        QCOMPARE(QString::fromStdString(doc.spec().schedule.type), QString("constant"));
        QCOMPARE(doc.spec().optimizer.lr, rounded(s.minimum));
        undo->undo();
        undo->undo();
        QCOMPARE(doc.spec().optimizer.lr, shippedLr);
    }

    void curveOnALogAxisWithMarkers()
    {
        ExperimentDocument doc;
        doc.reset(spiral());
        LrFinderDialog dialog(&doc);
        const nnlab::LrFinderResult result = precomputed();
        dialog.showResult(result);
        QCustomPlot* plot = dialog.plot();
        QCOMPARE(plot->xAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(!plot->xAxis->ticker().dynamicCast<QCPAxisTickerLog>().isNull());
        QCOMPARE(plot->graph(1)->dataCount(), static_cast<int>(result.points.size()));
        int tracers = 0;
        for (int i = 0; i < plot->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemTracer*>(plot->item(i))) {
                ++tracers;
                QVERIFY(t->graphKey() == result.suggestions.steepest || t->graphKey() == result.suggestions.minimum);
            }
        QCOMPARE(tracers, 2);
        QVERIFY(dialog.statusLabel()->text().startsWith("120 steps"));

        nnlab::LrFinderResult tooShort;
        tooShort.status = nnlab::TrainStatus::Finished;
        tooShort.points = {result.points[0], result.points[1]};
        dialog.showResult(tooShort);
        QVERIFY(!dialog.useSteepestButton()->isEnabled());
        QCOMPARE(plot->itemCount(), 0);
    }

    void runsOnTheSpiral()
    {
        ExperimentDocument doc;
        doc.reset(spiral());
        const nnlab::ExperimentSpec before = doc.spec();
        LrFinderDialog dialog(&doc);
        QSignalSpy ended(&dialog, &LrFinderDialog::runEnded);
        dialog.start();
        QVERIFY(dialog.isRunning());
        QVERIFY(ended.wait(120000));
        QCOMPARE(ended.count(), 1);
        QVERIFY(!dialog.isRunning());
        QVERIFY2(dialog.result().suggestions.valid, qPrintable(dialog.statusLabel()->text()));
        QVERIFY(dialog.plot()->graph(1)->dataCount() > 20);
        QVERIFY(dialog.useSteepestButton()->isEnabled());
        QVERIFY(doc.spec() == before);   // nothing changes until a suggestion is used
        QTest::qWait(200);
        QCOMPARE(ended.count(), 1);
    }

    void stopAndCloseWhileRunning()
    {
        ExperimentDocument doc;
        nnlab::ExperimentSpec spec = spiral();
        doc.reset(spec);
        LrFinderDialog dialog(&doc);
        dialog.findChild<QSpinBox*>()->setValue(100000);   // far longer than the test waits
        QSignalSpy ended(&dialog, &LrFinderDialog::runEnded);
        dialog.start();
        QTest::qWait(300);
        dialog.cancel();
        QVERIFY(ended.wait(30000));
        QCOMPARE(dialog.statusLabel()->text(), QString("Stopped."));
        QVERIFY(!dialog.useSteepestButton()->isEnabled());

        auto* closing = new LrFinderDialog(&doc);   // destroyed mid-run: cancels and waits
        closing->start();
        QTest::qWait(200);
        delete closing;
    }
};

QTEST_MAIN(TestLrFinderDialog)
#include "test_lr_finder_dialog.moc"
