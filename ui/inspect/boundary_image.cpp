#include "boundary_image.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace inspect {

QColor classColour(int index)
{
    static const QColor palette[] = {
        QColor(0xf5, 0x93, 0x22), QColor(0x08, 0x77, 0xbd), QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
        QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
        QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf),
    };
    constexpr int kFixed = static_cast<int>(sizeof(palette) / sizeof(palette[0]));
    if (index < 0)
        index = 0;
    if (index < kFixed)
        return palette[index];
    const int n = index - kFixed;
    return QColor::fromHsv(static_cast<int>(std::fmod(20.0 + n * 137.508, 360.0)), 200, n % 2 ? 150 : 210);
}

namespace {

bool readRange(const QJsonObject& meta, const char* key, double* lo, double* hi)
{
    const QJsonArray a = meta.value(QLatin1String(key)).toArray();
    if (a.size() != 2 || !a[0].isDouble() || !a[1].isDouble())
        return false;
    *lo = a[0].toDouble();
    *hi = a[1].toDouble();
    return std::isfinite(*lo) && std::isfinite(*hi) && *hi > *lo;
}

QRgb mix(double r, double g, double b)
{
    auto byte = [](double v) { return static_cast<int>(std::clamp(std::lround(v * 255.0), 0L, 255L)); };
    return qRgb(byte(r), byte(g), byte(b));
}

} // namespace

std::optional<BoundaryGrid> unpackBoundary(const nnlab::Snapshot& s, QString* error)
{
    auto fail = [error](const QString& why) -> std::optional<BoundaryGrid> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    if (s.kind != nnlab::SnapshotKind::DecisionBoundary && s.kind != nnlab::SnapshotKind::NeuronBoundary)
        return fail(QStringLiteral("not a boundary snapshot"));
    if (s.shape.size() != 3 || s.shape[1] != s.shape[2] || s.shape[0] <= 0 || s.shape[1] <= 0)
        return fail(QStringLiteral("boundary snapshot at step %1: shape must be [channels, R, R]").arg(s.step));
    const size_t expected = static_cast<size_t>(s.shape[0] * s.shape[1] * s.shape[2]);
    if (s.values.size() != expected)
        return fail(QStringLiteral("boundary snapshot at step %1: %2 values, shape wants %3")
                        .arg(s.step)
                        .arg(s.values.size())
                        .arg(expected));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(s.meta), &parseError);
    if (!doc.isObject())
        return fail(QStringLiteral("boundary snapshot at step %1: meta is not a JSON object (%2)")
                        .arg(s.step)
                        .arg(parseError.errorString()));
    const QJsonObject meta = doc.object();
    BoundaryGrid g;
    g.step = s.step;
    g.name = QString::fromStdString(s.name);
    g.channels = static_cast<int>(s.shape[0]);
    g.resolution = static_cast<int>(s.shape[1]);
    if (!readRange(meta, "x", &g.extent.xMin, &g.extent.xMax) || !readRange(meta, "y", &g.extent.yMin, &g.extent.yMax))
        return fail(QStringLiteral("boundary snapshot at step %1: meta needs \"x\" and \"y\" as [min, max]").arg(s.step));
    for (const QJsonValue& v : meta.value(QLatin1String("class_names")).toArray())
        g.classNames << v.toString();
    g.layerType = meta.value(QLatin1String("layer_type")).toString();
    g.values = s.values;
    return g;
}

QImage boundaryImage(const BoundaryGrid& g, double strength)
{
    const int r = g.resolution, classes = g.channels;
    QImage image(r, r, QImage::Format_RGB32);
    if (r <= 0 || classes <= 0)
        return image;
    std::vector<QColor> colours;
    for (int c = 0; c < classes; ++c)
        colours.push_back(classColour(c));
    const size_t plane = static_cast<size_t>(r) * static_cast<size_t>(r);
    const double uniform = 1.0 / classes;
    for (int iy = 0; iy < r; ++iy) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(r - 1 - iy));   // row 0 of the grid is the bottom
        for (int ix = 0; ix < r; ++ix) {
            const size_t at = static_cast<size_t>(iy) * static_cast<size_t>(r) + static_cast<size_t>(ix);
            double red = 0, green = 0, blue = 0, total = 0, best = 0;
            for (int c = 0; c < classes; ++c) {
                const float pv = g.values[static_cast<size_t>(c) * plane + at];
                const double p = std::isfinite(pv) ? std::max(0.0f, pv) : 0.0;
                red += p * colours[c].redF();
                green += p * colours[c].greenF();
                blue += p * colours[c].blueF();
                total += p;
                best = std::max(best, p);
            }
            if (total <= 0) {
                line[ix] = qRgb(255, 255, 255);
                continue;
            }
            red /= total, green /= total, blue /= total, best /= total;
            // Certainty: 0 for a uniform prediction, 1 for a sure one.
            const double sure = classes > 1 ? std::clamp((best - uniform) / (1.0 - uniform), 0.0, 1.0) : 1.0;
            const double k = std::clamp(strength, 0.0, 1.0) * sure;
            line[ix] = mix(1.0 + k * (red - 1.0), 1.0 + k * (green - 1.0), 1.0 + k * (blue - 1.0));
        }
    }
    return image;
}

float unitScale(const BoundaryGrid& g, int unit)
{
    const size_t plane = static_cast<size_t>(g.resolution) * static_cast<size_t>(g.resolution);
    if (unit < 0 || unit >= g.channels)
        return 0.0f;
    float top = 0.0f;
    for (size_t i = 0; i < plane; ++i) {
        const float v = g.values[static_cast<size_t>(unit) * plane + i];
        if (std::isfinite(v))
            top = std::max(top, std::fabs(v));
    }
    return top;
}

QImage neuronImage(const BoundaryGrid& g, int unit, float scale)
{
    const int r = g.resolution;
    QImage image(r, r, QImage::Format_RGB32);
    image.fill(Qt::white);
    if (unit < 0 || unit >= g.channels || r <= 0)
        return image;
    const QColor negative = classColour(0), positive = classColour(1);
    const size_t plane = static_cast<size_t>(r) * static_cast<size_t>(r);
    for (int iy = 0; iy < r; ++iy) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(r - 1 - iy));
        for (int ix = 0; ix < r; ++ix) {
            const float v = g.values[static_cast<size_t>(unit) * plane + static_cast<size_t>(iy) * r + ix];
            const double t = scale > 0 && std::isfinite(v) ? std::clamp(static_cast<double>(v) / scale, -1.0, 1.0) : 0.0;
            const QColor& c = t < 0 ? negative : positive;
            const double k = std::fabs(t);
            line[ix] = mix(1.0 + k * (c.redF() - 1.0), 1.0 + k * (c.greenF() - 1.0), 1.0 + k * (c.blueF() - 1.0));
        }
    }
    return image;
}

} // namespace inspect
