#include "feature_images.h"

#include <algorithm>
#include <cmath>

namespace inspect {

namespace {
uchar grey(double v) { return static_cast<uchar>(std::clamp(std::lround(v), 0L, 255L)); }
} // namespace

QImage filterImage(const nnlab::FilterBank& bank, int index)
{
    if (bank.shape.size() != 4 || index < 0 || index >= bank.shape[0])
        return {};
    const int in = static_cast<int>(bank.shape[1]), h = static_cast<int>(bank.shape[2]), w = static_cast<int>(bank.shape[3]);
    const size_t size = static_cast<size_t>(in) * h * w;
    if (bank.values.size() < (static_cast<size_t>(index) + 1) * size)
        return {};
    const float* f = bank.values.data() + static_cast<size_t>(index) * size;
    float top = 0.0f;
    for (size_t i = 0; i < size; ++i)
        top = std::max(top, std::fabs(f[i]));
    const double k = top > 0 ? 127.0 / top : 0.0;
    const size_t plane = static_cast<size_t>(h) * w;
    const bool rgb = in == 3;
    QImage image(w, h, rgb ? QImage::Format_RGB888 : QImage::Format_Grayscale8);
    for (int y = 0; y < h; ++y) {
        uchar* line = image.scanLine(y);
        for (int x = 0; x < w; ++x) {
            const size_t at = static_cast<size_t>(y) * w + x;
            if (rgb) {
                for (int c = 0; c < 3; ++c)
                    line[3 * x + c] = grey(128.0 + k * f[c * plane + at]);
            } else {
                double mean = 0;
                for (int c = 0; c < in; ++c)
                    mean += f[c * plane + at];
                line[x] = grey(128.0 + k * mean / in);
            }
        }
    }
    return image;
}

int featureMapCount(const nnlab::FeatureMaps& maps)
{
    if (maps.shape.size() == 3)
        return static_cast<int>(maps.shape[0]);
    return maps.values.empty() ? 0 : 1;
}

QImage featureMapImage(const nnlab::FeatureMaps& maps, int channel)
{
    if (maps.shape.size() == 3) {
        const int c = static_cast<int>(maps.shape[0]), h = static_cast<int>(maps.shape[1]), w = static_cast<int>(maps.shape[2]);
        const size_t plane = static_cast<size_t>(h) * w;
        if (channel < 0 || channel >= c || maps.values.size() < plane * c)
            return {};
        const float* v = maps.values.data() + plane * channel;
        float lo = channel < static_cast<int>(maps.minimum.size()) ? maps.minimum[channel] : *std::min_element(v, v + plane);
        float hi = channel < static_cast<int>(maps.maximum.size()) ? maps.maximum[channel] : *std::max_element(v, v + plane);
        const double k = hi > lo ? 255.0 / (hi - lo) : 0.0;
        QImage image(w, h, QImage::Format_Grayscale8);
        for (int y = 0; y < h; ++y) {
            uchar* line = image.scanLine(y);
            for (int x = 0; x < w; ++x)
                line[x] = grey(k * (v[static_cast<size_t>(y) * w + x] - lo));
        }
        return image;
    }
    if (maps.values.empty() || channel != 0)
        return {};
    const int n = static_cast<int>(maps.values.size());
    const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
    const auto [lo, hi] = std::minmax_element(maps.values.begin(), maps.values.end());
    const double k = *hi > *lo ? 255.0 / (*hi - *lo) : 0.0;
    QImage image(side, (n + side - 1) / side, QImage::Format_Grayscale8);
    image.fill(0);
    for (int i = 0; i < n; ++i)
        image.scanLine(i / side)[i % side] = grey(k * (maps.values[static_cast<size_t>(i)] - *lo));
    return image;
}

} // namespace inspect
