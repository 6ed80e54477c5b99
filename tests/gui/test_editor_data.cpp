// The data panel: its fields edit the spec, and the preview (loaded on a worker thread)
// shows the scatter, images or table with class counts, or the loader's error.
#include "core/experiment_document.h"
#include "editor/data_panel.h"
#include "editor/image_grid.h"

#include "nnlab/data.h"

#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include <qcustomplot.h>

namespace {

nnlab::ExperimentSpec twoD(const std::string& source, int64_t samples, int64_t classes)
{
    nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
    spec.data.source = source;
    spec.data.samples = samples;
    spec.data.classes = classes;
    spec.data.trainLimit = 0;
    spec.data.validationFraction = 0.2;
    spec.model.input = {2};
    return spec;
}

int plottedPoints(QCustomPlot* plot)
{
    int n = 0;
    for (int i = 0; i < plot->graphCount(); ++i)
        n += plot->graph(i)->dataCount();
    return n;
}

qint64 columnSum(QTableWidget* table, int column)
{
    qint64 sum = 0;
    for (int r = 0; r < table->rowCount(); ++r)
        sum += table->item(r, column)->text().remove(QLatin1Char(',')).toLongLong();
    return sum;
}

} // namespace

class TestEditorData : public QObject {
    Q_OBJECT
private slots:
    void spiralScatterAndCounts()
    {
        ExperimentDocument doc;
        doc.reset(twoD("spiral", 500, 3));
        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        QSignalSpy samples(&panel, &DataPanel::trainSampleCountChanged);
        panel.show();
        QVERIFY(updated.wait(10000));
        QVERIFY(panel.previewError().isEmpty());
        QCOMPARE(panel.scatterPlot()->graphCount(), 3);
        QCOMPARE(plottedPoints(panel.scatterPlot()), 500);
        QCOMPARE(panel.classCountsTable()->rowCount(), 3);
        QCOMPARE(columnSum(panel.classCountsTable(), 1), 400);   // train
        QCOMPARE(columnSum(panel.classCountsTable(), 2), 100);   // validation: round(0.2 * 500)
        QCOMPARE(samples.last().at(0).toLongLong(), 400);
    }

    void editsReloadAndStaleResultsAreDropped()
    {
        ExperimentDocument doc;
        doc.reset(twoD("spiral", 500, 3));
        DataPanel panel(&doc);
        panel.show();
        QTRY_COMPARE_WITH_TIMEOUT(plottedPoints(panel.scatterPlot()), 500, 10000);

        // Several quick edits: only the last one's preview may end up on screen.
        auto* count = panel.findChild<QSpinBox*>(QStringLiteral("data.samples"));
        QVERIFY(count);
        count->setValue(800);
        panel.refreshPreview();
        count->setValue(300);
        QCOMPARE(doc.spec().data.samples, 300);
        QTRY_VERIFY_WITH_TIMEOUT(!panel.isPreviewLoading(), 10000);
        QCOMPARE(plottedPoints(panel.scatterPlot()), 300);

        // Changing the source edits the spec; the model input follows the source's shape.
        auto* source = panel.findChild<QComboBox*>(QStringLiteral("data.source"));
        source->setCurrentText(QStringLiteral("moons"));
        QCOMPARE(doc.spec().data.source, std::string("moons"));
        QVERIFY(!panel.findChild<QSpinBox*>(QStringLiteral("data.classes"))->isVisibleTo(&panel));
        QTRY_COMPARE_WITH_TIMEOUT(panel.scatterPlot()->graphCount(), 2, 10000);
        source->setCurrentText(QStringLiteral("cifar10"));
        QCOMPARE(doc.spec().model.input, (std::vector<int64_t>{3, 32, 32}));
        QVERIFY(!count->isVisibleTo(&panel));
        doc.undoStack()->undo();
        QCOMPARE(source->currentText(), QStringLiteral("moons"));
        QCOMPARE(doc.spec().model.input, (std::vector<int64_t>{2}));
    }

    void csvMissingFileShowsTheError()
    {
        ExperimentDocument doc;
        nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
        spec.data.source = "csv";
        spec.data.path = "/nonexistent/folder/train.csv";
        doc.reset(spec);
        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        panel.show();
        QVERIFY(updated.wait(10000));
        QVERIFY2(panel.previewError().contains(QStringLiteral("train.csv")), qPrintable(panel.previewError()));
        auto* shown = panel.findChild<QLabel*>(QStringLiteral("previewError"));
        QVERIFY(shown->isVisibleTo(&panel));
        QCOMPARE(shown->text(), panel.previewError());
        QCOMPARE(panel.classCountsTable()->rowCount(), 0);
    }

    void csvTablePreview()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("flowers.csv"));
        QFile out(file);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write("petal,sepal,kind\n");
        for (int i = 0; i < 30; ++i)
            out.write(QStringLiteral("%1,%2,%3\n").arg(i).arg(i * 0.5).arg(i % 3 == 0 ? "iris" : "rose").toUtf8());
        out.close();

        ExperimentDocument doc;
        nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
        spec.data.source = "csv";
        spec.data.path = file.toStdString();
        spec.data.validationFraction = 0;
        doc.reset(spec);
        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        panel.show();
        QVERIFY(updated.wait(10000));
        QVERIFY2(panel.previewError().isEmpty(), qPrintable(panel.previewError()));
        QTableWidget* table = panel.previewTable();
        QCOMPARE(table->columnCount(), 3);
        QCOMPARE(table->horizontalHeaderItem(0)->text(), QStringLiteral("petal"));
        QCOMPARE(table->rowCount(), 20);
        QCOMPARE(table->item(1, 2)->text(), QStringLiteral("rose"));
        QCOMPARE(panel.classCountsTable()->rowCount(), 2);
        QCOMPARE(columnSum(panel.classCountsTable(), 1), 30);
    }

    void imageGridForFashionMnist()
    {
        if (!QFileInfo::exists(QString::fromStdString(nnlab::defaultFashionMnistPath())))
            QSKIP("Fashion-MNIST is not installed here");
        ExperimentDocument doc;   // the default experiment reads Fashion-MNIST
        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        panel.show();
        QVERIFY(updated.wait(60000));
        QVERIFY2(panel.previewError().isEmpty(), qPrintable(panel.previewError()));
        QCOMPARE(panel.imageGrid()->sampleCount(), 32);
        const auto& first = panel.imageGrid()->samples().first();
        QCOMPARE(first.image.size(), QSize(28, 28));
        QVERIFY(!first.label.isEmpty());
        QCOMPARE(panel.classCountsTable()->rowCount(), 10);
        QCOMPARE(columnSum(panel.classCountsTable(), 1), 10800);   // train_limit 12000, 10% validation
        QCOMPARE(columnSum(panel.classCountsTable(), 3), 10000);
    }
};

QTEST_MAIN(TestEditorData)
#include "test_editor_data.moc"
