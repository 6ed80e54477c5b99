// The compression views over the real engine, kept small: one run (600 Fashion-MNIST images,
// one epoch) is pruned (half the weights, by magnitude, one-shot) through the Compress dialog's queue on its worker thread; the
// recorded child then appears on the Pareto chart beside its parent, and the per-layer view
// reads both models' layers and weights back from the store.
#include "compress/compress_dialog.h"
#include "compress/layer_compare_view.h"
#include "compress/pareto_chart.h"
#include "compress/pareto_view.h"
#include "compress/background_task.h"

#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QComboBox>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class TestCompressGuiEngine : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_db;
    QString m_parent;
    QString m_child;

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db");
        const nnlab::ParseResult parsed =
            nnlab::loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json",
                                      {"data.train_limit=600", "training.epochs=1", "training.threads=1"});
        QVERIFY2(parsed.complete, parsed.errorText().c_str());
        const nnlab::Preparation prepared = nnlab::prepareExperiment(parsed);
        QVERIFY2(prepared.ok(), prepared.errorText().c_str());
        nnlab::TrainControl control;
        nnlab::RunSessionOptions options;
        options.databasePath = m_db.toStdString();
        const nnlab::RunSessionResult run = nnlab::runTrainingSession(prepared.experiment, control, options);
        QVERIFY2(run.result.status == nnlab::TrainStatus::Finished, run.result.message.c_str());
        m_parent = QString::fromStdString(run.runId);
    }

    void dialogRunsAJob()
    {
        CompressDialog dialog(m_db, m_parent, "fashion-cnn");
        QSignalSpy recorded(&dialog, &CompressDialog::runRecorded);
        QSignalSpy ended(&dialog, &CompressDialog::jobEnded);
        dialog.findChild<QComboBox*>("method")->setCurrentIndex(CompressDialog::PrunePage);
        dialog.findChild<QLineEdit*>("sparsity")->setText("0.5");
        QVERIFY(dialog.addJob());
        QVERIFY(dialog.isRunning());
        QVERIFY(ended.wait(240000));
        QVERIFY2(dialog.jobState(0) == CompressDialog::JobState::Finished, qPrintable(dialog.jobMessage(0)));
        QCOMPARE(recorded.count(), 1);
        m_child = recorded.at(0).at(0).toString();
        QCOMPARE(dialog.jobRunId(0), m_child);
        QVERIFY(!dialog.jobMessage(0).isEmpty());   // the engine's one-line summary
    }

    void dialogDistillsAStudent()
    {
        CompressDialog dialog(m_db, m_parent, "fashion-cnn");
        QSignalSpy recorded(&dialog, &CompressDialog::runRecorded);
        QSignalSpy ended(&dialog, &CompressDialog::jobEnded);
        dialog.findChild<QComboBox*>("method")->setCurrentIndex(CompressDialog::DistillPage);
        // The default experiment as its own student (it fits the teacher; two short epochs).
        dialog.findChild<QLineEdit*>("studentFile")->setText(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
        QStringList problems;
        const auto job = dialog.currentJob(&problems);
        QVERIFY2(job, qPrintable(problems.join('\n')));
        QCOMPARE(job->distill.alpha, 0.7);
        QVERIFY(dialog.addJob());
        QVERIFY(ended.wait(600000));
        QVERIFY2(dialog.jobState(0) == CompressDialog::JobState::Finished, qPrintable(dialog.jobMessage(0)));
        QCOMPARE(recorded.count(), 1);
        auto store = nnlab::RunStore::open(m_db.toStdString());
        QVERIFY(store.ok());
        const auto student = store.value->getRun(recorded.at(0).at(0).toString().toStdString());
        QVERIFY(student.ok());
        QCOMPARE(QString::fromStdString(student.value.parentId), m_parent);
    }

    void paretoShowsParentAndChild()
    {
        QVERIFY(!m_child.isEmpty());
        ParetoView view;
        view.setStorePath(m_db);
        view.showRuns({m_parent});   // the child comes with its parent
        QVERIFY(view.isLoading());
        QVERIFY(view.task()->waitForEnd(240000));
        QCOMPARE(view.chart()->rows().size(), size_t(3));   // parent, pruned, distilled
        const QStringList plotted = view.chart()->plottedRuns();
        QVERIFY2(plotted.contains(m_parent) && plotted.contains(m_child), qPrintable(plotted.join(' ')));
        for (const auto& row : view.chart()->rows())
            if (QString::fromStdString(row.runId) == m_child) {
                QCOMPARE(row.method, nnlab::CompressMethod::PruneUnstructured);
                QCOMPARE(QString::fromStdString(row.parentId), m_parent);
                QVERIFY(row.measurement.fileBytes > 0);
            }
        QVERIFY(!view.chart()->frontierRuns().isEmpty());
    }

    void layersOfTheChild()
    {
        QVERIFY(!m_child.isEmpty());
        const LayerComparison c = LayerCompareView::load(m_db.toStdString(), m_child.toStdString());
        QCOMPARE(c.parentId, m_parent);
        QCOMPARE(c.method, nnlab::CompressMethod::PruneUnstructured);
        QVERIFY(!c.child.empty());
        QVERIFY(!c.parent.empty());
        QVERIFY2(c.weightsNote.isEmpty(), qPrintable(c.weightsNote));
        QVERIFY(!c.parentWeights.empty());
        QCOMPARE(c.childWeights.size(), c.parentWeights.size());
        // The sparse file read back dense: each weight kept as it was, or zero; about half zero.
        for (const auto& [name, before] : c.parentWeights) {
            const auto& after = c.childWeights.at(name);
            QCOMPARE(after.size(), before.size());
            size_t zeros = 0;
            for (size_t i = 0; i < before.size(); ++i) {
                QVERIFY(after[i] == 0.0f || after[i] == before[i]);
                zeros += after[i] == 0.0f ? 1 : 0;
            }
            QVERIFY2(zeros * 10 >= before.size() * 4 && zeros * 10 <= before.size() * 6,
                     qPrintable(QString("%1: %2 of %3 zero").arg(QString::fromStdString(name)).arg(zeros).arg(before.size())));
        }
        LayerCompareView view;
        view.setComparison(c);
        // Every layer with weights gets its bars (ReLUs and the like may be left out).
        size_t withWeights = 0;
        for (const auto& l : c.parent)
            withWeights += l.parameters > 0 ? 1 : 0;
        const size_t shown = view.chartValues(LayerCompareView::ParameterChart).size();
        QVERIFY2(shown >= withWeights && shown <= c.parent.size(), qPrintable(QString::number(shown)));
    }
};

QTEST_MAIN(TestCompressGuiEngine)
#include "test_compress_gui_engine.moc"
