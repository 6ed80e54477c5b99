// The Compress dialog: the request it builds from its widgets, the values it refuses (with a
// message naming the field, and nothing queued), and its queue without the engine (jobs do
// not start by themselves here).
#include "compress/compress_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class TestCompressDialog : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString db() const { return m_dir.filePath("runs.db"); }

    template <typename T>
    static T* field(CompressDialog& d, const char* name)
    {
        T* w = d.findChild<T*>(QString::fromLatin1(name));
        if (!w)
            qFatal("no widget %s", name);
        return w;
    }

private slots:
    void pruneRequestFromWidgets()
    {
        CompressDialog dialog(db(), "run-1", "fashion cnn");
        dialog.setAutoStart(false);
        field<QComboBox>(dialog, "method")->setCurrentIndex(CompressDialog::PrunePage);
        field<QLineEdit>(dialog, "sparsity")->setText("0.6");
        field<QCheckBox>(dialog, "structured")->setChecked(true);
        field<QComboBox>(dialog, "norm")->setCurrentIndex(1);
        field<QLineEdit>(dialog, "finetuneEpochs")->setText("2");
        field<QComboBox>(dialog, "schedule")->setCurrentIndex(1);
        field<QLineEdit>(dialog, "runName")->setText("half the filters");
        QStringList problems;
        const auto job = dialog.currentJob(&problems);
        QVERIFY2(job, qPrintable(problems.join('\n')));
        QCOMPARE(job->kind, CompressJob::Kind::Compress);
        QCOMPARE(job->sourceRunId, QString("run-1"));
        QCOMPARE(job->databasePath, db());
        QCOMPARE(job->runName, QString("half the filters"));
        QCOMPARE(job->request.method, nnlab::CompressMethod::PruneStructured);
        QCOMPARE(job->request.prune.sparsity, 0.6);
        QVERIFY(job->request.prune.structured);
        QVERIFY(!job->request.prune.global);
        QCOMPARE(job->request.prune.norm, nnlab::PruneNorm::L2);
        QCOMPARE(job->request.prune.finetuneEpochs, int64_t(2));
        QCOMPARE(job->request.prune.schedule, nnlab::PruneSchedule::Agp);
        QVERIFY(job->description().contains("60%"));

        // Unstructured and global; a percentage reads as a fraction.
        field<QCheckBox>(dialog, "structured")->setChecked(false);
        QVERIFY(field<QCheckBox>(dialog, "global")->isEnabled());
        field<QCheckBox>(dialog, "global")->setChecked(true);
        field<QLineEdit>(dialog, "sparsity")->setText("80%");
        const auto masked = dialog.currentJob();
        QVERIFY(masked);
        QCOMPARE(masked->request.method, nnlab::CompressMethod::PruneUnstructured);
        QVERIFY(masked->request.prune.global);
        QCOMPARE(masked->request.prune.sparsity, 0.8);
    }

    void quantizeRequestFromWidgets()
    {
        CompressDialog dialog(db(), "run-1", "fashion cnn");
        field<QComboBox>(dialog, "method")->setCurrentIndex(CompressDialog::QuantizePage);
        auto job = dialog.currentJob();
        QVERIFY(job);
        QCOMPARE(job->request.method, nnlab::CompressMethod::QuantizeStatic);
        QCOMPARE(job->request.quantize.calibrationSamples, int64_t(1000));
        QVERIFY(job->request.quantize.maxDrop < 0);   // empty: off
        field<QComboBox>(dialog, "quantMode")->setCurrentIndex(1);
        field<QCheckBox>(dialog, "perChannel")->setChecked(true);
        field<QLineEdit>(dialog, "maxDrop")->setText("0.5");
        field<QComboBox>(dialog, "engine")->setCurrentIndex(2);
        QVERIFY(!field<QLineEdit>(dialog, "calibrationSamples")->isEnabled());   // dynamic: no calibration
        job = dialog.currentJob();
        QVERIFY(job);
        QCOMPARE(job->request.method, nnlab::CompressMethod::QuantizeDynamic);
        QCOMPARE(job->request.quantize.mode, nnlab::QuantizeMode::Dynamic);
        QVERIFY(job->request.quantize.perChannel);
        QCOMPARE(job->request.quantize.maxDrop, 0.005);   // points -> fraction
        QCOMPARE(job->request.quantize.engine, nnlab::QuantEngine::Qnnpack);
    }

    void refusesBadValues_data()
    {
        QTest::addColumn<int>("page");
        QTest::addColumn<QString>("widget");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("sparsity 1") << int(CompressDialog::PrunePage) << "sparsity" << "1" << "Sparsity: must be in [0, 1)";
        QTest::newRow("sparsity 1.2") << int(CompressDialog::PrunePage) << "sparsity" << "1.2" << "got 1.2";
        QTest::newRow("sparsity negative") << int(CompressDialog::PrunePage) << "sparsity" << "-0.1" << "Sparsity";
        QTest::newRow("sparsity text") << int(CompressDialog::PrunePage) << "sparsity" << "half"
                                       << "Sparsity: \"half\" is not a number";
        QTest::newRow("epochs negative") << int(CompressDialog::PrunePage) << "finetuneEpochs" << "-1"
                                         << "Fine-tuning epochs";
        QTest::newRow("epochs fraction") << int(CompressDialog::PrunePage) << "finetuneEpochs" << "1.5"
                                         << "not a whole number";
        QTest::newRow("calibration 0") << int(CompressDialog::QuantizePage) << "calibrationSamples" << "0"
                                       << "Calibration samples: must be from 1";
        QTest::newRow("max drop text") << int(CompressDialog::QuantizePage) << "maxDrop" << "some" << "Max accuracy drop";
        QTest::newRow("max drop negative") << int(CompressDialog::QuantizePage) << "maxDrop" << "-1" << "Max accuracy drop";
        QTest::newRow("alpha 1.5") << int(CompressDialog::DistillPage) << "alpha" << "1.5" << "Alpha: must be in [0, 1]";
        QTest::newRow("temperature 0") << int(CompressDialog::DistillPage) << "temperature" << "0" << "Temperature";
        QTest::newRow("no student file") << int(CompressDialog::DistillPage) << "studentFile" << "/nonexistent/s.json"
                                         << "Student: no file";
    }

    void refusesBadValues()
    {
        QFETCH(int, page);
        QFETCH(QString, widget);
        QFETCH(QString, text);
        QFETCH(QString, message);
        CompressDialog dialog(db(), "run-1", "fashion cnn");
        dialog.setAutoStart(false);
        field<QComboBox>(dialog, "method")->setCurrentIndex(page);
        field<QLineEdit>(dialog, qPrintable(widget))->setText(text);
        QStringList problems;
        QVERIFY(!dialog.currentJob(&problems));
        QVERIFY2(problems.join('\n').contains(message), qPrintable(problems.join('\n')));
        // Shown under the form, and the job cannot be queued.
        QVERIFY(field<QLabel>(dialog, "problems")->text().contains(message));
        QVERIFY(!field<QPushButton>(dialog, "addJob")->isEnabled());
        QVERIFY(!dialog.addJob());
        QCOMPARE(dialog.jobCount(), 0);
    }

    void agpNeedsFineTuning()
    {
        CompressDialog dialog(db(), "run-1", "fashion cnn");
        field<QLineEdit>(dialog, "finetuneEpochs")->setText("0");
        field<QComboBox>(dialog, "schedule")->setCurrentIndex(1);
        QVERIFY(dialog.problems().join('\n').contains("Schedule: AGP"));
        field<QLineEdit>(dialog, "finetuneEpochs")->setText("1");
        QVERIFY(dialog.problems().isEmpty());
        QVERIFY(field<QPushButton>(dialog, "addJob")->isEnabled());
    }

    void distillNeedsAStudent()
    {
        CompressDialog dialog(db(), "run-1", "fashion cnn");
        field<QComboBox>(dialog, "method")->setCurrentIndex(CompressDialog::DistillPage);
        const QString problems = dialog.problems().join('\n');
        QVERIFY(problems.contains("Student: choose"));
        // No such run in this store: the teacher's problem is named too.
        QVERIFY2(problems.contains("Teacher:"), qPrintable(problems));
    }

    void queueWithoutStarting()
    {
        CompressDialog dialog(db(), "run-1", "fashion cnn");
        dialog.setAutoStart(false);
        QSignalSpy ended(&dialog, &CompressDialog::jobEnded);
        QVERIFY(dialog.addJob());
        field<QComboBox>(dialog, "method")->setCurrentIndex(CompressDialog::QuantizePage);
        QVERIFY(dialog.addJob());
        QCOMPARE(dialog.jobCount(), 2);
        QCOMPARE(dialog.jobState(0), CompressDialog::JobState::Queued);
        QCOMPARE(dialog.job(1).request.method, nnlab::CompressMethod::QuantizeStatic);
        dialog.cancelJob(0);
        QCOMPARE(dialog.jobState(0), CompressDialog::JobState::Cancelled);
        QCOMPARE(dialog.jobState(1), CompressDialog::JobState::Queued);
        QCOMPARE(ended.count(), 1);
        dialog.cancelAll();
        QCOMPARE(dialog.jobState(1), CompressDialog::JobState::Cancelled);
        QVERIFY(!dialog.isRunning());
    }
};

QTEST_MAIN(TestCompressDialog)
#include "test_compress_dialog.moc"
