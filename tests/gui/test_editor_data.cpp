// The data panel: its fields edit the spec, and the preview (loaded on a worker thread)
// shows the scatter, images or table with class counts, or the loader's error.
#include "core/experiment_document.h"
#include "editor/data_panel.h"
#include "editor/image_grid.h"

#include "nnlab/data.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
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

void writeFile(const QString& path, const QByteArray& text)
{
    QFile out(path);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(text);
}

// A published CSV: a title line, a comment, then a header and rows of three classes.
QByteArray csvWithMetadata(int rows)
{
    QByteArray text = "Flowers, collected 2024, 4 features, 3 classes, public domain\n# lengths in cm\na,b,c,d,kind\n";
    for (int i = 0; i < rows; ++i)
        text += QStringLiteral("%1,%2,%3,%4,%5\n").arg(i % 3).arg(i * 0.5).arg(i % 7).arg(-i)
                    .arg(QStringList{"iris", "rose", "tulip"}[i % 3]).toUtf8();
    return text;
}

// Every settings field shown lies wholly inside the part of the form on screen.
QString clippedSettings(DataPanel& panel)
{
    QStringList clipped;
    for (QWidget* editor : panel.findChildren<QWidget*>()) {
        if (!editor->objectName().startsWith(QStringLiteral("data.")) || !editor->isVisibleTo(&panel))
            continue;
        QWidget* viewport = editor;
        while (viewport && !qobject_cast<QScrollArea*>(viewport->parentWidget()))
            viewport = viewport->parentWidget();
        if (!viewport)
            return QStringLiteral("no scroll area around ") + editor->objectName();
        const QRect shown(editor->mapTo(viewport, QPoint(0, 0)), editor->size());
        if (editor->height() <= 0 || !viewport->rect().contains(shown))
            clipped << editor->objectName();
    }
    return clipped.join(QStringLiteral(", "));
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

    // The Data dock's size in the default 1400 x 900 main window (it shares the left column
    // with the Model and Hyperparameters tabs, above the Runs dock): with a preview shown,
    // every settings row is on screen, none squeezed or scrolled away.
    void settingsStayReadableWithThePreview_data()
    {
        QTest::addColumn<QString>("source");
        QTest::newRow("csv: the most settings") << "csv";
        QTest::newRow("ten classes: the tallest preview") << "blobs";
    }
    void settingsStayReadableWithThePreview()
    {
        QFETCH(QString, source);
        QTemporaryDir dir;
        nnlab::ExperimentSpec spec = twoD("blobs", 2000, 10);
        if (source == QStringLiteral("csv")) {
            writeFile(dir.filePath("flowers.csv"), csvWithMetadata(60));
            spec.data.source = "csv";
            spec.data.path = dir.filePath("flowers.csv").toStdString();
            spec.data.skipRows = 1;
            spec.data.comment = "#";
        }
        ExperimentDocument doc;
        doc.reset(spec);
        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        panel.resize(375, 540);
        panel.show();
        QVERIFY(updated.wait(10000));
        QVERIFY2(panel.previewError().isEmpty(), qPrintable(panel.previewError()));
        QTRY_COMPARE(clippedSettings(panel), QString());
        QVERIFY(panel.classCountsTable()->isVisible() && panel.classCountsTable()->height() > 0);
        const QWidget* shown = source == QStringLiteral("csv") ? static_cast<QWidget*>(panel.previewTable())
                                                              : panel.scatterPlot();
        QVERIFY2(shown->height() >= 80, qPrintable(QString::number(shown->height())));   // the preview keeps room
    }

    // A CSV with a title and comment lines: the error names the two settings, and setting
    // them in the form loads it.
    void skipRowsAndCommentInTheForm()
    {
        QTemporaryDir dir;
        writeFile(dir.filePath("meta.csv"), csvWithMetadata(30));
        nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
        spec.data.source = "csv";
        spec.data.path = dir.filePath("meta.csv").toStdString();
        ExperimentDocument doc;
        doc.reset(spec);
        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        panel.show();
        QVERIFY(updated.wait(10000));
        QVERIFY2(panel.previewError().contains(QStringLiteral("data.skip_rows"))
                     && panel.previewError().contains(QStringLiteral("data.comment")),
                 qPrintable(panel.previewError()));

        auto* skip = panel.findChild<QSpinBox*>(QStringLiteral("data.skip_rows"));
        auto* comment = panel.findChild<QLineEdit*>(QStringLiteral("data.comment"));
        QVERIFY(skip && skip->isVisibleTo(&panel));
        QVERIFY(comment && comment->isVisibleTo(&panel));
        skip->setValue(1);
        QCOMPARE(doc.spec().data.skipRows, int64_t(1));
        comment->setText(QStringLiteral("#"));
        QCOMPARE(doc.spec().data.comment, std::string("#"));
        QTRY_VERIFY_WITH_TIMEOUT(!panel.isPreviewLoading() && panel.previewError().isEmpty()
                                     && panel.previewTable()->columnCount() == 5, 10000);
        QCOMPARE(panel.previewTable()->horizontalHeaderItem(0)->text(), QStringLiteral("a"));
        QCOMPARE(columnSum(panel.classCountsTable(), 1) + columnSum(panel.classCountsTable(), 2), 30);

        // Only a csv has them.
        panel.findChild<QComboBox*>(QStringLiteral("data.source"))->setCurrentText(QStringLiteral("spiral"));
        QVERIFY(!skip->isVisibleTo(&panel));
        QVERIFY(!comment->isVisibleTo(&panel));
    }

    // The document opens files as nnlab-cli does: data paths relative to the file, from any
    // working directory; once the preview has loaded, the shapes that wait for the data show.
    void documentReadsDataBesideItsFile()
    {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("exp/data")));
        writeFile(dir.filePath("exp/data/flowers.csv"), csvWithMetadata(60));
        const QString file = dir.filePath("exp/flowers.json");
        // (No raw string: Qt 6.4's moc loses the class after one holding "#" across lines.)
        writeFile(file, "{\"name\": \"flowers\", \"data\": {\"source\": \"csv\", \"path\": \"data/flowers.csv\", "
                        "\"skip_rows\": 1, \"comment\": \"#\"}, \"model\": {\"layers\": [{\"type\": \"linear\", "
                        "\"out_features\": 8}, {\"type\": \"relu\"}, {\"type\": \"linear\"}]}}");

        const QString before = QDir::currentPath();
        QVERIFY(QDir::setCurrent(QStringLiteral("/")));
        ExperimentDocument doc;
        const nnlab::ParseResult parsed = doc.load(file);
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        QCOMPARE(doc.filePath(), file);
        QCOMPARE(QString::fromStdString(doc.spec().data.path), QDir::cleanPath(dir.filePath("exp/data/flowers.csv")));
        QVERIFY(doc.isValid());
        QVERIFY(!doc.modelInfo().shapesKnown);

        DataPanel panel(&doc);
        QSignalSpy updated(&panel, &DataPanel::previewUpdated);
        panel.show();
        QVERIFY(updated.wait(10000));
        QDir::setCurrent(before);
        QVERIFY2(panel.previewError().isEmpty(), qPrintable(panel.previewError()));
        QVERIFY(doc.modelInfo().shapesKnown);
        QCOMPARE(doc.modelInfo().outputShape, (std::vector<int64_t>{3}));
        QCOMPARE(doc.modelInfo().parameters, int64_t(4 * 8 + 8 + 8 * 3 + 3));
        QVERIFY(doc.spec().model.input.empty());   // the spec still leaves it to the data

        // Other data settings: the loaded shapes no longer apply.
        doc.apply(QStringLiteral("label"), [](nnlab::ExperimentSpec& s) { s.data.labelColumn = "a"; });
        QVERIFY(!doc.modelInfo().shapesKnown);
        doc.undoStack()->undo();
        QVERIFY(doc.modelInfo().shapesKnown);

        // Saved into another folder, the file still finds the data.
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("copies")));
        const QString copy = dir.filePath("copies/flowers.json");
        QCOMPARE(doc.save(copy), QString());
        QCOMPARE(doc.filePath(), copy);
        QVERIFY(!doc.isModified());
        QFile written(copy);
        QVERIFY(written.open(QIODevice::ReadOnly));
        QVERIFY2(written.readAll().contains("\"path\": \"../exp/data/flowers.csv\""), qPrintable(copy));
        ExperimentDocument reopened;
        QVERIFY(reopened.load(copy).ok());
        QCOMPARE(reopened.spec().data.path, doc.spec().data.path);
        QVERIFY(!reopened.load(dir.filePath("missing.json")).complete);
        QCOMPARE(reopened.filePath(), copy);
    }
};

QTEST_MAIN(TestEditorData)
#include "test_editor_data.moc"
