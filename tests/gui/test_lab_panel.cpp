// Lab mode's panel over the real editor panels, offscreen: what a lab locks and hides, the
// "predict, then run" gate, ticks from a hand-made store, and one tiny step trained for real.
#include "lab_panel.h"

#include "core/experiment_document.h"
#include "editor/hyperparameters_panel.h"
#include "editor/model_editor.h"

#include "nnlab/lab.h"
#include "nnlab/run_recorder.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QListWidget>
#include <QPushButton>
#include <QRadioButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

namespace {

const char* kLab = R"({"format": "nnlab.lab/1", "title": "Test lab", "summary": "s",
  "steps": [
    {"id": "one", "title": "Locked", "text": "Some **bold** text.",
     "experiment": {"name": "t", "seed": 0, "data": {"source": "moons", "samples": 200},
       "model": {"input": [2], "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"}, {"type": "linear", "out_features": 2}]},
       "optimizer": {"type": "sgd", "lr": 0.25}, "training": {"epochs": 1, "batch_size": 32, "threads": 1}},
     "locked": [{"path": "optimizer.lr", "reason": "The lab sets it."}, {"path": "model", "reason": "Same network for all."}],
     "hidden": ["schedule"],
     "question": {"prompt": "Guess?", "choices": ["low", "high"], "answer": 1},
     "observations": [{"metric": "train/loss", "op": "<", "value": 5, "holds": "fine"},
                      {"metric": "train/loss", "op": ">", "value": 5, "fails": "as expected"}]},
    {"id": "two", "title": "Free", "set": {"optimizer.lr": 0.5},
     "observations": [{"metric": "val/accuracy", "op": ">=", "value": 0}]}]})";

nnlab::Lab parseTestLab()
{
    const nnlab::LabParseResult r = nnlab::parseLab(kLab, "/tmp");
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.lab;
}

} // namespace

class TestLabPanel : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

private slots:
    void locksTheRightWidgets()
    {
        ExperimentDocument doc;
        QWidget window;
        auto* row = new QHBoxLayout(&window);
        auto* hyper = new HyperparametersPanel(&doc, &window);
        auto* model = new ModelEditor(&doc, &window);
        row->addWidget(hyper);
        row->addWidget(model);
        LabPanel panel(&doc);
        row->addWidget(&panel);
        panel.locks().setRoot(&window);
        panel.locks().setArea(QStringLiteral("model"), model);
        window.show();
        panel.setLab(parseTestLab());
        QCoreApplication::processEvents();

        // The step's experiment is in the document.
        QCOMPARE(doc.spec().optimizer.lr, 0.25);
        QCOMPARE(doc.spec().data.source, std::string("moons"));

        auto* lr = window.findChild<QWidget*>(QStringLiteral("optimizer.lr"));
        QVERIFY(lr);
        QVERIFY(!lr->isEnabled());
        QVERIFY(lr->toolTip().contains(QStringLiteral("The lab sets it.")));
        QVERIFY(window.findChild<QWidget*>(QStringLiteral("optimizer.type"))->isEnabled());
        QVERIFY(window.findChild<QWidget*>(QStringLiteral("training.epochs"))->isEnabled());
        QVERIFY(!model->isEnabled());
        QVERIFY(model->toolTip().contains(QStringLiteral("Same network")));
        auto* schedule = window.findChild<QWidget*>(QStringLiteral("schedule.type"));
        QVERIFY(!schedule->isVisibleTo(&window));
        QVERIFY(window.findChild<QWidget*>(QStringLiteral("training.epochs"))->isVisibleTo(&window));

        // An edit elsewhere re-shows rows in the panels: the lab hides them again.
        doc.apply("type", [](nnlab::ExperimentSpec& s) { s.optimizer.type = "adam"; });
        QCoreApplication::processEvents();
        QVERIFY(!schedule->isVisibleTo(&window));
        QVERIFY(!lr->isEnabled());

        // Predict, then run: Train waits for an answer.
        QVERIFY(!panel.trainButton()->isEnabled());
        panel.answers()->button(1)->click();
        QVERIFY(panel.trainButton()->isEnabled());

        // The next step locks nothing: every control comes back; its experiment is the change.
        panel.showStep(1);
        QCoreApplication::processEvents();
        QVERIFY(lr->isEnabled());
        QVERIFY(!lr->toolTip().contains(QStringLiteral("The lab sets it.")));
        QVERIFY(model->isEnabled());
        QVERIFY(schedule->isVisibleTo(&window));
        QCOMPARE(doc.spec().optimizer.lr, 0.5);
        QVERIFY(panel.trainButton()->isEnabled());   // no question

        panel.showStep(0);
        panel.closeLab();
        QVERIFY(lr->isEnabled());
        QVERIFY(model->isEnabled());
    }

    void rendersTicksFromAStore()
    {
        const std::string db = m_dir.filePath("hand.db").toStdString();
        auto recorder = nnlab::RunRecorder::open(db);
        QVERIFY(recorder.ok());
        const nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
        const auto id = recorder.value->begin(spec, nnlab::experimentToJson(spec));
        recorder.value->addMetrics({{"train/loss", 1, 0.0, 2.0}, {"train/loss", 2, 0.0, 1.0}});
        nnlab::TrainResult finished;
        finished.status = nnlab::TrainStatus::Finished;
        recorder.value->finish(finished);
        auto store = nnlab::RunStore::open(db);
        QVERIFY(store.ok());

        ExperimentDocument doc;
        LabPanel panel(&doc);
        panel.setLab(parseTestLab());
        nnlab::StepRuns runs;
        runs.runIds["run"] = id.value;
        panel.showResults(nnlab::evaluateObservations(panel.lab().steps[0], store.value.get(), runs));
        QListWidget* list = panel.resultsList();
        QCOMPARE(list->count(), 2);
        QVERIFY(list->item(0)->text().startsWith(QStringLiteral("✓ final train/loss < 5")));
        QVERIFY(list->item(0)->text().contains(QStringLiteral("final train/loss 1 < 5")));
        QVERIFY(list->item(0)->text().contains(QStringLiteral("fine")));
        QCOMPARE(list->item(0)->data(Qt::UserRole).toBool(), true);
        QVERIFY(list->item(1)->text().startsWith(QStringLiteral("✗")));
        QVERIFY(list->item(1)->text().contains(QStringLiteral("as expected")));
        QCOMPARE(list->item(1)->data(Qt::UserRole).toBool(), false);
        // Once the run is judged the answer is revealed and can no longer change.
        QVERIFY(!panel.answers()->button(0)->isEnabled());
    }

    void trainsAStep()
    {
        ExperimentDocument doc;
        LabPanel panel(&doc);
        panel.setDatabasePath(m_dir.filePath("runs.db"));
        panel.setLab(parseTestLab());
        panel.answers()->button(0)->click();
        QSignalSpy finished(&panel, &LabPanel::stepFinished);
        QSignalSpy recorded(&panel, &LabPanel::runRecorded);
        panel.train();
        QVERIFY(panel.isRunning());
        QVERIFY(finished.wait(120000));
        QCOMPARE(recorded.count(), 1);
        QCOMPARE(finished.at(0).at(0).toBool(), false);   // the second observation is made to fail
        QCOMPARE(panel.resultsList()->count(), 2);
        QVERIFY(panel.resultsList()->item(0)->text().startsWith(QStringLiteral("✓")));
    }
};

QTEST_MAIN(TestLabPanel)
#include "test_lab_panel.moc"
