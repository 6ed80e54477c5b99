// The 2-D generators: determinism per seed, class balance, shapes and their bounds.
#include "data_test_util.h"

#include <cmath>

using namespace nnlab;
using testutil::errorOf;

namespace {

std::vector<int64_t> classCounts(const Dataset& d, int64_t classes)
{
    std::vector<int64_t> counts(size_t(classes), 0);
    for (int64_t l : d.labels)
        ++counts[size_t(l)];
    return counts;
}

} // namespace

class TestSynthetic : public QObject {
    Q_OBJECT
private slots:
    void sameSeedSameData_data()
    {
        QTest::addColumn<QString>("source");
        for (const char* s : {"spiral", "moons", "circles", "xor", "blobs"})
            QTest::newRow(s) << QString(s);
    }
    void sameSeedSameData()
    {
        QFETCH(QString, source);
        const std::string name = source.toStdString();
        const Dataset a = generate2d(name, 300, 3, 0.2, 42);
        const Dataset b = generate2d(name, 300, 3, 0.2, 42);
        const Dataset c = generate2d(name, 300, 3, 0.2, 43);
        QCOMPARE(a.sampleShape, std::vector<int64_t>{2});
        QCOMPARE(a.count(), int64_t(300));
        QCOMPARE(a.features.size(), size_t(600));
        QVERIFY(a.features == b.features);
        QVERIFY(a.labels == b.labels);
        QVERIFY(a.features != c.features);
        QVERIFY(a.targets.empty());
        QCOMPARE(a.targetDim, int64_t(0));
        for (float v : a.features)
            QVERIFY(std::isfinite(v));
    }

    void balancedAndInterleaved_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<int>("classes");      // requested
        QTest::addColumn<int>("expected");     // produced
        QTest::newRow("spiral 3") << "spiral" << 3 << 3;
        QTest::newRow("spiral 10") << "spiral" << 10 << 10;
        QTest::newRow("blobs 4") << "blobs" << 4 << 4;
        QTest::newRow("moons ignores classes") << "moons" << 5 << 2;
        QTest::newRow("circles") << "circles" << 2 << 2;
        QTest::newRow("xor") << "xor" << 7 << 2;
    }
    void balancedAndInterleaved()
    {
        QFETCH(QString, source);
        QFETCH(int, classes);
        QFETCH(int, expected);
        const Dataset d = generate2d(source.toStdString(), 1001, classes, 0.1, 7);
        const std::vector<int64_t> counts = classCounts(d, expected);
        const int64_t low = 1001 / expected;
        int64_t total = 0;
        for (int64_t c : counts) {
            QVERIFY(c == low || c == low + 1);
            total += c;
        }
        QCOMPARE(total, int64_t(1001));
        // Any prefix of `expected` samples holds every class once.
        for (int i = 0; i < expected; ++i)
            QCOMPARE(d.labels[size_t(i)], int64_t(i));
    }

    void cleanShapes()
    {
        // noise 0: every point lies exactly on its class's shape.
        const Dataset spiral = generate2d("spiral", 500, 2, 0.0, 1);
        for (int64_t i = 0; i < spiral.count(); ++i)
            QVERIFY(std::hypot(spiral.features[2 * i], spiral.features[2 * i + 1]) <= 1.0f + 1e-6f);

        const Dataset circles = generate2d("circles", 500, 2, 0.0, 1);
        for (int64_t i = 0; i < circles.count(); ++i) {
            const float r = std::hypot(circles.features[2 * i], circles.features[2 * i + 1]);
            if (circles.labels[size_t(i)] == 0)
                QVERIFY(r >= 0.7f - 1e-6f && r <= 1.0f + 1e-6f);
            else
                QVERIFY(r <= 0.5f + 1e-6f);
        }

        const Dataset xorSet = generate2d("xor", 500, 2, 0.0, 1);
        for (int64_t i = 0; i < xorSet.count(); ++i) {
            const float x = xorSet.features[2 * i];
            const float y = xorSet.features[2 * i + 1];
            QVERIFY(std::abs(x) >= 0.06f && std::abs(x) <= 1.0f);
            QCOMPARE(xorSet.labels[size_t(i)], int64_t(x * y > 0 ? 0 : 1));
        }

        const Dataset moons = generate2d("moons", 500, 2, 0.0, 1);
        for (float v : moons.features)
            QVERIFY(std::abs(v) <= 1.0f + 1e-6f);
    }

    void blobsCentres()
    {
        // Two blobs on the diagonal: the class means sit near (0.42, 0.42) and (-0.42, -0.42).
        const Dataset d = generate2d("blobs", 4000, 2, 0.0, 3);
        double sum[2][2] = {{0, 0}, {0, 0}};
        for (int64_t i = 0; i < d.count(); ++i)
            for (int k = 0; k < 2; ++k)
                sum[d.labels[size_t(i)]][k] += d.features[size_t(2 * i + k)];
        for (int k = 0; k < 2; ++k) {
            QVERIFY(std::abs(sum[0][k] / 2000 - 0.4243) < 0.02);
            QVERIFY(std::abs(sum[1][k] / 2000 + 0.4243) < 0.02);
        }
    }

    void noiseMovesPoints()
    {
        const Dataset clean = generate2d("circles", 200, 2, 0.0, 5);
        const Dataset noisy = generate2d("circles", 200, 2, 0.5, 5);
        QVERIFY(clean.features != noisy.features);
        QVERIFY(clean.labels == noisy.labels);
    }

    void badArguments_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<qlonglong>("samples");
        QTest::addColumn<qlonglong>("classes");
        QTest::addColumn<double>("noise");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown") << "swirl" << 100LL << 2LL << 0.1
                << "data.source: unknown 2-D set \"swirl\"";
        QTest::newRow("no samples") << "moons" << 0LL << 2LL << 0.1
                << "data.samples: must be >= 1, got 0";
        QTest::newRow("one class") << "spiral" << 100LL << 1LL << 0.1
                << "data.classes: must be 2..10 for spiral, got 1";
        QTest::newRow("eleven classes") << "blobs" << 100LL << 11LL << 0.1
                << "data.classes: must be 2..10 for blobs, got 11";
        QTest::newRow("negative noise") << "xor" << 100LL << 2LL << -0.5
                << "data.noise: must be a number >= 0";
        QTest::newRow("nan noise") << "xor" << 100LL << 2LL << std::nan("") << "data.noise";
    }
    void badArguments()
    {
        QFETCH(QString, source);
        QFETCH(qlonglong, samples);
        QFETCH(qlonglong, classes);
        QFETCH(double, noise);
        QFETCH(QString, message);
        const std::string name = source.toStdString();
        const std::string error = errorOf([&] { generate2d(name, samples, classes, noise, 0); });
        VERIFY_CONTAINS(error, message.toStdString());
    }
};

QTEST_APPLESS_MAIN(TestSynthetic)
#include "test_data_synthetic.moc"
