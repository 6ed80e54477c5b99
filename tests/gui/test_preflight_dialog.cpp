// Train > Check: the pre-flight dialog runs the checks on its worker thread and shows the
// report: one row per check with its icon and explanation, the gradient flow per layer,
// and what enters the network (images with labels, or feature ranges and rows).
#include "core/experiment_document.h"
#include "editor/image_grid.h"
#include "editor/preflight_dialog.h"

#include "nnlab/spec_json.h"

#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTreeWidget>
#include <QtTest>

using namespace nnlab;

namespace {

ExperimentSpec spiral(const std::vector<std::string>& overrides = {})
{
    std::vector<std::string> all{"data.samples=600"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json", all);
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

CheckResult check(CheckId id, CheckStatus status, const std::string& explanation)
{
    CheckResult c;
    c.id = id;
    c.title = toString(id);
    c.status = status;
    c.explanation = explanation;
    c.numbers = {{"measured", 1.5}};
    return c;
}

} // namespace

class TestPreflightDialog : public QObject {
    Q_OBJECT
private slots:
    // The real checks on the worker thread, then the report for tabular data.
    void runsTheChecksAndShowsTheReport()
    {
        ExperimentDocument document;
        document.reset(spiral());
        PreflightDialog dialog(&document);
        dialog.show();
        QSignalSpy finished(&dialog, &PreflightDialog::finished);
        dialog.start();
        QVERIFY(dialog.isRunning());
        QVERIFY(finished.wait(120000));
        QVERIFY(!dialog.isRunning());
        QTreeWidget* checks = dialog.checksView();
        QCOMPARE(checks->topLevelItemCount(), 7);
        for (int i = 0; i < checks->topLevelItemCount(); ++i) {
            const QTreeWidgetItem* item = checks->topLevelItem(i);
            QVERIFY2(item->data(0, Qt::UserRole).toInt() == int(CheckStatus::Pass), qPrintable(item->text(1)));
            QVERIFY(!item->icon(0).isNull());
            QVERIFY(!item->text(1).isEmpty());
        }
        QVERIFY(checks->topLevelItem(int(CheckId::InitialLoss))->childCount() >= 2);   // its numbers
        // Tabular data: feature ranges and the batch's rows with labels, no image grid.
        QVERIFY(dialog.imageGrid()->isHidden());
        QCOMPARE(dialog.featureTable()->rowCount(), 2);
        QCOMPARE(dialog.samplesTable()->rowCount(), 16);
        QCOMPARE(dialog.samplesTable()->columnCount(), 3);
        QVERIFY(!dialog.samplesTable()->item(0, 2)->text().isEmpty());
        QVERIFY(dialog.layersTable()->rowCount() >= 3);
    }

    void failedCheckShowsItsExplanation()
    {
        ExperimentDocument document;
        document.reset(spiral({"optimizer.lr=10"}));
        PreflightDialog dialog(&document);
        QSignalSpy finished(&dialog, &PreflightDialog::finished);
        dialog.start();
        QVERIFY(finished.wait(120000));
        bool named = false;
        for (int i = 0; i < dialog.checksView()->topLevelItemCount(); ++i) {
            const QTreeWidgetItem* item = dialog.checksView()->topLevelItem(i);
            if (item->data(0, Qt::UserRole).toInt() == int(CheckStatus::Fail))
                named = named || item->text(1).contains("optimizer.lr");
        }
        QVERIFY(named);
    }

    // An image report: the de-normalised batch as images with their class names.
    void showsImagesWithLabels()
    {
        ExperimentDocument document;
        PreflightDialog dialog(&document);
        PreflightReport report;
        report.checks = {check(CheckId::OutputLayer, CheckStatus::Pass, "linear"),
                         check(CheckId::InputRange, CheckStatus::Fail, "the inputs are not normalised")};
        report.input.images = true;
        report.input.sampleShape = {1, 4, 4};
        report.input.classNames = {"cat", "dog"};
        report.input.labels = {1, 0, 1};
        for (int i = 0; i < 3 * 16; ++i)
            report.input.samples.push_back(float(i * 5));
        report.input.features = {FeatureRange{"channel 0", -1, 2, 0, 1, 0, 255, 120, 70}};
        report.input.normalized = true;
        dialog.showReport(report);
        QCOMPARE(dialog.checksView()->topLevelItemCount(), 2);
        QCOMPARE(dialog.checksView()->topLevelItem(1)->text(1), QString("the inputs are not normalised"));
        QVERIFY(!dialog.imageGrid()->isHidden());
        QCOMPARE(dialog.imageGrid()->sampleCount(), 3);
        QCOMPARE(dialog.imageGrid()->samples()[0].label, QString("dog"));
        QCOMPARE(dialog.imageGrid()->samples()[1].label, QString("cat"));
        QCOMPARE(dialog.imageGrid()->samples()[0].image.size(), QSize(4, 4));
        QCOMPARE(qGray(dialog.imageGrid()->samples()[2].image.pixel(3, 3)), (32 + 15) * 5);
        QCOMPARE(dialog.featureTable()->rowCount(), 1);
        QCOMPARE(dialog.featureTable()->item(0, 6)->text(), QString("255"));
    }

    void cancelEndsWithAReport()
    {
        ExperimentDocument document;
        document.reset(spiral({"data.samples=3000"}));
        PreflightDialog dialog(&document);
        QSignalSpy finished(&dialog, &PreflightDialog::finished);
        dialog.start();
        dialog.cancel();
        QVERIFY(finished.wait(120000));
        QCOMPARE(dialog.report().checks.size(), size_t(7));
    }
};

QTEST_MAIN(TestPreflightDialog)
#include "test_preflight_dialog.moc"
