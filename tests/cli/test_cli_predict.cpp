// `nnlab-cli export` and `predict` as a user runs them: a trained Fashion-MNIST run predicts
// on the IDX test file, on a folder of PNG/JPEG images, on JSON lines and on a CSV, with the
// same answers for the same pixels; exported safetensors predict like the run; bad input is
// named and exits 2.
#include "cli_test_util.h"

#include <QDir>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

using namespace nnlab::test;

namespace {

const QString kTestImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

// The first `count` test images as raw bytes (28 x 28 each).
QByteArray testImages(int count)
{
    gzFile f = gzopen(kTestImages.toUtf8().constData(), "rb");
    if (!f)
        return {};
    QByteArray bytes(16 + count * 784, '\0');
    const int got = gzread(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
    return got == bytes.size() ? bytes.mid(16) : QByteArray();
}

QImage imageAt(const QByteArray& pixels, int i)
{
    QImage image(28, 28, QImage::Format_Grayscale8);
    for (int y = 0; y < 28; ++y)
        memcpy(image.scanLine(y), pixels.constData() + i * 784 + y * 28, 28);
    return image;
}

// CSV rows of predict's output by input name: the predicted class and its probability text.
QMap<QString, QStringList> rowsOf(const QString& csv)
{
    QMap<QString, QStringList> rows;
    const QStringList lines = csv.split('\n', Qt::SkipEmptyParts);
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList fields = lines[i].split(',');
        rows[fields[0]] = fields.mid(1);
    }
    return rows;
}

void writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

// The same class, and the same probability up to float rounding: the rows are predicted in
// batches of other sizes than the IDX file's, and a matrix product's kernel (so its last
// bit) may depend on the batch size; a printed 6-digit value can then differ in its last digit.
void sameAs(const QStringList& row, const QStringList& idxRow)
{
    QVERIFY(row.size() >= 2 && idxRow.size() >= 2);
    QCOMPARE(row[0], idxRow[0]);
    QVERIFY2(qAbs(row[1].toDouble() - idxRow[1].toDouble()) < 1e-5, qPrintable(row[1] + " vs " + idxRow[1]));
}

} // namespace

