#include "nnlab/model_interface.h"

#include "nnlab/data.h"
#include "nnlab/model_info.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <type_traits>

namespace nnlab {

namespace {

// Values per unit used for the deciles: enough for stable cuts, few enough to sort quickly.
constexpr size_t kQuantileSample = 200000;

// Calls visit(unit, rawValue) for every element of the training split, de-normalized.
// Elements of one unit in a sample, in order: a channel plane for images, one element else
// (ModelInterface::unitOf, without a division per element).
int64_t unitLength(const ModelInterface& m)
{
    return m.images ? m.sampleSize() / std::max<int64_t>(1, m.sampleShape.empty() ? 1 : m.sampleShape[0]) : 1;
}

// Every training value as the user's data had it (normalization undone), with its unit. A
// template, not a std::function: it runs over every element of the training set three times
// for each run (0.15-0.25 s of a Fashion-MNIST start through a std::function and a division
// per element).
template <typename Visit>
void forEachRaw(const Dataset& data, const ModelInterface& m, Visit&& visit)
{
    const int64_t size = m.sampleSize();
    const int64_t count = data.count();
    const int64_t length = std::max<int64_t>(1, unitLength(m));
    for (int64_t s = 0; s < count; ++s) {
        const float* x = data.features.data() + s * size;
        for (int64_t i = 0, u = 0; i < size; ++u) {
            const bool normalized = static_cast<size_t>(u) < m.inputScale.size();
            const float scale = normalized ? m.inputScale[size_t(u)] : 1.0f;
            const float shift = normalized ? m.inputShift[size_t(u)] : 0.0f;
            for (const int64_t end = std::min(size, i + length); i < end; ++i)
                visit(u, normalized ? x[i] * scale + shift : x[i]);
        }
    }
}

std::vector<float> decileCuts(std::vector<float> values)
{
    std::vector<float> cuts;
    if (values.empty())
        return cuts;
    std::sort(values.begin(), values.end());
    for (int q = 1; q < 10; ++q) {
        const float cut = values[std::min(values.size() - 1, values.size() * size_t(q) / 10)];
        // Ties (a background of zeros) merge bins: a cut equal to the last one adds nothing.
        if (cuts.empty() || cut > cuts.back())
            cuts.push_back(cut);
    }
    return cuts;
}

template <typename T>
std::vector<T> readArray(const nlohmann::json& json, const char* key, bool required = false)
{
    if (!json.contains(key)) {
        if (required)
            throw std::runtime_error(std::string("interface.") + key + ": missing");
        return {};
    }
    // nlohmann converts a float to an integer (or a double beyond float) with a bare cast:
    // undefined for 1e300, infinite for 1e39. So the elements are checked first.
    const nlohmann::json& value = json.at(key);
    if constexpr (std::is_arithmetic_v<T>) {
        const auto fits = [](const nlohmann::json& v) {
            if constexpr (std::is_integral_v<T>)
                return v.is_number_integer();
            else
                return v.is_number() && std::isfinite(static_cast<T>(v.get<double>()));
        };
        if (!value.is_array() || !std::all_of(value.begin(), value.end(), fits))
            throw std::runtime_error(std::string("interface.") + key + ": expected an array of "
                                     + (std::is_integral_v<T> ? "whole numbers" : "finite numbers"));
    }
    try {
        return value.get<std::vector<T>>();
    } catch (const nlohmann::json::exception&) {
        throw std::runtime_error(std::string("interface.") + key + ": expected an array of numbers or strings");
    }
}

// A scalar of the interface, or `fallback` when absent; a value of another type is refused
// (nlohmann's value() would throw its own type_error, naming no field).
template <typename T>
T readScalar(const nlohmann::json& json, const char* key, T fallback)
{
    if (!json.contains(key))
        return fallback;
    const nlohmann::json& value = json.at(key);
    const bool ok = std::is_same_v<T, bool> ? value.is_boolean()
                    : std::is_integral_v<T> ? value.is_number_integer()
                                            : value.is_number();
    if (!ok)
        throw std::runtime_error(std::string("interface.") + key + ": expected "
                                 + (std::is_same_v<T, bool> ? "true or false" : std::is_integral_v<T> ? "a whole number" : "a number"));
    return value.get<T>();
}

// Histogram cuts and shares as floats, all finite.
std::vector<std::vector<float>> readHistogram(const nlohmann::json& json, const char* key)
{
    if (!json.contains(key))
        return {};
    std::vector<std::vector<float>> rows;
    try {
        rows = json.at(key).get<std::vector<std::vector<float>>>();
    } catch (const nlohmann::json::exception&) {
        throw std::runtime_error(std::string("interface.") + key + ": expected arrays of numbers");
    }
    for (const auto& row : rows)
        if (!std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); }))
            throw std::runtime_error(std::string("interface.") + key + ": expected finite numbers");
    return rows;
}

} // namespace

