// The prepared-data cache (engine/src/data/data_cache.h): an entry reads back exactly what was
// stored, keys follow the spec and the source files, damaged or foreign entries are misses,
// old entries are pruned, and loadData's second load of Fashion-MNIST comes from the cache
// with the same arrays.
#include "data_test_util.h"

#include "../../engine/src/data/data_cache.h"

#include <QTemporaryDir>

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using nnlab::DataBundle;
using nnlab::DataSpec;
using nnlab::Dataset;
using namespace nnlab::detail;

namespace {

Dataset dataset(int64_t count, int64_t width, bool labels, float offset)
{
    Dataset d;
    d.sampleShape = {width};
    for (int64_t i = 0; i < count * width; ++i)
        d.features.push_back(offset + 0.25f * float(i));
    if (labels)
        for (int64_t i = 0; i < count; ++i)
            d.labels.push_back(i % 3);
    else {
        d.targetDim = 2;
        for (int64_t i = 0; i < count * 2; ++i)
            d.targets.push_back(float(i) - 1.5f);
    }
    return d;
}

DataBundle bundle()
{
    DataBundle b;
    b.train = dataset(7, 3, true, 0.0f);
    b.validation = dataset(2, 3, true, 100.0f);
    b.test = dataset(3, 3, false, -5.0f);
    b.test.labels.clear();
    b.numClasses = 3;
    b.classNames = {"a", "bé", ""};
    b.images = false;
    b.description = "csv x.csv: 7 train, 2 val, 3 test";
    b.inputShift = {1.0f, 2.0f, 3.0f};
    b.inputScale = {0.5f, 4.0f, 1.0f};
    return b;
}

void compareDatasets(const Dataset& a, const Dataset& b)
{
    QCOMPARE(a.sampleShape, b.sampleShape);
    QCOMPARE(a.features, b.features);
    QCOMPARE(a.labels, b.labels);
    QCOMPARE(a.targets, b.targets);
    QCOMPARE(a.targetDim, b.targetDim);
}

void compareBundles(const DataBundle& a, const DataBundle& b)
{
    compareDatasets(a.train, b.train);
    compareDatasets(a.validation, b.validation);
    compareDatasets(a.test, b.test);
    QCOMPARE(a.numClasses, b.numClasses);
    QCOMPARE(a.classNames, b.classNames);
    QCOMPARE(a.images, b.images);
    QCOMPARE(a.description, b.description);
    QCOMPARE(a.inputShift, b.inputShift);
    QCOMPARE(a.inputScale, b.inputScale);
}

std::vector<fs::path> entries(const std::string& folder)
{
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(folder))
        if (e.path().extension() == ".bin")
            out.push_back(e.path());
    return out;
}

} // namespace

class TestDataCache : public QObject {
    Q_OBJECT

private slots:
    void roundTrip()
    {
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString() + "/cache";
        const DataBundle stored = bundle();
        QCOMPARE(storeCachedData(folder, "key one", stored), std::string());
        const auto loaded = loadCachedData(folder, "key one");
        QVERIFY(loaded.has_value());
        compareBundles(*loaded, stored);
        QVERIFY(!loadCachedData(folder, "key two").has_value());
        QVERIFY(!loadCachedData(dir.path().toStdString() + "/nowhere", "key one").has_value());
        QVERIFY(!loadCachedData("", "key one").has_value());
    }

