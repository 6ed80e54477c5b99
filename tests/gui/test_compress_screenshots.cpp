// The README's screenshots of the compression lab, from a real store: skipped unless
// NNLAB_COMPRESS_SCREENSHOTS (a folder), NNLAB_COMPRESS_DB and NNLAB_COMPRESS_RUN (the parent)
// are set. Run it on a display (Xvfb) with QT_QPA_PLATFORM=xcb for the platform's fonts.
#include "compress/background_task.h"
#include "compress/compress_dialog.h"
#include "compress/compression_panel.h"
#include "compress/layer_compare_view.h"
#include "compress/pareto_chart.h"
#include "compress/pareto_view.h"
#include "compress/sensitivity_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QSignalSpy>
#include <QLineEdit>
#include <QTest>

class TestCompressScreenshots : public QObject {
    Q_OBJECT
private slots:
    void screenshots()
    {
        const QString dir = qEnvironmentVariable("NNLAB_COMPRESS_SCREENSHOTS");
        const QString db = qEnvironmentVariable("NNLAB_COMPRESS_DB");
        const QString run = qEnvironmentVariable("NNLAB_COMPRESS_RUN");
        if (dir.isEmpty() || db.isEmpty() || run.isEmpty())
            QSKIP("set NNLAB_COMPRESS_SCREENSHOTS, NNLAB_COMPRESS_DB and NNLAB_COMPRESS_RUN to take the screenshots");
        CompressionPanel panel;
        panel.setStorePath(db);
        panel.resize(1100, 760);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.showRuns({run});
        QVERIFY(panel.pareto()->task()->waitForEnd(600000));
        QVERIFY2(panel.pareto()->chart()->rows().size() >= 2, qPrintable(panel.pareto()->statusLabel()->text()));
        panel.pareto()->setSelectedRuns({run});
        QTest::qWait(200);
        QVERIFY(panel.grab().save(dir + "/compress-pareto.png"));
        panel.pareto()->setCost(nnlab::ParetoCost::LatencyBatch64);
        QTest::qWait(200);
        QVERIFY(panel.grab().save(dir + "/compress-pareto-latency.png"));
        panel.pareto()->setCost(nnlab::ParetoCost::FileBytes);

        QString pruned, name;
        for (const auto& row : panel.pareto()->chart()->rows()) {
            if (row.method == nnlab::CompressMethod::PruneStructured || (pruned.isEmpty() && row.method == nnlab::CompressMethod::PruneUnstructured))
                pruned = QString::fromStdString(row.runId);
            if (QString::fromStdString(row.runId) == run)
                name = QString::fromStdString(row.name);
        }
        if (!pruned.isEmpty()) {
            panel.showLayers(pruned);
            QVERIFY(panel.layers()->task()->waitForEnd(600000));
            QTest::qWait(200);
            QVERIFY(panel.grab().save(dir + "/compress-layers.png"));
        }
        panel.showSensitivity(run, name);
        QTest::qWait(200);
        QVERIFY(panel.grab().save(dir + "/compress-sensitivity.png"));

        // The dialog with real jobs, in a copy of the store when one is named (they record runs).
        const QString jobsDb = qEnvironmentVariableIsEmpty("NNLAB_COMPRESS_DIALOG_DB")
                                   ? db : qEnvironmentVariable("NNLAB_COMPRESS_DIALOG_DB");
        CompressDialog dialog(jobsDb, run, name);
        dialog.setAutoStart(false);
        dialog.findChild<QLineEdit*>("sparsity")->setText("0.8");
        QVERIFY(dialog.addJob());
        dialog.findChild<QLineEdit*>("sparsity")->setText("0.5");
        dialog.findChild<QCheckBox*>("structured")->setChecked(true);
        dialog.findChild<QLineEdit*>("finetuneEpochs")->setText("2");
        QVERIFY(dialog.addJob());
        dialog.findChild<QComboBox*>("method")->setCurrentIndex(CompressDialog::QuantizePage);
        dialog.findChild<QCheckBox*>("perChannel")->setChecked(true);
        QVERIFY(dialog.addJob());
        dialog.findChild<QComboBox*>("method")->setCurrentIndex(CompressDialog::PrunePage);
        dialog.findChild<QLineEdit*>("sparsity")->setText("1.2");   // the inline check, as a user sees it
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QSignalSpy ended(&dialog, &CompressDialog::jobEnded);
        dialog.setAutoStart(true);
        QVERIFY(ended.wait(600000));   // the masked prune done, the structured one fine-tuning
        QTest::qWait(1500);
        QVERIFY(dialog.grab().save(dir + "/compress-dialog.png"));
        while (dialog.isRunning())
            QVERIFY(ended.wait(600000));
    }
};

QTEST_MAIN(TestCompressScreenshots)
#include "test_compress_screenshots.moc"
