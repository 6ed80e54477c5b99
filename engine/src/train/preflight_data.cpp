// The pre-flight checks that look at the experiment and the data only: the layer before the
// loss, the label balance and the input's range. No LibTorch.
#include "preflight_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace nnlab {

const char* toString(CheckId id)
{
    switch (id) {
    case CheckId::OutputLayer: return "output_layer";
    case CheckId::LabelBalance: return "label_balance";
    case CheckId::InputRange: return "input_range";
    case CheckId::InitialLoss: return "initial_loss";
    case CheckId::Baseline: return "baseline";
    case CheckId::OverfitBatch: return "overfit_batch";
    case CheckId::GradientFlow: return "gradient_flow";
    }
    return "unknown";
}

const char* toString(CheckStatus status)
{
    switch (status) {
    case CheckStatus::Pass: return "PASS";
    case CheckStatus::Warn: return "WARN";
    case CheckStatus::Fail: return "FAIL";
    case CheckStatus::Skipped: return "SKIP";
    }
    return "?";
}

int64_t InputView::sampleCount() const
{
    int64_t size = 1;
    for (int64_t d : sampleShape)
        size *= d;
    return size > 0 ? static_cast<int64_t>(samples.size()) / size : 0;
}

bool PreflightReport::failed() const { return !error.empty() || count(CheckStatus::Fail) > 0; }

int PreflightReport::count(CheckStatus status) const
{
    return static_cast<int>(std::count_if(checks.begin(), checks.end(), [&](const CheckResult& c) { return c.status == status; }));
}

const CheckResult* PreflightReport::find(CheckId id) const
{
    for (const auto& c : checks)
        if (c.id == id)
            return &c;
    return nullptr;
}