class TestCliPredict : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db");
        const Result r = cli({"train", kExamples + "fashion-cnn.json", "--set", "data.train_limit=3000", "--set",
                              "training.epochs=1", "--set", "training.threads=1"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        m_run = r.out.section('\n', 0, 0).section(' ', 1, 1).trimmed();
        QVERIFY2(m_run.startsWith("20"), qPrintable(r.out.left(200)));
        m_pixels = testImages(40);
        QCOMPARE(m_pixels.size(), 40 * 784);
    }

    void predictsTheIdxTestFileWithItsLabels()
    {
        const Result r = cli({"predict", m_run, kTestImages, "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 10001);
        QVERIFY(lines[0].startsWith("input,prediction,confidence,T-shirt/top,Trouser,Pullover"));
        const QRegularExpressionMatch m = QRegularExpression("accuracy ([0-9.]+) on 10000 labelled").match(r.err);
        QVERIFY2(m.hasMatch(), qPrintable(r.err));
        QVERIFY2(m.captured(1).toDouble() > 0.6, qPrintable(r.err));
        m_idxRows = rowsOf(r.out);
    }

    void aFolderOfImagesGivesTheSamePredictions()
    {
        QDir folder(m_dir.filePath("images"));
        QVERIFY(folder.mkpath("."));
        for (int i = 0; i < 30; ++i)
            QVERIFY(imageAt(m_pixels, i).save(folder.filePath(QString("img%1.png").arg(i, 2, 10, QChar('0')))));
        // Another size and another format: resized to 28 x 28, read as grey.
        QVERIFY(imageAt(m_pixels, 30).scaled(56, 56).convertToFormat(QImage::Format_RGB32).save(folder.filePath("big.jpg"), "JPEG", 95));
        writeFile(folder.filePath("notes.txt"), "not an image");   // ignored: not an image file name
        const QString out = m_dir.filePath("folder.json");
        const Result r = cli({"predict", m_run, folder.path(), "--out", out, "--format", "json", "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonArray rows = QJsonDocument::fromJson(f.readAll()).array();
        QCOMPARE(rows.size(), 31);
        for (const QJsonValue& v : rows) {
            const QJsonObject row = v.toObject();
            const QString name = row["input"].toString();
            if (!name.startsWith("img"))
                continue;
            const QString idx = "#" + QString::number(name.mid(3, 2).toInt());
            // PNG is lossless: the same pixels, the same class and probability.
            QCOMPARE(row["prediction"].toString(), m_idxRows[idx][0]);
            QVERIFY(qAbs(row["confidence"].toDouble() - m_idxRows[idx][1].toDouble()) < 1e-5);
        }
    }

    void jsonLinesAndCsvGiveTheSamePredictions()
    {
        QByteArray jsonl, csv;
        for (int i = 0; i < 5; ++i) {
            QStringList values;
            for (int p = 0; p < 784; ++p)
                values << QString::number(uchar(m_pixels[i * 784 + p]));
            jsonl += (i % 2 ? "{\"input\": [" + values.join(",") + "]}\n" : "[[" + values.join(",") + "]]\n").toUtf8();
            csv += (values.join(",") + "," + (i == 0 ? "Ankle boot" : "Pullover") + "\n").toUtf8();
        }
        writeFile(m_dir.filePath("samples.jsonl"), jsonl);
        writeFile(m_dir.filePath("samples.csv"), csv);
        Result r = cli({"predict", m_run, m_dir.filePath("samples.jsonl"), "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QMap<QString, QStringList> rows = rowsOf(r.out);
        for (int i = 0; i < 5; ++i)
            sameAs(rows[QString("line %1").arg(i + 1)], m_idxRows["#" + QString::number(i)]);
        r = cli({"predict", m_run, m_dir.filePath("samples.csv"), "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        rows = rowsOf(r.out);
        for (int i = 0; i < 5; ++i)
            sameAs(rows[QString("row %1").arg(i + 1)], m_idxRows["#" + QString::number(i)]);
        QVERIFY2(r.err.contains("labelled samples"), qPrintable(r.err));   // the label column was read
    }

    void exportedSafetensorsPredictLikeTheRun()
    {
        const QString file = m_dir.filePath("model.safetensors");
        Result r = cli({"export", m_run, "--format", "safetensors", "--out", file}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("wrote " + file));
        r = cli({"predict", file, kTestImages, "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QCOMPARE(rowsOf(r.out), m_idxRows);
    }

    void evaluateGivesTheRunsOwnFigures()
    {
        Result r = cli({"runs", "show", m_run}, m_db);
        const QRegularExpressionMatch recorded = QRegularExpression("test/accuracy\\s+([0-9.]+)").match(r.out);
        QVERIFY2(recorded.hasMatch(), qPrintable(r.out));
        const QString file = m_dir.filePath("eval.safetensors");
        QCOMPARE(cli({"export", m_run, "--format", "safetensors", "--out", file, "--checkpoint", "latest"}, m_db).status, 0);
        // The run, and its exported weights on the experiment given again: the same test figure.
        for (const QStringList& args : {QStringList{"evaluate", m_run, "--checkpoint", "latest"},
                                        QStringList{"evaluate", file, kExamples + "fashion-cnn.json", "--set", "data.train_limit=3000"}}) {
            r = cli(args, m_db);
            QVERIFY2(r.status == 0, qPrintable(r.err));
            const QRegularExpressionMatch test = QRegularExpression("test\\s+10000\\s+[0-9.]+\\s+([0-9.]+)").match(r.out);
            QVERIFY2(test.hasMatch(), qPrintable(r.out));
            QVERIFY2(qAbs(test.captured(1).toDouble() - recorded.captured(1).toDouble()) < 1e-3,
                     qPrintable(r.out + " vs " + recorded.captured(0)));
        }
        r = cli({"evaluate", file, kExamples + "spiral-mlp.json"}, m_db);
        QCOMPARE(r.status, 2);
        QVERIFY2(r.err.contains("do not fit") && r.err.contains("'0.weight'"), qPrintable(r.err));
    }

    void fineTuningStartsFromExportedWeights()
    {
        const QString file = m_dir.filePath("tune.safetensors");
        Result r = cli({"export", m_run, "--format", "safetensors", "--out", file, "--checkpoint", "latest"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        // A learning rate too small to move anything: the run starts, and stays, where the
        // exported weights were.
        r = cli({"train", kExamples + "fashion-cnn.json", "--set", "data.train_limit=3000", "--epochs", "1",
                 "--set", "optimizer.lr=1e-12", "--init-weights", file, "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        const QRegularExpressionMatch tuned = QRegularExpression("val/accuracy\\s+([0-9.]+)").match(r.out);
        QVERIFY2(tuned.hasMatch(), qPrintable(r.out));
        QVERIFY2(tuned.captured(1).toDouble() > 0.6, qPrintable(r.out));   // a fresh network scores about 0.1
        // Weights of another model are refused, naming the tensors.
        r = cli({"train", kExamples + "spiral-mlp.json", "--epochs", "1", "--init-weights", file, "--quiet"}, m_db);
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains("tensor '0.weight' has shape [16, 1, 3, 3], the model needs [64, 2]"), qPrintable(r.err));
    }

    void badInputIsNamed_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("status");
        QDir(m_dir.filePath("empty")).mkpath(".");
        writeFile(m_dir.filePath("fake.png"), "this is not a PNG");
        writeFile(m_dir.filePath("short.jsonl"), "[1, 2, 3]\n");
        writeFile(m_dir.filePath("words.jsonl"), "[\"a\"]\n");
        writeFile(m_dir.filePath("narrow.csv"), "1,2,3\n4,5,6\n");
        QTest::newRow("no such run") << QStringList{"predict", "nope", kTestImages} << "no run matches" << 2;
        QTest::newRow("no such input") << QStringList{"predict", "RUN", m_dir.filePath("missing.csv")} << "no such file" << 2;
        QTest::newRow("empty folder") << QStringList{"predict", "RUN", m_dir.filePath("empty")} << "no PNG or JPEG images" << 2;
        QTest::newRow("broken image") << QStringList{"predict", "RUN", m_dir.filePath("fake.png")} << "fake.png: not a readable image" << 2;
        QTest::newRow("short sample") << QStringList{"predict", "RUN", m_dir.filePath("short.jsonl")} << "short.jsonl:1: 3 numbers, the model takes 784" << 2;
        QTest::newRow("strings") << QStringList{"predict", "RUN", m_dir.filePath("words.jsonl")} << "expected numbers" << 2;
        QTest::newRow("narrow csv") << QStringList{"predict", "RUN", m_dir.filePath("narrow.csv")} << "3 columns; the model takes 784" << 2;
        QTest::newRow("bad format") << QStringList{"export", "RUN", "--format", "tflite"} << "not one of safetensors, onnx, pytorch" << 2;
        QTest::newRow("bad checkpoint") << QStringList{"predict", "RUN", kTestImages, "--checkpoint", "first"} << "not best or latest" << 2;
    }

    void badInputIsNamed()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QFETCH(int, status);
        args.replaceInStrings(QRegularExpression("^RUN$"), m_run);
        const Result r = cli(args, m_db);
        QCOMPARE(r.status, status);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(r.out.isEmpty());
    }

private:
    QTemporaryDir m_dir;
    QString m_db;
    QString m_run;
    QByteArray m_pixels;
    QMap<QString, QStringList> m_idxRows;
};

QTEST_MAIN(TestCliPredict)
#include "test_cli_predict.moc"
