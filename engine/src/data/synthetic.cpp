// The 2-D toy sets, after TensorFlow Playground (and scikit-learn's make_moons/make_circles),
// rescaled so every shape fits in about [-1, 1]. `noise` is the standard deviation of Gaussian
// noise added to each coordinate in those units (blobs: their spread is 0.1 + noise).
// Sample i belongs to class i % classes, so classes are balanced within one sample and every
// prefix of the set holds all classes; positions along each shape are random.
#include "nnlab/data.h"

#include "random.h"

#include <cmath>
#include <string>

namespace nnlab {
namespace {

using detail::kPi;
using detail::Random;

struct Point {
    double x;
    double y;
};

Point spiralPoint(Random& rng, int64_t cls, int64_t classes)
{
    // One arm per class, 1.75 turns from the centre out to radius 1, arms evenly rotated.
    const double t = rng.uniform();
    const double angle = 1.75 * 2.0 * kPi * t + 2.0 * kPi * double(cls) / double(classes);
    return {t * std::sin(angle), t * std::cos(angle)};
}

Point moonsPoint(Random& rng, int64_t cls)
{
    // scikit-learn's half circles (x in [-1, 2], y in [-0.5, 1]) centred and scaled by 1/1.5.
    const double a = rng.uniform(0.0, kPi);
    const double x = cls == 0 ? std::cos(a) : 1.0 - std::cos(a);
    const double y = cls == 0 ? std::sin(a) : 0.5 - std::sin(a);
    return {(x - 0.5) / 1.5, (y - 0.25) / 1.5};
}

Point circlesPoint(Random& rng, int64_t cls)
{
    // Class 0 is the outer ring (radius 0.7..1), class 1 the inner disc (radius < 0.5),
    // with the playground's gap between them.
    const double r = cls == 0 ? rng.uniform(0.7, 1.0) : rng.uniform(0.0, 0.5);
    const double a = rng.uniform(0.0, 2.0 * kPi);
    return {r * std::sin(a), r * std::cos(a)};
}

Point xorPoint(Random& rng, int64_t cls)
{
    // Class 0 in the quadrants where x*y > 0, class 1 where x*y < 0; a small margin keeps
    // clean points off the axes (the playground's padding).
    constexpr double margin = 0.06;
    const double x = rng.uniform(margin, 1.0) * (rng.uniform() < 0.5 ? -1.0 : 1.0);
    const double ySign = (x > 0) == (cls == 0) ? 1.0 : -1.0;
    return {x, rng.uniform(margin, 1.0) * ySign};
}

Point blobsPoint(Random& rng, int64_t cls, int64_t classes, double noise)
{
    // Centres on a circle of radius 0.6, starting on the diagonal like the playground's two
    // Gaussians, so two classes sit at (0.42, 0.42) and (-0.42, -0.42).
    const double a = kPi / 4.0 + 2.0 * kPi * double(cls) / double(classes);
    const double spread = 0.1 + noise;
    return {0.6 * std::cos(a) + spread * rng.normal(), 0.6 * std::sin(a) + spread * rng.normal()};
}

} // namespace

Dataset generate2d(const std::string& source, int64_t samples, int64_t classes, double noise,
                   uint64_t seed)
{
    const bool multiClass = source == "spiral" || source == "blobs";
    if (!multiClass && source != "moons" && source != "circles" && source != "xor")
        throw DataError("data.source: unknown 2-D set \"" + source
                        + "\" (spiral|moons|circles|xor|blobs)");
    if (samples < 1)
        throw DataError("data.samples: must be >= 1, got " + std::to_string(samples));
    if (multiClass && (classes < 2 || classes > 10))
        throw DataError("data.classes: must be 2..10 for " + source + ", got "
                        + std::to_string(classes));
    if (!(noise >= 0.0) || !std::isfinite(noise))
        throw DataError("data.noise: must be a number >= 0, got " + std::to_string(noise));
    const int64_t k = multiClass ? classes : 2;

    Dataset data;
    data.sampleShape = {2};
    data.features.reserve(size_t(samples) * 2);
    data.labels.reserve(size_t(samples));
    Random rng(seed);
    for (int64_t i = 0; i < samples; ++i) {
        const int64_t cls = i % k;
        Point p{};
        if (source == "spiral")
            p = spiralPoint(rng, cls, k);
        else if (source == "moons")
            p = moonsPoint(rng, cls);
        else if (source == "circles")
            p = circlesPoint(rng, cls);
        else if (source == "xor")
            p = xorPoint(rng, cls);
        else
            p = blobsPoint(rng, cls, k, noise);
        // Blobs fold the noise into their spread; the other shapes get it on top.
        if (source != "blobs" && noise > 0.0) {
            p.x += noise * rng.normal();
            p.y += noise * rng.normal();
        }
        data.features.push_back(static_cast<float>(p.x));
        data.features.push_back(static_cast<float>(p.y));
        data.labels.push_back(cls);
    }
    return data;
}

} // namespace nnlab