size_t binOf(const std::vector<float>& cuts, float value)
{
    return size_t(std::upper_bound(cuts.begin(), cuts.end(), value) - cuts.begin());
}

double populationStability(const std::vector<float>& expected, const std::vector<float>& actual)
{
    double psi = 0.0;
    for (size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
        const double e = std::max(1e-4, double(expected[i]));
        const double a = std::max(1e-4, double(actual[i]));
        psi += (a - e) * std::log(a / e);
    }
    return psi;
}

double inputDrift(const ModelInterface& m, const float* raw, int64_t count)
{
    const size_t units = m.histogramEdges.size();
    if (units == 0 || count <= 0 || m.histogramFractions.size() != units)
        return 0.0;
    std::vector<std::vector<float>> counts(units);
    for (size_t u = 0; u < units; ++u)
        counts[u].assign(m.histogramEdges[u].size() + 1, 0.0f);
    const int64_t size = m.sampleSize();
    const int64_t length = std::max<int64_t>(1, unitLength(m));
    for (int64_t s = 0; s < count; ++s)
        for (int64_t i = 0, unit = 0; i < size; ++unit) {
            const size_t u = size_t(unit);
            const int64_t end = std::min(size, i + length);
            if (u >= units) {
                i = end;
                continue;
            }
            const std::vector<float>& edges = m.histogramEdges[u];
            std::vector<float>& bins = counts[u];
            for (const float* x = raw + s * size; i < end; ++i)
                bins[binOf(edges, x[i])] += 1.0f;
        }
    double sum = 0.0;
    for (size_t u = 0; u < units; ++u) {
        const float total = std::accumulate(counts[u].begin(), counts[u].end(), 0.0f);
        for (float& c : counts[u])
            c /= std::max(1.0f, total);
        sum += populationStability(m.histogramFractions[u], counts[u]);
    }
    return sum / double(units);
}

int64_t ModelInterface::sampleSize() const
{
    return std::accumulate(sampleShape.begin(), sampleShape.end(), int64_t{1}, std::multiplies<int64_t>());
}

int64_t ModelInterface::units() const
{
    if (sampleShape.empty())
        return 0;
    return images ? sampleShape[0] : sampleSize();
}

int64_t ModelInterface::unitOf(int64_t index) const
{
    if (!images)
        return index;
    const int64_t plane = sampleSize() / std::max<int64_t>(1, sampleShape[0]);
    return index / std::max<int64_t>(1, plane);
}

ModelInterface interfaceOf(const DataBundle& data)
{
    ModelInterface m;
    m.sampleShape = data.train.sampleShape;
    m.images = data.images;
    m.inputShift = data.inputShift;
    m.inputScale = data.inputScale;
    m.classNames = data.classNames;
    m.outputs = data.numClasses > 0 && data.train.targetDim == 0 ? data.numClasses : data.train.targetDim;
    if (m.outputs == 0)
        m.outputs = data.numClasses;

    const size_t units = size_t(m.units());
    const int64_t perUnit = data.train.count() * (m.sampleSize() / std::max<int64_t>(1, m.units()));
    std::vector<double> sum(units, 0.0), squares(units, 0.0);
    forEachRaw(data.train, m, [&](int64_t u, float v) { sum[size_t(u)] += v; });
    for (size_t u = 0; u < units; ++u)
        m.rawMean.push_back(perUnit > 0 ? float(sum[u] / double(perUnit)) : 0.0f);
    forEachRaw(data.train, m, [&](int64_t u, float v) {
        const double d = v - m.rawMean[size_t(u)];
        squares[size_t(u)] += d * d;
    });
    for (size_t u = 0; u < units; ++u)
        m.rawStd.push_back(perUnit > 0 ? float(std::sqrt(squares[u] / double(perUnit))) : 0.0f);

    // Deciles from an evenly strided sample of each unit's values.
    const size_t stride = std::max<size_t>(1, size_t(perUnit) / kQuantileSample);
    std::vector<std::vector<float>> sample(units);
    std::vector<size_t> seen(units, 0);
    forEachRaw(data.train, m, [&](int64_t u, float v) {
        if (seen[size_t(u)]++ % stride == 0)
            sample[size_t(u)].push_back(v);
    });
    for (auto& values : sample) {
        std::vector<float> cuts = decileCuts(values);
        std::vector<float> shares(cuts.size() + 1, 0.0f);
        for (float v : values)
            shares[binOf(cuts, v)] += 1.0f / float(values.size());
        m.histogramEdges.push_back(std::move(cuts));
        m.histogramFractions.push_back(std::move(shares));
    }

    // What sampling alone gives: consecutive windows of 100 training samples (the training
    // split is already in a seeded random order).
    const int64_t window = std::min<int64_t>(100, data.train.count());
    const int64_t windows = window > 0 ? std::min<int64_t>(20, data.train.count() / window) : 0;
    if (windows > 0) {
        std::vector<float> rawWindow(size_t(window * m.sampleSize()));
        double sumPsi = 0.0;
        for (int64_t w = 0; w < windows; ++w) {
            const float* x = data.train.features.data() + w * window * m.sampleSize();
            for (size_t i = 0; i < rawWindow.size(); ++i) {
                const size_t u = size_t(m.unitOf(int64_t(i) % m.sampleSize()));
                rawWindow[i] = u < m.inputScale.size() ? x[i] * m.inputScale[u] + m.inputShift[u] : x[i];
            }
            sumPsi += inputDrift(m, rawWindow.data(), window);
        }
        m.inputPsiAt100 = sumPsi / double(windows) * double(window) / 100.0;
    }

    if (!data.train.labels.empty() && data.numClasses > 0) {
        m.classPrior.assign(size_t(data.numClasses), 0.0f);
        for (int64_t label : data.train.labels)
            if (label >= 0 && label < data.numClasses)
                m.classPrior[size_t(label)] += 1.0f;
        for (float& p : m.classPrior)
            p /= float(data.train.labels.size());
    }
    return m;
}