namespace detail {

std::string formatNumber(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

CheckResult makeCheck(CheckId id, CheckStatus status, std::string explanation, std::vector<CheckNumber> numbers)
{
    static const char* const titles[] = {
        "Last layer before the loss",   "Label balance",         "Input normalised",
        "Initial loss near ln(K)",      "Beats a zero-input baseline", "Overfits one batch",
        "Gradient flow",
    };
    CheckResult c;
    c.id = id;
    c.title = titles[static_cast<int>(id)];
    c.status = status;
    c.explanation = std::move(explanation);
    c.numbers = std::move(numbers);
    return c;
}

namespace {

// Channels of image samples, else every feature: the units inputShift/inputScale have.
int64_t channelCount(const DataBundle& data)
{
    const auto& shape = data.train.sampleShape;
    if (shape.empty())
        return 0;
    return data.images ? shape[0] : data.train.sampleSize();
}

struct Moments {
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    double sum = 0.0, sumSquares = 0.0;
    int64_t n = 0;
    void add(double v)
    {
        min = std::min(min, v);
        max = std::max(max, v);
        sum += v;
        sumSquares += v * v;
        ++n;
    }
    double mean() const { return n ? sum / static_cast<double>(n) : 0.0; }
    double std() const { return n ? std::sqrt(std::max(0.0, sumSquares / static_cast<double>(n) - mean() * mean())) : 0.0; }
};

std::vector<FeatureRange> featureRanges(const DataBundle& data)
{
    const Dataset& train = data.train;
    const int64_t channels = channelCount(data);
    const int64_t size = train.sampleSize();
    const int64_t plane = channels > 0 ? size / channels : 0;
    std::vector<Moments> moments(static_cast<size_t>(channels));
    const float* x = train.features.data();
    for (int64_t i = 0; i < train.count(); ++i)
        for (int64_t j = 0; j < size; ++j)
            moments[static_cast<size_t>(data.images ? j / plane : j)].add(x[i * size + j]);
    std::vector<FeatureRange> ranges;
    for (int64_t c = 0; c < channels; ++c) {
        const Moments& m = moments[static_cast<size_t>(c)];
        const bool normalized = static_cast<size_t>(c) < data.inputScale.size();
        const double scale = normalized ? data.inputScale[static_cast<size_t>(c)] : 1.0;
        const double shift = normalized ? data.inputShift[static_cast<size_t>(c)] : 0.0;
        FeatureRange r;
        r.name = (data.images ? "channel " : "feature ") + std::to_string(c);
        r.min = m.min;
        r.max = m.max;
        r.mean = m.mean();
        r.std = m.std();
        r.rawMin = m.min * scale + shift;
        r.rawMax = m.max * scale + shift;
        r.rawMean = r.mean * scale + shift;
        r.rawStd = r.std * scale;
        ranges.push_back(r);
    }
    return ranges;
}

bool nonNegativeActivation(const std::string& type) { return type == "relu" || type == "sigmoid"; }

} // namespace

InputView makeInputView(const DataBundle& data, const std::vector<int64_t>& indices, std::vector<FeatureRange> ranges)
{
    InputView view;
    view.images = data.images;
    view.sampleShape = data.train.sampleShape;
    view.classNames = data.classNames;
    view.features = std::move(ranges);
    view.normalized = !data.inputScale.empty();
    const int64_t size = data.train.sampleSize();
    const int64_t channels = channelCount(data);
    const int64_t plane = channels > 0 ? size / channels : 1;
    for (int64_t i : indices) {
        const float* x = data.train.features.data() + i * size;
        for (int64_t j = 0; j < size; ++j) {
            const auto c = static_cast<size_t>(data.images ? j / plane : j);
            const float scale = c < data.inputScale.size() ? data.inputScale[c] : 1.0f;
            const float shift = c < data.inputShift.size() ? data.inputShift[c] : 0.0f;
            view.samples.push_back(x[j] * scale + shift);
        }
        if (!data.train.labels.empty())
            view.labels.push_back(data.train.labels[static_cast<size_t>(i)]);
    }
    return view;
}

} // namespace detail

using detail::formatNumber;
using detail::makeCheck;

CheckResult checkOutputLayer(const ExperimentSpec& spec)
{
    if (!spec.isClassification())
        return makeCheck(CheckId::OutputLayer, CheckStatus::Pass, "mse: any last layer can be right for the targets");
    // The layer that produces the logits: the last one that is not a shape-only or dropout layer.
    const auto& layers = spec.model.layers;
    for (size_t i = layers.size(); i-- > 0;) {
        const std::string& type = layers[i].type;
        if (type == "dropout" || type == "flatten")
            continue;
        const std::string path = "model.layers[" + std::to_string(i) + "]";
        if (detail::nonNegativeActivation(type))
            return makeCheck(CheckId::OutputLayer, CheckStatus::Fail,
                             path + " (" + type + ") feeds cross_entropy non-negative logits, so no class can be pushed "
                                 "below the others: remove it, the logits should come from a linear layer");
        if (type == "tanh")
            return makeCheck(CheckId::OutputLayer, CheckStatus::Warn,
                             path + " (tanh) bounds the logits to [-1, 1], so the loss cannot get near zero: end with a "
                                    "linear layer");
        if (type != "linear")
            return makeCheck(CheckId::OutputLayer, CheckStatus::Warn,
                             path + " (" + type + ") produces the logits; cross_entropy usually follows a linear layer");
        return makeCheck(CheckId::OutputLayer, CheckStatus::Pass, path + " (linear) produces the logits for cross_entropy");
    }
    return makeCheck(CheckId::OutputLayer, CheckStatus::Warn, "the model has no layer that produces logits");
}

CheckResult checkLabelBalance(const DataBundle& data, int64_t minClassExamples, std::vector<int64_t>* counts)
{
    if (data.numClasses <= 0 || data.train.labels.empty())
        return makeCheck(CheckId::LabelBalance, CheckStatus::Skipped, "regression: no class labels");
    std::vector<int64_t> perClass(static_cast<size_t>(data.numClasses), 0);
    for (int64_t label : data.train.labels)
        if (label >= 0 && label < data.numClasses)
            ++perClass[static_cast<size_t>(label)];
    if (counts)
        *counts = perClass;
    const auto [lo, hi] = std::minmax_element(perClass.begin(), perClass.end());
    const auto name = [&](std::vector<int64_t>::const_iterator it) {
        const auto c = static_cast<size_t>(it - perClass.begin());
        return "'" + (c < data.classNames.size() ? data.classNames[c] : std::to_string(c)) + "'";
    };
    const std::vector<CheckNumber> numbers{{"classes", static_cast<double>(data.numClasses)},
                                           {"fewest examples", static_cast<double>(*lo)},
                                           {"most examples", static_cast<double>(*hi)}};
    const int64_t present = std::count_if(perClass.begin(), perClass.end(), [](int64_t n) { return n > 0; });
    if (present < 2)
        return makeCheck(CheckId::LabelBalance, CheckStatus::Fail,
                         "the training data has only one class: check data.label_column and the file", numbers);
    int64_t rare = 0;
    for (int64_t n : perClass)
        rare += n < minClassExamples ? 1 : 0;
    if (rare > 0)
        return makeCheck(CheckId::LabelBalance, CheckStatus::Warn,
                         std::to_string(rare) + " class(es) have fewer than " + std::to_string(minClassExamples)
                             + " training examples (" + name(lo) + ": " + std::to_string(*lo)
                             + "): collect more, merge classes, or raise data.train_limit",
                         numbers);
    if (*hi > 10 * *lo)
        return makeCheck(CheckId::LabelBalance, CheckStatus::Warn,
                         name(hi) + " has " + formatNumber(double(*hi) / double(*lo)) + "x the examples of " + name(lo)
                             + ": accuracy will mostly reflect the large classes; rebalance the data",
                         numbers);
    return makeCheck(CheckId::LabelBalance, CheckStatus::Pass,
                     std::to_string(data.numClasses) + " classes, " + std::to_string(*lo) + " to " + std::to_string(*hi)
                         + " examples each",
                     numbers);
}

CheckResult checkInputRange(const DataBundle& data, std::vector<FeatureRange>* out)
{
    const std::vector<FeatureRange> ranges = detail::featureRanges(data);
    if (out)
        *out = ranges;
    if (ranges.empty())
        return makeCheck(CheckId::InputRange, CheckStatus::Skipped, "no training samples");
    const FeatureRange* widest = &ranges.front();
    double largest = 0.0, widestStd = 0.0, farthestMean = 0.0, lowest = ranges.front().min, highest = ranges.front().max;
    int64_t constant = 0;
    for (const auto& r : ranges) {
        const double magnitude = std::max(std::abs(r.min), std::abs(r.max));
        if (magnitude > largest) {
            largest = magnitude;
            widest = &r;
        }
        lowest = std::min(lowest, r.min);
        highest = std::max(highest, r.max);
        widestStd = std::max(widestStd, r.std);
        farthestMean = std::max(farthestMean, std::abs(r.mean));
        constant += r.std == 0.0 ? 1 : 0;
    }
    const std::vector<CheckNumber> numbers{{"largest |x|", largest}, {"largest std", widestStd}, {"largest |mean|", farthestMean}};
    const std::string where = widest->name + " spans " + formatNumber(widest->min) + " .. " + formatNumber(widest->max)
                              + " (std " + formatNumber(widest->std) + ")";
    const char* fix = data.inputScale.empty() ? "set data.normalize to auto or standardize"
                                              : "check data.normalize and the source's values";
    if (!std::isfinite(largest))
        return makeCheck(CheckId::InputRange, CheckStatus::Fail, "the inputs hold NaN or infinite values: fix the source", numbers);
    if (largest > 100.0 || widestStd > 10.0)
        return makeCheck(CheckId::InputRange, CheckStatus::Fail,
                         "the inputs are not normalised: " + where + "; " + fix, numbers);
    if (largest > 10.0 || widestStd > 3.0 || farthestMean > 3.0)
        return makeCheck(CheckId::InputRange, CheckStatus::Warn,
                         "the inputs are far from unit scale: " + where + "; " + fix, numbers);
    if (constant > 0)
        return makeCheck(CheckId::InputRange, CheckStatus::Warn,
                         std::to_string(constant) + (data.images ? " channel(s)" : " feature(s)")
                             + " never change in the training data: drop them or check the source",
                         numbers);
    return makeCheck(CheckId::InputRange, CheckStatus::Pass,
                     "every " + std::string(data.images ? "channel" : "feature") + " within " + formatNumber(lowest)
                         + " .. " + formatNumber(highest) + ", std at most " + formatNumber(widestStd),
                     numbers);
}

} // namespace nnlab
