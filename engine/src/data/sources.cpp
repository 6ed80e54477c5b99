#include "sources.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace nnlab::detail {
namespace {

namespace fs = std::filesystem;

void report(const DataProgress& progress, double fraction, const std::string& stage)
{
    if (progress)
        progress(fraction, stage);
}

std::string inQuotes(const std::string& s)
{
    return "\"" + s + "\"";
}

bool isFile(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

void requireFolder(const std::string& folder, const std::string& what)
{
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw DataError("data.path: folder " + inQuotes(folder) + " not found (" + what + ")");
}

// The first of `stems` x {"", ".gz"} present in `folder`; empty when none is.
std::string findFile(const std::string& folder, std::initializer_list<const char*> stems)
{
    for (const char* stem : stems)
        for (const char* suffix : {"", ".gz"}) {
            const fs::path p = fs::path(folder) / (std::string(stem) + suffix);
            if (isFile(p))
                return p.string();
        }
    return {};
}

// Fashion-MNIST's names, and the original MNIST distribution's "train-images.idx3-ubyte".
struct IdxFiles {
    std::string trainImages, trainLabels, testImages, testLabels;
};

IdxFiles findIdxFiles(const std::string& folder)
{
    return {findFile(folder, {"train-images-idx3-ubyte", "train-images.idx3-ubyte"}),
            findFile(folder, {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"}),
            findFile(folder, {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"}),
            findFile(folder, {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"})};
}

void requireIdx(const std::string& found, const std::string& folder, const char* name)
{
    if (found.empty())
        throw DataError("data.path: " + std::string(name) + "(.gz) not found in "
                        + inQuotes(folder));
}

// Labels must index the class list; names the labels file of the offending set.
void checkLabels(const Dataset& data, int64_t numClasses, const std::string& labelsFile)
{
    for (size_t i = 0; i < data.labels.size(); ++i)
        if (data.labels[i] < 0 || data.labels[i] >= numClasses)
            throw DataError(labelsFile + ": label " + std::to_string(data.labels[i]) + " of item "
                            + std::to_string(i) + " out of range 0.."
                            + std::to_string(numClasses - 1));
}

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? "x" : "") + std::to_string(shape[i]);
    return s;
}

std::vector<std::string> numberedClasses(int64_t n)
{
    std::vector<std::string> names;
    for (int64_t i = 0; i < n; ++i)
        names.push_back(std::to_string(i));
    return names;
}

int64_t maxLabel(const Dataset& data)
{
    return data.labels.empty() ? -1 : *std::max_element(data.labels.begin(), data.labels.end());
}

} // namespace

RawSource loadFashionMnist(const DataSpec& spec, const DataProgress& progress)
{
    const std::string folder = spec.path.empty() ? defaultFashionMnistPath() : spec.path;
    requireFolder(folder, "fashion-mnist reads train-images-idx3-ubyte.gz and the other three "
                          "IDX files from there");
    const IdxFiles files = findIdxFiles(folder);
    requireIdx(files.trainImages, folder, "train-images-idx3-ubyte");
    requireIdx(files.trainLabels, folder, "train-labels-idx1-ubyte");
    requireIdx(files.testImages, folder, "t10k-images-idx3-ubyte");
    requireIdx(files.testLabels, folder, "t10k-labels-idx1-ubyte");

    RawSource raw;
    raw.name = "fashion-mnist";
    raw.numClasses = 10;
    raw.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    report(progress, 0.0, "reading training images");
    raw.train = readIdx(files.trainImages, files.trainLabels);
    report(progress, 0.6, "reading test images");
    raw.test = readIdx(files.testImages, files.testLabels);
    for (const auto& [data, imagesFile] : {std::pair{&raw.train, files.trainImages},
                                          std::pair{&raw.test, files.testImages}})
        if (data->sampleShape != std::vector<int64_t>{1, 28, 28})
            throw DataError(imagesFile + ": Fashion-MNIST images are 28x28, got "
                            + shapeText({data->sampleShape[1], data->sampleShape[2]}));
    checkLabels(raw.train, 10, files.trainLabels);
    checkLabels(raw.test, 10, files.testLabels);
    return raw;
}

RawSource loadIdxFolder(const DataSpec& spec, const DataProgress& progress)
{
    if (spec.path.empty())
        throw DataError("data.path: required for idx (a folder with train-images-idx3-ubyte "
                        "and train-labels-idx1-ubyte, optionally gzip'd)");
    requireFolder(spec.path, "idx reads train-images-idx3-ubyte and the other IDX files there");
    const IdxFiles files = findIdxFiles(spec.path);
    requireIdx(files.trainImages, spec.path, "train-images-idx3-ubyte");
    requireIdx(files.trainLabels, spec.path, "train-labels-idx1-ubyte");
    if (files.testImages.empty() != files.testLabels.empty())
        throw DataError("data.path: " + inQuotes(spec.path) + " has only one of "
                        "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte");

    RawSource raw;
    raw.name = "idx";
    report(progress, 0.0, "reading training images");
    raw.train = readIdx(files.trainImages, files.trainLabels);
    if (!files.testImages.empty()) {
        report(progress, 0.6, "reading test images");
        raw.test = readIdx(files.testImages, files.testLabels);
        if (raw.test.sampleShape != raw.train.sampleShape)
            throw DataError(files.testImages + ": images are "
                            + shapeText(raw.test.sampleShape) + " but the training images are "
                            + shapeText(raw.train.sampleShape));
    }
    // Plain IDX carries no class list: the classes are 0 .. the largest label.
    raw.numClasses = std::max(maxLabel(raw.train), maxLabel(raw.test)) + 1;
    if (raw.numClasses < 2)
        throw DataError(files.trainLabels + ": every label is 0; classification needs at "
                        "least 2 classes");
    raw.classNames = numberedClasses(raw.numClasses);
    return raw;
}

RawSource loadCifarFolder(const DataSpec& spec, const DataProgress& progress)
{
    if (spec.path.empty())
        throw DataError("data.path: required for cifar10 (a folder with data_batch_1.bin .. "
                        "data_batch_5.bin and test_batch.bin)");
    requireFolder(spec.path, "cifar10 reads data_batch_1.bin .. data_batch_5.bin there");
    // Accept the archive's parent folder too: it unpacks into cifar-10-batches-bin/.
    std::string folder = spec.path;
    if (findFile(folder, {"data_batch_1.bin"}).empty()
        && fs::is_directory(fs::path(folder) / "cifar-10-batches-bin"))
        folder = (fs::path(folder) / "cifar-10-batches-bin").string();

    std::vector<std::string> batches;
    for (int i = 1; i <= 5; ++i) {
        const std::string name = "data_batch_" + std::to_string(i) + ".bin";
        if (const std::string f = findFile(folder, {name.c_str()}); !f.empty())
            batches.push_back(f);
    }
    if (batches.empty())
        throw DataError("data.path: no data_batch_1.bin .. data_batch_5.bin in "
                        + inQuotes(folder));

    RawSource raw;
    raw.name = "cifar10";
    raw.numClasses = 10;
    raw.classNames = {"airplane", "automobile", "bird",  "cat",  "deer",
                      "dog",      "frog",       "horse", "ship", "truck"};
    const fs::path meta = fs::path(folder) / "batches.meta.txt";
    if (isFile(meta)) {
        std::ifstream in(meta);
        std::vector<std::string> names;
        for (std::string line; std::getline(in, line);) {
            line.erase(std::remove(line.begin(), line.end(), '\r'), line.end());
            if (!line.empty())
                names.push_back(line);
        }
        if (names.size() != 10)
            throw DataError(meta.string() + ": expected 10 class names, one a line, got "
                            + std::to_string(names.size()));
        raw.classNames = names;
    }
    report(progress, 0.0, "reading training batches");
    raw.train = readCifarBatches(batches);
    if (const std::string test = findFile(folder, {"test_batch.bin"}); !test.empty()) {
        report(progress, 0.7, "reading the test batch");
        raw.test = readCifarBatches({test});
    }
    return raw;
}

RawSource loadCsv(const DataSpec& spec, bool classification, const DataProgress& progress)
{
    if (spec.path.empty())
        throw DataError("data.path: required for csv (the training CSV file)");
    const CsvOptions options = csvOptions(spec, classification);

    RawSource raw;
    raw.name = "csv " + fs::path(spec.path).filename().string();
    report(progress, 0.0, "reading " + spec.path);
    CsvTable train = readCsv(spec.path, options);
    if (classification && train.classNames.size() < 2)
        throw DataError(spec.path + ": the label column has only one class ("
                        + inQuotes(train.classNames.empty() ? "" : train.classNames[0])
                        + "); classification needs at least 2 (use the mse loss for regression)");
    raw.numClasses = int64_t(train.classNames.size());
    raw.classNames = std::move(train.classNames);
    raw.train = std::move(train.data);
    if (!spec.testPath.empty()) {
        report(progress, 0.6, "reading " + spec.testPath);
        CsvTable test = classification ? readCsv(spec.testPath, options, raw.classNames)
                                       : readCsv(spec.testPath, options);
        if (test.data.sampleShape != raw.train.sampleShape)
            throw DataError(spec.testPath + ": " + std::to_string(test.data.sampleShape[0])
                            + " feature columns, but " + spec.path + " has "
                            + std::to_string(raw.train.sampleShape[0]));
        raw.test = std::move(test.data);
    }
    return raw;
}

} // namespace nnlab::detail