std::string interfaceToJson(const ModelInterface& m)
{
    const nlohmann::json json = {
        {"sampleShape", m.sampleShape},   {"images", m.images},         {"inputShift", m.inputShift},
        {"inputScale", m.inputScale},     {"classNames", m.classNames}, {"outputs", m.outputs},
        {"rawMean", m.rawMean},           {"rawStd", m.rawStd},         {"histogramEdges", m.histogramEdges},
        {"histogramFractions", m.histogramFractions}, {"inputPsiAt100", m.inputPsiAt100},
        {"classPrior", m.classPrior},
    };
    return json.dump();
}

ModelInterface interfaceFromJson(const std::string& text)
{
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        throw std::runtime_error("interface: not a JSON object");
    ModelInterface m;
    m.sampleShape = readArray<int64_t>(json, "sampleShape", true);
    if (m.sampleShape.empty() || m.sampleShape.size() > 3
        || std::any_of(m.sampleShape.begin(), m.sampleShape.end(), [](int64_t d) { return d <= 0 || d > (1 << 20); }))
        throw std::runtime_error("interface.sampleShape: expected 1 to 3 positive sizes");
    m.images = readScalar(json, "images", false);
    m.inputShift = readArray<float>(json, "inputShift");
    m.inputScale = readArray<float>(json, "inputScale");
    m.classNames = readArray<std::string>(json, "classNames");
    m.outputs = readScalar(json, "outputs", int64_t{0});
    m.rawMean = readArray<float>(json, "rawMean");
    m.rawStd = readArray<float>(json, "rawStd");
    m.classPrior = readArray<float>(json, "classPrior");
    m.histogramEdges = readHistogram(json, "histogramEdges");
    m.histogramFractions = readHistogram(json, "histogramFractions");
    m.inputPsiAt100 = readScalar(json, "inputPsiAt100", 0.0);
    const size_t units = size_t(m.units());
    if (m.histogramFractions.size() != m.histogramEdges.size())
        m.histogramFractions.clear(), m.histogramEdges.clear();   // drift then reads as unavailable
    for (size_t u = 0; u < m.histogramEdges.size(); ++u)
        if (m.histogramFractions[u].size() != m.histogramEdges[u].size() + 1
            || !std::is_sorted(m.histogramEdges[u].begin(), m.histogramEdges[u].end()))
            throw std::runtime_error("interface.histogramEdges[" + std::to_string(u) + "]: cuts must increase and "
                                     "histogramFractions have one share more");
    if (m.inputShift.size() != m.inputScale.size() || (!m.inputShift.empty() && m.inputShift.size() != units))
        throw std::runtime_error("interface.inputShift/inputScale: expected " + std::to_string(units) + " values each");
    if (std::any_of(m.inputScale.begin(), m.inputScale.end(), [](float s) { return !(s != 0.0f) || !std::isfinite(s); }))
        throw std::runtime_error("interface.inputScale: every scale must be finite and non-zero");
    if (m.outputs <= 0)
        throw std::runtime_error("interface.outputs: expected a positive number");
    if (!m.classNames.empty() && int64_t(m.classNames.size()) != m.outputs)
        throw std::runtime_error("interface.classNames: " + std::to_string(m.classNames.size()) + " names for "
                                 + std::to_string(m.outputs) + " outputs");
    return m;
}

ExperimentSpec completeForInterface(const ExperimentSpec& spec, const ModelInterface& m)
{
    return completeFromData(spec, m.sampleShape, m.classification() ? m.outputs : 0,
                            m.classification() ? 0 : m.outputs);
}

} // namespace nnlab
