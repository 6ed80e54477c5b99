// What the compression views show of a compare row (nnlab/compress.h): the method's name and
// colour, the cost on the chosen axis, the accuracy, and the run's numbers as text. One place,
// so the chart, its legend, its tooltips and the table agree.
#pragma once

#include "nnlab/compress.h"

#include <QColor>
#include <QMetaType>
#include <QString>

#include <vector>

Q_DECLARE_METATYPE(std::vector<nnlab::CompareRow>)
Q_DECLARE_METATYPE(nnlab::CompressResult)

namespace compresslab {

// Every method in legend order, the uncompressed runs first.
const std::vector<nnlab::CompressMethod>& allMethods();
QString methodLabel(nnlab::CompressMethod method);   // "uncompressed", "pruned (structured)", "int8 static"
QColor methodColour(nnlab::CompressMethod method);

QString costLabel(nnlab::ParetoCost cost);           // the x axis: "size on disk (KiB)"
// The row's cost on that axis (KiB, or milliseconds); NaN when it was not measured.
double costOf(const nnlab::CompareRow& row, nnlab::ParetoCost cost);
// Test accuracy in percent; NaN when the run has no test split or was not measured.
double accuracyOf(const nnlab::CompareRow& row);
// Whether the row can sit on the chart for this axis.
bool plottable(const nnlab::CompareRow& row, nnlab::ParetoCost cost);

QString bytesText(int64_t bytes);                    // "412.3 KiB"
QString latencyText(const nnlab::LatencyFigure& figure);   // "0.41 ms (0.39-0.45)"
// Several lines: name, method, accuracies, parameters, size, latencies, throughput.
QString rowDetails(const nnlab::CompareRow& row);

} // namespace compresslab
