#include "prepare.h"

#include "random.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace nnlab::detail {
namespace {

template <class T>
void appendRows(const std::vector<T>& src, size_t width, const std::vector<size_t>& rows,
                std::vector<T>& dst)
{
    dst.reserve(dst.size() + rows.size() * width);
    for (size_t r : rows)
        dst.insert(dst.end(), src.begin() + r * width, src.begin() + (r + 1) * width);
}

// Moves the rows listed (ascending) to the front and drops the rest. Row rows[k] >= k, so
// copying front to back never overwrites a row that is still to be moved.
template <class T>
void keepRows(std::vector<T>& v, size_t width, const std::vector<size_t>& rows)
{
    for (size_t k = 0; k < rows.size(); ++k)
        if (rows[k] != k)
            std::copy_n(v.begin() + rows[k] * width, width, v.begin() + k * width);
    v.resize(rows.size() * width);
    // A small train_limit out of a large set would otherwise hold on to all of its memory.
    if (v.capacity() > 2 * v.size())
        v.shrink_to_fit();
}

// Per sample, `channels` blocks of `block` consecutive values.
struct Layout {
    size_t channels;
    size_t block;
};

Layout layoutOf(const Dataset& data, bool images)
{
    const size_t size = size_t(data.sampleSize());
    const size_t channels = images ? size_t(data.sampleShape[0]) : size;
    return {channels, channels ? size / channels : 0};
}

// Calls f(channel, pointer to block, block length) for every block of every sample.
template <class F>
void forEachBlock(const Dataset& data, const Layout& layout, F&& f)
{
    const size_t samples = size_t(data.count());
    const float* p = data.features.data();
    for (size_t s = 0; s < samples; ++s)
        for (size_t c = 0; c < layout.channels; ++c, p += layout.block)
            f(c, p, layout.block);
}

} // namespace

Dataset splitOffValidation(Dataset& data, int64_t limit, double fraction, uint64_t seed)
{
    Dataset validation;
    validation.sampleShape = data.sampleShape;
    validation.targetDim = data.targetDim;

    const size_t total = size_t(data.count());
    const size_t kept = limit > 0 ? std::min(total, size_t(limit)) : total;
    size_t held = 0;
    if (fraction > 0.0 && kept >= 2)
        held = std::clamp<size_t>(size_t(std::llround(fraction * double(kept))), 1, kept - 1);
    if (kept == total && held == 0)
        return validation;

    std::vector<size_t> order(total);
    std::iota(order.begin(), order.end(), 0);
    Random(seed).shuffle(order);
    std::vector<size_t> valRows(order.begin(), order.begin() + held);
    std::vector<size_t> trainRows(order.begin() + held, order.begin() + kept);
    order = {};
    std::sort(valRows.begin(), valRows.end());
    std::sort(trainRows.begin(), trainRows.end());

    const size_t width = size_t(data.sampleSize());
    const size_t targetWidth = size_t(data.targetDim);
    appendRows(data.features, width, valRows, validation.features);
    keepRows(data.features, width, trainRows);
    if (!data.labels.empty()) {
        appendRows(data.labels, 1, valRows, validation.labels);
        keepRows(data.labels, 1, trainRows);
    }
    if (!data.targets.empty()) {
        appendRows(data.targets, targetWidth, valRows, validation.targets);
        keepRows(data.targets, targetWidth, trainRows);
    }
    return validation;
}

Normalization fitNormalization(const Dataset& train, const std::string& mode, bool images)
{
    Normalization norm;
    if (mode == "none" || train.count() == 0)
        return norm;
    const Layout layout = layoutOf(train, images);
    const size_t channels = layout.channels;

    if (mode == "scale" && images) {
        norm.shift.assign(channels, 0.0f);
        norm.scale.assign(channels, 255.0f);
        return norm;
    }
    if (mode == "scale") {
        std::vector<float> lo(channels, std::numeric_limits<float>::max());
        std::vector<float> hi(channels, std::numeric_limits<float>::lowest());
        forEachBlock(train, layout, [&](size_t c, const float* p, size_t n) {
            const auto [mn, mx] = std::minmax_element(p, p + n);
            lo[c] = std::min(lo[c], *mn);
            hi[c] = std::max(hi[c], *mx);
        });
        for (size_t c = 0; c < channels; ++c) {
            norm.shift.push_back(lo[c]);
            // A constant feature maps to 0 instead of dividing by zero.
            norm.scale.push_back(hi[c] > lo[c] ? hi[c] - lo[c] : 1.0f);
        }
        return norm;
    }

    // Standardize. Two passes (mean, then squared deviations) in double, because tabular
    // features with a large offset lose everything to cancellation in E[x^2] - E[x]^2.
    std::vector<double> sum(channels, 0.0);
    forEachBlock(train, layout, [&](size_t c, const float* p, size_t n) {
        double s = 0.0;
        for (size_t i = 0; i < n; ++i)
            s += p[i];
        sum[c] += s;
    });
    const double perChannel = double(train.count()) * double(layout.block);
    std::vector<double> mean(channels);
    for (size_t c = 0; c < channels; ++c)
        mean[c] = sum[c] / perChannel;
    std::vector<double> squares(channels, 0.0);
    forEachBlock(train, layout, [&](size_t c, const float* p, size_t n) {
        double s = 0.0;
        for (size_t i = 0; i < n; ++i)
            s += (p[i] - mean[c]) * (p[i] - mean[c]);
        squares[c] += s;
    });
    for (size_t c = 0; c < channels; ++c) {
        const double sd = std::sqrt(squares[c] / perChannel);
        norm.shift.push_back(float(mean[c]));
        norm.scale.push_back(sd > 1e-12 ? float(sd) : 1.0f);
    }
    return norm;
}

void applyNormalization(Dataset& data, const Normalization& norm, bool images)
{
    if (norm.shift.empty() || data.count() == 0)
        return;
    const Layout layout = layoutOf(data, images);
    std::vector<float> inverse;
    for (float s : norm.scale)
        inverse.push_back(1.0f / s);
    float* p = data.features.data();
    const size_t samples = size_t(data.count());
    for (size_t s = 0; s < samples; ++s)
        for (size_t c = 0; c < layout.channels; ++c) {
            const float shift = norm.shift[c];
            const float inv = inverse[c];
            for (size_t i = 0; i < layout.block; ++i, ++p)
                *p = (*p - shift) * inv;
        }
}

} // namespace nnlab::detail
