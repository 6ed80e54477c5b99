// IDX and CIFAR-10 binary readers: exact contents from raw and gzip'd files, and a DataError
// naming the file for every kind of broken file.
#include "data_test_util.h"

#include <QTemporaryDir>

using namespace nnlab;
using namespace testutil;

class TestBinary : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const
    {
        return (m_dir.path() + "/").toStdString() + name;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void idxReads_data()
    {
        QTest::addColumn<bool>("gzipImages");
        QTest::addColumn<bool>("gzipLabels");
        QTest::newRow("raw") << false << false;
        QTest::newRow("gzip") << true << true;
        QTest::newRow("mixed") << true << false;
    }
    void idxReads()
    {
        QFETCH(bool, gzipImages);
        QFETCH(bool, gzipLabels);
        const std::string images = path("img.idx");
        const std::string labels = path("lbl.idx");
        (gzipImages ? writeGzip : writeFile)(images, idxImages(3, 4, 5));
        (gzipLabels ? writeGzip : writeFile)(labels, idxLabels({2, 0, 255}));
        const Dataset d = readIdx(images, labels);
        QCOMPARE(d.sampleShape, (std::vector<int64_t>{1, 4, 5}));
        QCOMPARE(d.count(), int64_t(3));
        QCOMPARE(d.sampleSize(), int64_t(20));
        QCOMPARE(d.labels, (std::vector<int64_t>{2, 0, 255}));
        QCOMPARE(d.features.size(), size_t(60));
        // Image 2, row 3, column 4: (2*7 + 3*3 + 4) % 256 = 27.
        QCOMPARE(d.features[2 * 20 + 3 * 5 + 4], 27.0f);
        QCOMPARE(d.features[0], 0.0f);
        QCOMPARE(d.features[19], 13.0f);
    }

    void idxLargePixelValues()
    {
        const std::string images = path("big.idx");
        const std::string labels = path("big-labels.idx");
        writeGzip(images, idxImages(1, 16, 16));
        writeGzip(labels, idxLabels({1}));
        const Dataset d = readIdx(images, labels);
        // Pixel (y=15, x=15) = 45 + 15 = 60; all values are the bytes, 0..255, as floats.
        QCOMPARE(d.features[255], 60.0f);
    }

    void idxErrors_data()
    {
        QTest::addColumn<QString>("broken");    // which file is broken: images|labels
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<bool>("gzip");
        QTest::addColumn<QString>("message");

        const auto bytes = [](const Bytes& b) {
            return QByteArray(reinterpret_cast<const char*>(b.data()), int(b.size()));
        };
        Bytes truncated = idxImages(3, 4, 5);
        truncated.resize(truncated.size() - 7);   // 16 + 60 - 7 = 69
        Bytes trailing = idxImages(3, 4, 5);
        trailing.push_back(9);
        Bytes shortHeader = idxImages(3, 4, 5);
        shortHeader.resize(10);
        Bytes fewLabels = idxLabels({1, 2});
        Bytes shortLabels = idxLabels({1, 2, 3});
        shortLabels.pop_back();

        QTest::newRow("wrong magic: labels as images") << "images" << bytes(idxLabels({1, 2, 3}))
                << false
                                                       << "not an IDX image file: magic number 0x00000801 (an IDX label file), expected 0x00000803";
        QTest::newRow("wrong magic: images as labels") << "labels" << bytes(idxImages(3, 4, 5))
                << false
                                                       << "not an IDX label file: magic number 0x00000803";
        QTest::newRow("truncated raw") << "images" << bytes(truncated) << false
                << "truncated: expected 76 bytes, got 69";
        QTest::newRow("truncated gzip'd content") << "images" << bytes(truncated) << true
                << "truncated: expected 76 bytes, got 69";
        QTest::newRow("trailing data") << "images" << bytes(trailing) << false
                << "expected 76 bytes, got 77";
        QTest::newRow("short header") << "images" << bytes(shortHeader) << false
                << "expected at least 16 bytes of IDX header, got 10";
        QTest::newRow("empty") << "images" << QByteArray() << false
                << "expected at least 16 bytes of IDX header, got 0";
        QTest::newRow("count mismatch") << "labels" << bytes(fewLabels) << false
                << "has 3 images but";
        QTest::newRow("truncated labels") << "labels" << bytes(shortLabels) << false
                << "truncated: expected 11 bytes, got 10";
    }
    void idxErrors()
    {
        QFETCH(QString, broken);
        QFETCH(QByteArray, content);
        QFETCH(bool, gzip);
        QFETCH(QString, message);
        const std::string images = path("e-img.idx");
        const std::string labels = path("e-lbl.idx");
        writeFile(images, idxImages(3, 4, 5));
        writeFile(labels, idxLabels({1, 2, 3}));
        const Bytes bad(content.begin(), content.end());
        const std::string& target = broken == "images" ? images : labels;
        (gzip ? writeGzip : writeFile)(target, bad);
        const std::string error = errorOf([&] { readIdx(images, labels); });
        VERIFY_CONTAINS(error, target);
        VERIFY_CONTAINS(error, message.toStdString());
    }

    void idxMissingFile()
    {
        writeFile(path("m-lbl.idx"), idxLabels({1}));
        const std::string missing = path("no-such-images.idx");
        const std::string error = errorOf([&] { readIdx(missing, path("m-lbl.idx")); });
        QCOMPARE(error, missing + ": file not found");
    }

    void gzipTruncatedAndCorrupt()
    {
        const std::string images = path("gz-img.idx.gz");
        const std::string labels = path("gz-lbl.idx");
        writeFile(labels, idxLabels({1, 2, 3}));
        writeGzip(images, idxImages(3, 40, 50));
        const Bytes good = readFile(images);
        QVERIFY(good.size() > 40);

        Bytes cut(good.begin(), good.begin() + long(good.size() / 2));
        writeFile(images, cut);
        std::string error = errorOf([&] { readIdx(images, labels); });
        QCOMPARE(error, images + ": truncated gzip data (the compressed stream ends early)");

        Bytes corrupt = good;
        for (size_t i = 12; i < 30; ++i)
            corrupt[i] ^= 0x5a;
        writeFile(images, corrupt);
        error = errorOf([&] { readIdx(images, labels); });
        VERIFY_CONTAINS(error, images + ": ");
        VERIFY_CONTAINS(error, "gzip");
    }

    void cifarReads()
    {
        const std::string a = path("data_batch_a.bin");
        const std::string b = path("data_batch_b.bin");
        writeFile(a, cifarRecords({3, 9}));
        writeGzip(b, cifarRecords({0}));
        const Dataset d = readCifarBatches({a, b});
        QCOMPARE(d.sampleShape, (std::vector<int64_t>{3, 32, 32}));
        QCOMPARE(d.count(), int64_t(3));
        QCOMPARE(d.labels, (std::vector<int64_t>{3, 9, 0}));
        QCOMPARE(d.features.size(), size_t(3 * 3072));
        // Record 1, green channel (offset 1024), pixel 5: (1 + 1029) % 256 = 6.
        QCOMPARE(d.features[3072 + 1024 + 5], 6.0f);
        QCOMPARE(d.features[2 * 3072 + 3071], 255.0f);
    }

    void cifarErrors_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("message");
        const auto bytes = [](const Bytes& b) {
            return QByteArray(reinterpret_cast<const char*>(b.data()), int(b.size()));
        };
        Bytes cut = cifarRecords({1, 2});
        cut.resize(cut.size() - 100);
        QTest::newRow("truncated") << bytes(cut)
                << "size 6046 bytes is not a multiple of the 3073-byte CIFAR-10 record";
        QTest::newRow("label 10") << bytes(cifarRecords({1, 10}))
                << "record 1: label 10 out of range 0..9";
        QTest::newRow("empty") << QByteArray() << "empty file";
    }
    void cifarErrors()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, message);
        const std::string good = path("good.bin");
        const std::string bad = path("bad.bin");
        writeFile(good, cifarRecords({1}));
        writeFile(bad, Bytes(content.begin(), content.end()));
        const std::string error = errorOf([&] { readCifarBatches({good, bad}); });
        VERIFY_CONTAINS(error, bad + ": ");
        VERIFY_CONTAINS(error, message.toStdString());
    }

    void cifarMissing()
    {
        const std::string missing = path("nope.bin");
        QCOMPARE(errorOf([&] { readCifarBatches({missing}); }), missing + ": file not found");
        QCOMPARE(errorOf([&] { readCifarBatches({}); }), std::string("cifar10: no batch files given"));
    }
};

QTEST_APPLESS_MAIN(TestBinary)
#include "test_data_binary.moc"
