// "The LR finder's suggestion trains the default model to at least the accuracy the shipped
// setting reaches": the default Fashion-MNIST CNN (its shipped 12,000 training images, two
// epochs, AdamW with the cosine schedule) trained once at the shipped learning rate and once
// at the range test's steepest-descent suggestion; everything else the same. Deterministic
// mode makes both runs (and the range test) repeatable on one machine. The suggestion's
// validation accuracy may fall short of the shipped one by at most 0.5 percentage points
// (two of the 1,200 validation images): within that, the two are the same result.
// Skipped where the Fashion-MNIST files are not installed. About 20-40 s on two cores.
#include "nnlab/lr_finder.h"
#include "train_test_util.h"

#include <QFileInfo>
#include <QtTest>

using namespace nnlab;
using namespace nnlab::test;

namespace {

constexpr double kTolerance = 0.005;   // val/accuracy, as a fraction

double valAccuracy(const ExperimentSpec& spec, const DataBundle& data)
{
    TrainControl control;
    const TrainResult r = train(prepared(spec), data, control, {});
    if (r.status != TrainStatus::Finished)
        qFatal("training failed: %s", r.message.c_str());
    return r.finalMetrics.at("val/accuracy");
}

} // namespace

class TestLrSuggestion : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void suggestionTrainsAtLeastAsWellAsTheShippedRate()
    {
        if (!QFileInfo::exists(QString::fromStdString(defaultFashionMnistPath())))
            QSKIP("Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist");
        ExperimentSpec spec = defaultExperiment();
        spec.training.deterministic = true;
        const DataBundle data = loadData(spec.data, true, spec.seed);

        TrainControl control;
        const LrFinderResult found = findLearningRate(prepared(spec), data, control);
        QVERIFY2(found.status == TrainStatus::Finished, found.message.c_str());
        QVERIFY(found.suggestions.valid);
        const double suggested = found.suggestions.steepest;

        const double shipped = valAccuracy(spec, data);
        ExperimentSpec tuned = spec;
        tuned.optimizer.lr = suggested;
        const double withSuggestion = valAccuracy(tuned, data);
        qInfo("range test %.1f s, %zu steps; val/accuracy: shipped lr %g -> %.4f, suggested (steepest) lr %.3g -> %.4f",
              found.seconds, found.points.size(), spec.optimizer.lr, shipped, suggested, withSuggestion);
        QVERIFY2(withSuggestion >= shipped - kTolerance,
                 qPrintable(QString("suggested lr %1 reached %2, the shipped %3 reached %4")
                                .arg(suggested).arg(withSuggestion).arg(spec.optimizer.lr).arg(shipped)));
    }
};

QTEST_APPLESS_MAIN(TestLrSuggestion)
#include "test_lr_suggestion.moc"