    void damagedEntriesAreMisses()
    {
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString();
        QCOMPARE(storeCachedData(folder, "k", bundle()), std::string());
        const fs::path file = entries(folder).at(0);
        const auto size = fs::file_size(file);
        std::string bytes;
        {
            std::ifstream in(file, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        const auto rewrite = [&](const std::string& content) {
            std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
        };
        // A flipped byte in the features, a cut, zeros where data was, garbage counts.
        std::string flipped = bytes;
        flipped[size / 2] = char(flipped[size / 2] ^ 0x40);
        for (const std::string& damaged : {flipped, bytes.substr(0, size - 1), bytes.substr(0, size / 2),
                                           std::string(bytes.size(), '\0'), std::string("NNLABDC1") + std::string(64, '\xff')}) {
            rewrite(damaged);
            QVERIFY(!loadCachedData(folder, "k").has_value());
        }
        rewrite(bytes);
        QVERIFY(loadCachedData(folder, "k").has_value());
    }

    void keysFollowSpecAndFiles()
    {
        QTemporaryDir dir;
        const std::string csv = dir.path().toStdString() + "/t.csv";
        testutil::writeText(csv, "a,b,label\n1,2,0\n3,4,1\n");
        DataSpec spec;
        spec.source = "csv";
        spec.path = csv;
        const auto key = dataCacheKey(spec, true, 7);
        QVERIFY(key.has_value());
        QCOMPARE(dataCacheKey(spec, true, 7), key);
        QVERIFY(dataCacheKey(spec, true, 8) != key);
        QVERIFY(dataCacheKey(spec, false, 7) != key);
        DataSpec other = spec;
        other.trainLimit = 1;
        QVERIFY(dataCacheKey(other, true, 7) != key);
        other = spec;
        other.validationFraction = 0.1000001;
        QVERIFY(dataCacheKey(other, true, 7) != key);
        other = spec;
        other.normalize = "none";
        QVERIFY(dataCacheKey(other, true, 7) != key);
        // The same size, another modification time: another key.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        testutil::writeText(csv, "a,b,label\n1,2,0\n3,4,0\n");
        QVERIFY(dataCacheKey(spec, true, 7) != key);
        // Generated sources and missing files are not cached.
        DataSpec spiral;
        spiral.source = "spiral";
        QVERIFY(!dataCacheKey(spiral, true, 7).has_value());
        spec.path = dir.path().toStdString() + "/missing.csv";
        QVERIFY(!dataCacheKey(spec, true, 7).has_value());
        // A folder source lists its files: a new file changes the key.
        DataSpec idx;
        idx.source = "idx";
        idx.path = dir.path().toStdString();
        const auto folderKey = dataCacheKey(idx, true, 7);
        QVERIFY(folderKey.has_value());
        testutil::writeText(dir.path().toStdString() + "/extra", "x");
        QVERIFY(dataCacheKey(idx, true, 7) != folderKey);
    }

    void oldEntriesArePruned()
    {
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString();
        DataBundle small;
        small.train = dataset(1, 1, true, 0.0f);
        for (int i = 0; i < kMaxDataEntries + 3; ++i)
            QCOMPARE(storeCachedData(folder, "key " + std::to_string(i), small), std::string());
        QCOMPARE(entries(folder).size(), size_t(kMaxDataEntries));
        QVERIFY(loadCachedData(folder, "key " + std::to_string(kMaxDataEntries + 2)).has_value());
    }

    void loadDataUsesTheCache()
    {
        DataSpec spec;   // fashion-mnist from the Debian package
        if (!fs::exists(nnlab::defaultFashionMnistPath() + "/train-images-idx3-ubyte.gz"))
            QSKIP("fashion-mnist is not installed");
        spec.trainLimit = 3000;
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString() + "/data";
        qputenv("NNLAB_DATA_CACHE", QByteArray::fromStdString(folder));
        QCOMPARE(dataCacheFolder(), folder);
        const DataBundle first = nnlab::loadData(spec, true, 3);
        QCOMPARE(entries(folder).size(), size_t(1));   // decoding 60,000 images takes > 0.1 s
        std::vector<std::string> stages;
        const DataBundle second = nnlab::loadData(spec, true, 3, [&](double, const std::string& stage) {
            stages.push_back(stage);
        });
        QVERIFY2(!stages.empty() && stages.front() == "reading cached data", stages.front().c_str());
        QVERIFY(std::find(stages.begin(), stages.end(), "reading training images") == stages.end());
        compareBundles(second, first);
        QCOMPARE(second.train.count(), int64_t(2700));
        // Another seed is another split: decoded again, not taken from the first entry.
        const DataBundle other = nnlab::loadData(spec, true, 4);
        QVERIFY(other.train.labels != first.train.labels);
        QCOMPARE(entries(folder).size(), size_t(2));
        qputenv("NNLAB_DATA_CACHE", "off");
        QCOMPARE(dataCacheFolder(), std::string());
        compareBundles(nnlab::loadData(spec, true, 3), first);
        qunsetenv("NNLAB_DATA_CACHE");
    }
};

QTEST_APPLESS_MAIN(TestDataCache)
#include "test_data_cache.moc"
