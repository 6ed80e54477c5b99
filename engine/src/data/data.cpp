// loadData: reads a source, then applies train_limit, the validation split and normalization
// (statistics from the training part only) in that order.
#include "nnlab/data.h"

#include "nnlab/model_info.h"

#include "data_cache.h"
#include "prepare.h"
#include "sources.h"

#include <chrono>
#include <cmath>
#include <optional>

namespace nnlab {
namespace {

const char* const kTwoDSources[] = {"spiral", "moons", "circles", "xor", "blobs"};

bool isTwoD(const std::string& source)
{
    for (const char* s : kTwoDSources)
        if (source == s)
            return true;
    return false;
}

void report(const DataProgress& progress, double fraction, const std::string& stage)
{
    if (progress)
        progress(fraction, stage);
}

void checkSpec(const DataSpec& spec)
{
    if (!(spec.validationFraction >= 0.0 && spec.validationFraction < 1.0))
        throw DataError("data.validation_fraction: must be >= 0 and < 1, got "
                        + std::to_string(spec.validationFraction));
    if (spec.trainLimit < 0)
        throw DataError("data.train_limit: must be >= 0 (0 = all), got "
                        + std::to_string(spec.trainLimit));
    const std::string& n = spec.normalize;
    if (n != "auto" && n != "none" && n != "standardize" && n != "scale")
        throw DataError("data.normalize: unknown mode \"" + n
                        + "\" (auto|none|standardize|scale)");
}

// "auto": images and CSV features are standardized; the 2-D sets stay as generated, because
// they already lie in [-1, 1] and plots of them (decision boundaries) use raw coordinates.
std::string resolveNormalization(const DataSpec& spec)
{
    if (spec.normalize != "auto")
        return spec.normalize;
    return isTwoD(spec.source) ? "none" : "standardize";
}

// Regression on a labelled source: one-hot targets, so a classifier's output layer fits mse.
void labelsToOneHot(Dataset& data, int64_t numClasses)
{
    data.targetDim = numClasses;
    data.targets.assign(data.labels.size() * size_t(numClasses), 0.0f);
    for (size_t i = 0; i < data.labels.size(); ++i)
        data.targets[i * size_t(numClasses) + size_t(data.labels[i])] = 1.0f;
    data.labels = {};
}

detail::RawSource loadSource(const DataSpec& spec, bool classification, uint64_t seed,
                             const DataProgress& progress)
{
    if (isTwoD(spec.source)) {
        detail::RawSource raw;
        raw.name = spec.source;
        report(progress, 0.0, "generating " + spec.source);
        raw.train = generate2d(spec.source, spec.samples, spec.classes, spec.noise, seed);
        raw.numClasses = (spec.source == "spiral" || spec.source == "blobs") ? spec.classes : 2;
        for (int64_t i = 0; i < raw.numClasses; ++i)
            raw.classNames.push_back(std::to_string(i));
        return raw;
    }
    if (spec.source == "fashion-mnist")
        return detail::loadFashionMnist(spec, progress);
    if (spec.source == "idx")
        return detail::loadIdxFolder(spec, progress);
    if (spec.source == "cifar10")
        return detail::loadCifarFolder(spec, progress);
    if (spec.source == "csv")
        return detail::loadCsv(spec, classification, progress);
    throw DataError("data.source: unknown source \"" + spec.source
                    + "\" (spiral|moons|circles|xor|blobs|fashion-mnist|idx|cifar10|csv)");
}

} // namespace

int64_t Dataset::sampleSize() const
{
    if (sampleShape.empty())
        return 0;
    int64_t size = 1;
    for (int64_t d : sampleShape)
        size *= d;
    return size;
}

int64_t Dataset::count() const
{
    if (!labels.empty())
        return int64_t(labels.size());
    if (targetDim > 0)
        return int64_t(targets.size()) / targetDim;
    const int64_t size = sampleSize();
    return size > 0 ? int64_t(features.size()) / size : 0;
}

std::vector<int64_t> knownSampleShape(const DataSpec& spec)
{
    if (isTwoD(spec.source))
        return {2};
    if (spec.source == "fashion-mnist")
        return {1, 28, 28};
    if (spec.source == "cifar10")
        return {3, 32, 32};
    return {};
}

ExperimentSpec completeFromData(const ExperimentSpec& spec, const DataBundle& data)
{
    return completeFromData(spec, data.train.sampleShape, data.numClasses, data.train.targetDim);
}

std::string defaultFashionMnistPath()
{
    return "/usr/share/datasets/fashion-mnist";
}

namespace {

// loadData without the cache.
DataBundle loadAndPrepare(const DataSpec& spec, bool classification, uint64_t seed,
                          const DataProgress& progress)
{
    detail::RawSource raw = loadSource(spec, classification, seed, progress);

    DataBundle bundle;
    bundle.images = raw.train.sampleShape.size() == 3;
    bundle.train = std::move(raw.train);
    bundle.test = std::move(raw.test);
    if (bundle.test.sampleShape.empty())
        bundle.test.sampleShape = bundle.train.sampleShape;
    bundle.numClasses = classification ? raw.numClasses : 0;
    bundle.classNames = classification ? std::move(raw.classNames) : std::vector<std::string>{};

    // A stream of its own, so the split does not replay the generator's random numbers.
    report(progress, 0.8, "splitting");
    bundle.validation = detail::splitOffValidation(bundle.train, spec.trainLimit,
                                                   spec.validationFraction,
                                                   seed ^ 0x9e3779b97f4a7c15ULL);
    if (bundle.train.count() == 0)
        throw DataError("data: no training samples left (source " + raw.name + ")");

    report(progress, 0.9, "normalizing");
    const detail::Normalization norm =
        detail::fitNormalization(bundle.train, resolveNormalization(spec), bundle.images);
    for (Dataset* part : {&bundle.train, &bundle.validation, &bundle.test})
        detail::applyNormalization(*part, norm, bundle.images);
    bundle.inputShift = norm.shift;
    bundle.inputScale = norm.scale;

    if (!classification && raw.numClasses > 0)
        for (Dataset* part : {&bundle.train, &bundle.validation, &bundle.test})
            labelsToOneHot(*part, raw.numClasses);
    if (bundle.test.count() == 0)
        bundle.test.targetDim = bundle.train.targetDim;

    bundle.description = raw.name + ": " + std::to_string(bundle.train.count()) + " train, "
                         + std::to_string(bundle.validation.count()) + " val, "
                         + std::to_string(bundle.test.count()) + " test";
    report(progress, 1.0, "done");
    return bundle;
}

} // namespace

// A file source whose files have not changed since an earlier load of the same spec is read
// back prepared from the data cache (data_cache.h) instead of decoded again.
DataBundle loadData(const DataSpec& spec, bool classification, uint64_t seed,
                    const DataProgress& progress)
{
    checkSpec(spec);
    const std::string folder = detail::dataCacheFolder();
    const std::optional<std::string> key =
        folder.empty() ? std::nullopt : detail::dataCacheKey(spec, classification, seed);
    if (key) {
        report(progress, 0.0, "reading cached data");
        if (std::optional<DataBundle> cached = detail::loadCachedData(folder, *key)) {
            report(progress, 1.0, "done");
            return std::move(*cached);
        }
    }
    const auto started = std::chrono::steady_clock::now();
    DataBundle bundle = loadAndPrepare(spec, classification, seed, progress);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (key && seconds >= detail::kMinCachedLoadSeconds)
        detail::storeCachedData(folder, *key, bundle);   // a cache: a failed write costs the next start
    return bundle;
}

} // namespace nnlab
