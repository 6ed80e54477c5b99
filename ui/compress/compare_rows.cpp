#include "compress/compare_rows.h"

#include <QCoreApplication>

#include <cmath>
#include <limits>

namespace compresslab {

namespace {
QString tr(const char* text) { return QCoreApplication::translate("compresslab", text); }
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
} // namespace

const std::vector<nnlab::CompressMethod>& allMethods()
{
    using M = nnlab::CompressMethod;
    static const std::vector<M> methods{M::None, M::PruneUnstructured, M::PruneStructured,
                                        M::QuantizeStatic, M::QuantizeDynamic, M::Distill};
    return methods;
}

QString methodLabel(nnlab::CompressMethod method)
{
    switch (method) {
    case nnlab::CompressMethod::None: return tr("uncompressed");
    case nnlab::CompressMethod::PruneUnstructured: return tr("pruned");
    case nnlab::CompressMethod::PruneStructured: return tr("pruned (structured)");
    case nnlab::CompressMethod::QuantizeStatic: return tr("int8 static");
    case nnlab::CompressMethod::QuantizeDynamic: return tr("int8 dynamic");
    case nnlab::CompressMethod::Distill: return tr("distilled");
    }
    return {};
}

QColor methodColour(nnlab::CompressMethod method)
{
    switch (method) {
    case nnlab::CompressMethod::None: return QColor(0x33, 0x33, 0x33);
    case nnlab::CompressMethod::PruneUnstructured: return QColor(0xf2, 0x8e, 0x2b);
    case nnlab::CompressMethod::PruneStructured: return QColor(0xe1, 0x57, 0x59);
    case nnlab::CompressMethod::QuantizeStatic: return QColor(0x4e, 0x79, 0xa7);
    case nnlab::CompressMethod::QuantizeDynamic: return QColor(0x76, 0xb7, 0xb2);
    case nnlab::CompressMethod::Distill: return QColor(0x59, 0xa1, 0x4f);
    }
    return QColor(150, 150, 150);
}

QString costLabel(nnlab::ParetoCost cost)
{
    switch (cost) {
    case nnlab::ParetoCost::FileBytes: return tr("size on disk (KiB)");
    case nnlab::ParetoCost::LatencyBatch1: return tr("latency at batch 1 (ms, median)");
    case nnlab::ParetoCost::LatencyBatch64: return tr("latency at batch 64 (ms, median)");
    }
    return {};
}

double costOf(const nnlab::CompareRow& row, nnlab::ParetoCost cost)
{
    const nnlab::ModelMeasurement& m = row.measurement;
    double value = kNaN;
    switch (cost) {
    case nnlab::ParetoCost::FileBytes: value = m.fileBytes > 0 ? static_cast<double>(m.fileBytes) / 1024.0 : kNaN; break;
    case nnlab::ParetoCost::LatencyBatch1: value = m.batch1.medianMs > 0 ? m.batch1.medianMs : kNaN; break;
    case nnlab::ParetoCost::LatencyBatch64: value = m.batch64.medianMs > 0 ? m.batch64.medianMs : kNaN; break;
    }
    return value;
}

double accuracyOf(const nnlab::CompareRow& row)
{
    return row.measurement.testAccuracy >= 0.0 ? 100.0 * row.measurement.testAccuracy : kNaN;
}

bool plottable(const nnlab::CompareRow& row, nnlab::ParetoCost cost)
{
    return std::isfinite(costOf(row, cost)) && std::isfinite(accuracyOf(row));
}

QString bytesText(int64_t bytes)
{
    if (bytes <= 0)
        return QStringLiteral("–");
    if (bytes < 1024)
        return tr("%1 B").arg(bytes);
    if (bytes < 1024 * 1024)
        return tr("%1 KiB").arg(static_cast<double>(bytes) / 1024.0, 0, 'f', 1);
    return tr("%1 MiB").arg(static_cast<double>(bytes) / (1024.0 * 1024.0), 0, 'f', 2);
}

QString latencyText(const nnlab::LatencyFigure& figure)
{
    if (figure.medianMs <= 0.0)
        return QStringLiteral("–");
    return tr("%1 ms (%2–%3)")
        .arg(figure.medianMs, 0, 'f', 3)
        .arg(figure.p10Ms, 0, 'f', 3)
        .arg(figure.p90Ms, 0, 'f', 3);
}

QString rowDetails(const nnlab::CompareRow& row)
{
    const nnlab::ModelMeasurement& m = row.measurement;
    const auto percent = [](double fraction) {
        return fraction >= 0.0 ? QString::number(100.0 * fraction, 'f', 2) + QLatin1Char('%') : QStringLiteral("–");
    };
    QStringList lines;
    lines << QStringLiteral("<b>%1</b> (%2)").arg(QString::fromStdString(row.name).toHtmlEscaped(),
                                                  QString::fromStdString(row.runId));
    lines << tr("method: %1").arg(methodLabel(row.method));
    if (!row.parentId.empty())
        lines << tr("parent: %1").arg(QString::fromStdString(row.parentId));
    lines << tr("test accuracy: %1 · validation: %2").arg(percent(m.testAccuracy), percent(m.validationAccuracy));
    lines << tr("parameters: %1 (%2 non-zero)").arg(m.parameters).arg(m.nonzeroParameters);
    lines << tr("size on disk: %1").arg(bytesText(m.fileBytes));
    lines << tr("latency b1: %1").arg(latencyText(m.batch1));
    lines << tr("latency b64: %1").arg(latencyText(m.batch64));
    if (m.throughput > 0.0)
        lines << tr("throughput: %1 samples/s").arg(m.throughput, 0, 'f', 0);
    return lines.join(QStringLiteral("<br>"));
}

} // namespace compresslab
