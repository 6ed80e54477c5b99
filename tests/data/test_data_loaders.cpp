// loadData: dispatch, train_limit, the seeded validation split, normalization with training
// statistics, regression targets, errors naming fields and files, and the real Fashion-MNIST.
#include "data_test_util.h"

#include <QDir>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <cmath>

using namespace nnlab;
using namespace testutil;

namespace {

// Mean and population standard deviation of feature `f` of a tabular set.
std::pair<double, double> featureStats(const Dataset& d, size_t f)
{
    const size_t width = size_t(d.sampleSize());
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < d.count(); ++i)
        sum += d.features[size_t(i) * width + f];
    const double mean = sum / double(d.count());
    for (int64_t i = 0; i < d.count(); ++i)
        squares += std::pow(d.features[size_t(i) * width + f] - mean, 2);
    return {mean, std::sqrt(squares / double(d.count()))};
}

// 20 rows: a = i, b = 1000 + 2i, label "even"/"odd".
std::string tableText()
{
    std::string text = "a,b,parity\n";
    for (int i = 0; i < 20; ++i)
        text += std::to_string(i) + "," + std::to_string(1000 + 2 * i) + ","
                + (i % 2 ? "odd" : "even") + "\n";
    return text;
}

} // namespace

class TestLoaders : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const
    {
        return (m_dir.path() + "/").toStdString() + name;
    }
    std::string folder(const std::string& name) const
    {
        QDir(m_dir.path()).mkpath(QString::fromStdString(name));
        return path(name);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void twoDSplitKeepsOrderAndValues()
    {
        DataSpec spec;
        spec.source = "spiral";
        spec.samples = 1000;
        spec.classes = 3;
        const DataBundle b = loadData(spec, true, 11);
        QCOMPARE(b.train.count(), int64_t(900));
        QCOMPARE(b.validation.count(), int64_t(100));
        QCOMPARE(b.test.count(), int64_t(0));
        QCOMPARE(b.numClasses, int64_t(3));
        QCOMPARE(b.classNames, (std::vector<std::string>{"0", "1", "2"}));
        QCOMPARE(b.description, std::string("spiral: 900 train, 100 val, 0 test"));
        QVERIFY(!b.images);
        QVERIFY(b.inputShift.empty());   // auto: 2-D sets stay raw
        QCOMPARE(b.validation.sampleShape, std::vector<int64_t>{2});

        // Train and validation are complementary subsequences of the generated set.
        const Dataset all = generate2d("spiral", 1000, 3, spec.noise, 11);
        size_t t = 0, v = 0;
        for (int64_t i = 0; i < all.count(); ++i) {
            const float x = all.features[2 * size_t(i)];
            const int64_t label = all.labels[size_t(i)];
            if (t < 900 && b.train.features[2 * t] == x && b.train.labels[t] == label)
                ++t;
            else if (v < 100 && b.validation.features[2 * v] == x)
                ++v;
        }
        QCOMPARE(t, size_t(900));
        QCOMPARE(v, size_t(100));
    }

    void trainLimitAndRounding_data()
    {
        QTest::addColumn<qlonglong>("limit");
        QTest::addColumn<double>("fraction");
        QTest::addColumn<qlonglong>("train");
        QTest::addColumn<qlonglong>("validation");
        QTest::newRow("limit 500, 20%") << 500LL << 0.2 << 400LL << 100LL;
        QTest::newRow("no limit, no val") << 0LL << 0.0 << 1000LL << 0LL;
        QTest::newRow("limit above size") << 5000LL << 0.25 << 750LL << 250LL;
        QTest::newRow("tiny fraction keeps one") << 0LL << 0.0001 << 999LL << 1LL;
        QTest::newRow("limit 1") << 1LL << 0.5 << 1LL << 0LL;
    }
    void trainLimitAndRounding()
    {
        QFETCH(qlonglong, limit);
        QFETCH(double, fraction);
        QFETCH(qlonglong, train);
        QFETCH(qlonglong, validation);
        DataSpec spec;
        spec.source = "moons";
        spec.samples = 1000;
        spec.trainLimit = limit;
        spec.validationFraction = fraction;
        const DataBundle b = loadData(spec, true, 3);
        QCOMPARE(b.train.count(), train);
        QCOMPARE(b.validation.count(), validation);
        QCOMPARE(b.train.features.size(), size_t(2 * train));
        QCOMPARE(b.validation.features.size(), size_t(2 * validation));
    }

    void splitIsSeeded()
    {
        DataSpec spec;
        spec.source = "circles";
        spec.samples = 400;
        spec.validationFraction = 0.5;
        spec.noise = 0.0;
        const DataBundle a = loadData(spec, true, 5);
        const DataBundle b = loadData(spec, true, 5);
        const DataBundle c = loadData(spec, true, 6);
        QVERIFY(a.validation.features == b.validation.features);
        QVERIFY(a.train.labels == b.train.labels);
        QVERIFY(a.validation.features != c.validation.features);
    }

    void csvStandardizeUsesTrainStatistics()
    {
        writeText(path("parity.csv"), tableText());
        DataSpec spec;
        spec.source = "csv";
        spec.path = path("parity.csv");
        spec.validationFraction = 0.25;
        const DataBundle b = loadData(spec, true, 9);
        QCOMPARE(b.train.count(), int64_t(15));
        QCOMPARE(b.validation.count(), int64_t(5));
        QCOMPARE(b.numClasses, int64_t(2));
        QCOMPARE(b.classNames, (std::vector<std::string>{"even", "odd"}));
        QCOMPARE(b.description, std::string("csv parity.csv: 15 train, 5 val, 0 test"));
        QCOMPARE(b.inputShift.size(), size_t(2));

        for (size_t f = 0; f < 2; ++f) {
            const auto [mean, sd] = featureStats(b.train, f);
            QVERIFY(std::abs(mean) < 1e-5);
            QVERIFY(std::abs(sd - 1.0) < 1e-5);
        }
        // Undo the normalization: the raw values of a are 0..19, each in exactly one part,
        // and the shift is the mean of the training part's raw values.
        std::vector<int> seen(20, 0);
        double trainSum = 0;
        for (const Dataset* part : {&b.train, &b.validation})
            for (int64_t i = 0; i < part->count(); ++i) {
                const double raw =
                    part->features[2 * size_t(i)] * b.inputScale[0] + b.inputShift[0];
                const long a = std::lround(raw);
                QVERIFY(std::abs(raw - double(a)) < 1e-4);
                QCOMPARE(part->labels[size_t(i)], int64_t(a % 2));
                ++seen.at(size_t(a));
                if (part == &b.train)
                    trainSum += double(a);
            }
        QCOMPARE(seen, std::vector<int>(20, 1));
        QVERIFY(std::abs(b.inputShift[0] - trainSum / 15.0) < 1e-4);
        QVERIFY(std::abs(b.inputShift[1] - (1000.0 + 2.0 * trainSum / 15.0)) < 1e-3);
        QVERIFY(featureStats(b.validation, 0).first != 0.0);
    }

    void csvScaleAndNone()
    {
        writeText(path("parity2.csv"), tableText());
        DataSpec spec;
        spec.source = "csv";
        spec.path = path("parity2.csv");
        spec.validationFraction = 0.0;
        spec.normalize = "scale";
        DataBundle b = loadData(spec, true, 1);
        QCOMPARE(b.train.features[0], 0.0f);                 // a = 0
        QCOMPARE(b.train.features[2 * 19 + 1], 1.0f);        // b = 1038
        QCOMPARE(b.train.features[2 * 10], 10.0f / 19.0f);

        spec.normalize = "none";
        b = loadData(spec, true, 1);
        QCOMPARE(b.train.features[2 * 19 + 1], 1038.0f);
        QVERIFY(b.inputShift.empty());
    }

    void csvTestFileAndRegression()
    {
        writeText(path("train.csv"), "x,y\n1,b\n2,a\n3,b\n4,a\n");
        writeText(path("test.csv"), "x,y\n5,a\n6,b\n\n7,c\n");
        DataSpec spec;
        spec.source = "csv";
        spec.path = path("train.csv");
        spec.testPath = path("test.csv");
        spec.validationFraction = 0;
        const std::string error = errorOf([&] { loadData(spec, true, 0); });
        QCOMPARE(error, path("test.csv") + ":5: unknown label \"c\"; the known classes are a, b");

        writeText(path("test.csv"), "x,y\n5,a\n6,b\n");
        DataBundle b = loadData(spec, true, 0);
        QCOMPARE(b.test.labels, (std::vector<int64_t>{0, 1}));
        QCOMPARE(b.description, std::string("csv train.csv: 4 train, 0 val, 2 test"));
        // Test features use the training mean 2.5 and standard deviation sqrt(1.25).
        QVERIFY(std::abs(b.test.features[0] - float(2.5 / std::sqrt(1.25))) < 1e-5f);

        writeText(path("reg.csv"), "x,y\n1,0.5\n2,1.5\n3,2.5\n");
        spec.path = path("reg.csv");
        spec.testPath.clear();
        b = loadData(spec, false, 0);
        QCOMPARE(b.train.targetDim, int64_t(1));
        QCOMPARE(b.train.targets, (std::vector<float>{0.5f, 1.5f, 2.5f}));
        QCOMPARE(b.numClasses, int64_t(0));
        QVERIFY(b.classNames.empty());
        QCOMPARE(b.test.targetDim, int64_t(1));

        writeText(path("one.csv"), "x,y\n1,a\n2,a\n");
        spec.path = path("one.csv");
        VERIFY_CONTAINS(errorOf([&] { loadData(spec, true, 0); }),
                        path("one.csv") + ": the label column has only one class (\"a\")");
    }

    void regressionOnLabelledSourceIsOneHot()
    {
        DataSpec spec;
        spec.source = "blobs";
        spec.samples = 100;
        spec.classes = 4;
        spec.validationFraction = 0.2;
        const DataBundle b = loadData(spec, false, 2);
        QCOMPARE(b.numClasses, int64_t(0));
        QVERIFY(b.train.labels.empty());
        QCOMPARE(b.train.targetDim, int64_t(4));
        QCOMPARE(b.train.count(), int64_t(80));
        QCOMPARE(b.validation.count(), int64_t(20));
        QCOMPARE(b.train.targets.size(), size_t(320));
        for (int64_t i = 0; i < b.train.count(); ++i) {
            float sum = 0;
            for (int k = 0; k < 4; ++k)
                sum += b.train.targets[size_t(i * 4 + k)];
            QCOMPARE(sum, 1.0f);
        }
    }

    void idxFolder()
    {
        const std::string dir = folder("idx");
        writeGzip(dir + "/train-images-idx3-ubyte.gz", idxImages(10, 4, 5));
        writeGzip(dir + "/train-labels-idx1-ubyte.gz", idxLabels({0, 1, 2, 3, 4, 0, 1, 2, 3, 4}));
        DataSpec spec;
        spec.source = "idx";
        spec.path = dir;
        spec.validationFraction = 0.2;
        spec.normalize = "scale";
        DataBundle b = loadData(spec, true, 4);
        QVERIFY(b.images);
        QCOMPARE(b.train.sampleShape, (std::vector<int64_t>{1, 4, 5}));
        QCOMPARE(b.numClasses, int64_t(5));
        QCOMPARE(b.classNames.back(), std::string("4"));
        QCOMPARE(b.train.count(), int64_t(8));
        QCOMPARE(b.validation.count(), int64_t(2));
        QCOMPARE(b.test.count(), int64_t(0));
        QCOMPARE(b.inputScale, std::vector<float>{255.0f});
        // Each image's last pixel is (7i + 9 + 4) % 256; identify images by their first pixel 7i.
        for (int64_t n = 0; n < b.train.count(); ++n) {
            const float first = b.train.features[size_t(n) * 20];
            const float last = b.train.features[size_t(n) * 20 + 19];
            QCOMPARE(last, first + 13.0f / 255.0f);
        }

        // MNIST-style names for the test files, raw, with a label beyond the training ones.
        writeFile(dir + "/t10k-images.idx3-ubyte", idxImages(3, 4, 5));
        writeFile(dir + "/t10k-labels.idx1-ubyte", idxLabels({5, 0, 1}));
        spec.normalize = "auto";
        b = loadData(spec, true, 4);
        QCOMPARE(b.test.count(), int64_t(3));
        QCOMPARE(b.numClasses, int64_t(6));
        QCOMPARE(b.inputShift.size(), size_t(1));
        double sum = 0;
        for (float x : b.train.features)
            sum += x;
        QVERIFY(std::abs(sum / double(b.train.features.size())) < 1e-5);

        writeFile(dir + "/t10k-images.idx3-ubyte", idxImages(3, 5, 4));
        VERIFY_CONTAINS(errorOf([&] { loadData(spec, true, 4); }),
                        dir + "/t10k-images.idx3-ubyte: images are 1x5x4 but the training images are 1x4x5");
    }

    void fakeFashionMnistChecks()
    {
        const std::string dir = folder("fmnist");
        writeGzip(dir + "/train-images-idx3-ubyte.gz", idxImages(4, 28, 28));
        writeGzip(dir + "/train-labels-idx1-ubyte.gz", idxLabels({0, 10, 2, 3}));
        writeGzip(dir + "/t10k-images-idx3-ubyte.gz", idxImages(2, 28, 28));
        writeGzip(dir + "/t10k-labels-idx1-ubyte.gz", idxLabels({9, 1}));
        DataSpec spec;
        spec.path = dir;
        QCOMPARE(errorOf([&] { loadData(spec, true, 0); }),
                 dir + "/train-labels-idx1-ubyte.gz: label 10 of item 1 out of range 0..9");

        writeGzip(dir + "/train-labels-idx1-ubyte.gz", idxLabels({0, 8, 2, 3}));
        const DataBundle b = loadData(spec, true, 0);
        QCOMPARE(b.classNames.at(8), std::string("Bag"));
        QCOMPARE(b.description, std::string("fashion-mnist: 3 train, 1 val, 2 test"));

        writeGzip(dir + "/t10k-images-idx3-ubyte.gz", idxImages(2, 28, 27));
        QCOMPARE(errorOf([&] { loadData(spec, true, 0); }),
                 dir + "/t10k-images-idx3-ubyte.gz: Fashion-MNIST images are 28x28, got 28x27");

        QFile::remove(QString::fromStdString(dir + "/t10k-labels-idx1-ubyte.gz"));
        QCOMPARE(errorOf([&] { loadData(spec, true, 0); }),
                 "data.path: t10k-labels-idx1-ubyte(.gz) not found in \"" + dir + "\"");
    }

    void cifarFolder()
    {
        const std::string dir = folder("cifar");
        writeFile(dir + "/data_batch_1.bin", cifarRecords({0, 1, 2, 3, 4, 5}));
        writeFile(dir + "/data_batch_3.bin", cifarRecords({6, 7, 8, 9}));
        writeFile(dir + "/test_batch.bin", cifarRecords({9, 9}));
        DataSpec spec;
        spec.source = "cifar10";
        spec.path = dir;
        spec.validationFraction = 0.1;
        DataBundle b = loadData(spec, true, 8);
        QCOMPARE(b.train.count() + b.validation.count(), int64_t(10));
        QCOMPARE(b.validation.count(), int64_t(1));
        QCOMPARE(b.test.count(), int64_t(2));
        QCOMPARE(b.classNames.at(1), std::string("automobile"));
        QCOMPARE(b.inputShift.size(), size_t(3));
        QCOMPARE(b.train.sampleShape, (std::vector<int64_t>{3, 32, 32}));

        std::string names;
        for (int i = 0; i < 10; ++i)
            names += "class" + std::to_string(i) + "\r\n";
        writeText(dir + "/batches.meta.txt", names + "\n\n");
        b = loadData(spec, true, 8);
        QCOMPARE(b.classNames.at(9), std::string("class9"));

        writeText(dir + "/batches.meta.txt", "a\nb\n");
        QCOMPARE(errorOf([&] { loadData(spec, true, 8); }),
                 dir + "/batches.meta.txt: expected 10 class names, one a line, got 2");

        const std::string empty = folder("cifar-empty");
        spec.path = empty;
        QCOMPARE(errorOf([&] { loadData(spec, true, 8); }),
                 "data.path: no data_batch_1.bin .. data_batch_5.bin in \"" + empty + "\"");
    }

    void specErrors_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("normalize");
        QTest::addColumn<double>("fraction");
        QTest::addColumn<qlonglong>("limit");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown source") << "foo" << "auto" << 0.1 << 0LL
                << "data.source: unknown source \"foo\"";
        QTest::newRow("csv without path") << "csv" << "auto" << 0.1 << 0LL
                << "data.path: required for csv";
        QTest::newRow("idx without path") << "idx" << "auto" << 0.1 << 0LL
                << "data.path: required for idx";
        QTest::newRow("cifar without path") << "cifar10" << "auto" << 0.1 << 0LL
                << "data.path: required for cifar10";
        QTest::newRow("bad normalize") << "moons" << "zscore" << 0.1 << 0LL
                << "data.normalize: unknown mode \"zscore\"";
        QTest::newRow("fraction 1") << "moons" << "auto" << 1.0 << 0LL
                << "data.validation_fraction: must be >= 0 and < 1";
        QTest::newRow("negative limit") << "moons" << "auto" << 0.1 << -1LL
                << "data.train_limit: must be >= 0";
    }
    void specErrors()
    {
        QFETCH(QString, source);
        QFETCH(QString, normalize);
        QFETCH(double, fraction);
        QFETCH(qlonglong, limit);
        QFETCH(QString, message);
        DataSpec spec;
        spec.source = source.toStdString();
        spec.normalize = normalize.toStdString();
        spec.validationFraction = fraction;
        spec.trainLimit = limit;
        const std::string error = errorOf([&] { loadData(spec, true, 0); });
        QVERIFY2(error.rfind(message.toStdString(), 0) == 0, ("got \"" + error + "\"").c_str());
    }

    void missingFolder()
    {
        DataSpec spec;
        spec.source = "idx";
        spec.path = path("nowhere");
        VERIFY_CONTAINS(errorOf([&] { loadData(spec, true, 0); }),
                        "data.path: folder \"" + spec.path + "\" not found");
    }

    void knownShapes()
    {
        DataSpec spec;
        const std::pair<const char*, std::vector<int64_t>> cases[] = {
            {"spiral", {2}}, {"xor", {2}}, {"fashion-mnist", {1, 28, 28}},
            {"cifar10", {3, 32, 32}}, {"idx", {}}, {"csv", {}}, {"unknown", {}}};
        for (const auto& [source, shape] : cases) {
            spec.source = source;
            QCOMPARE(knownSampleShape(spec), shape);
        }
        QCOMPARE(defaultFashionMnistPath(), std::string("/usr/share/datasets/fashion-mnist"));
    }

    void progressReports()
    {
        DataSpec spec;
        spec.source = "xor";
        std::vector<std::pair<double, std::string>> calls;
        loadData(spec, true, 0, [&](double f, const std::string& s) { calls.emplace_back(f, s); });
        QVERIFY(calls.size() >= 3);
        for (size_t i = 1; i < calls.size(); ++i)
            QVERIFY(calls[i].first >= calls[i - 1].first);
        QCOMPARE(calls.front().first, 0.0);
        QCOMPARE(calls.back(), (std::pair<double, std::string>{1.0, "done"}));
    }

    void realFashionMnist()
    {
        if (!QDir(QString::fromStdString(defaultFashionMnistPath())).exists())
            QSKIP("no Fashion-MNIST at /usr/share/datasets/fashion-mnist");
        DataSpec spec;
        spec.validationFraction = 0;
        spec.normalize = "none";
        DataBundle b = loadData(spec, true, 0);
        QCOMPARE(b.train.count(), int64_t(60000));
        QCOMPARE(b.test.count(), int64_t(10000));
        QCOMPARE(b.train.sampleShape, (std::vector<int64_t>{1, 28, 28}));
        QCOMPARE(b.train.features.size(), size_t(60000 * 784));
        std::vector<int64_t> perClass(10, 0);
        for (int64_t l : b.train.labels)
            ++perClass.at(size_t(l));
        QCOMPARE(perClass, std::vector<int64_t>(10, 6000));
        const auto [lo, hi] = std::minmax_element(b.train.features.begin(), b.train.features.end());
        QCOMPARE(*lo, 0.0f);
        QCOMPARE(*hi, 255.0f);

        // The default experiment's load: split 10% off and standardize, timed.
        QElapsedTimer timer;
        timer.start();
        b = loadData(DataSpec{}, true, 0);
        qInfo("Fashion-MNIST load (gunzip, convert, split, normalize): %lld ms", timer.elapsed());
        QCOMPARE(b.description, std::string("fashion-mnist: 54000 train, 6000 val, 10000 test"));
        // Standardized with the training part's statistics: its mean is 0, the validation
        // part's is close to but not exactly 0.
        const auto meanOf = [](const std::vector<float>& v) {
            double sum = 0;
            for (float x : v)
                sum += x;
            return sum / double(v.size());
        };
        QVERIFY(std::abs(meanOf(b.train.features)) < 1e-4);
        const double valMean = meanOf(b.validation.features);
        QVERIFY(valMean != 0.0 && std::abs(valMean) < 0.05);
        QCOMPARE(b.inputShift.size(), size_t(1));
        QVERIFY(std::abs(b.inputShift[0] - 72.9f) < 1.0f);   // Fashion-MNIST's pixel mean
    }
};

QTEST_APPLESS_MAIN(TestLoaders)
#include "test_data_loaders.moc"
