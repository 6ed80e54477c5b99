// Percentile bands of histograms over steps: TensorBoard's distributions view. Each recorded
// histogram (bin edges and counts) is reduced to a few percentiles; the view fills the
// bands between them (min-max lightest, the median a line).
#pragma once

#include <cstdint>
#include <vector>

namespace inspect {

// TensorBoard's distribution percentiles: min, the normal distribution's -1.5, -1, -0.5
// sigma points, the median, and their mirrors, max.
inline const std::vector<double>& distributionQuantiles()
{
    static const std::vector<double> q{0.0, 0.0668, 0.1587, 0.3085, 0.5, 0.6915, 0.8413, 0.9332, 1.0};
    return q;
}

struct Histogram {
    std::vector<double> edges;    // bins + 1 ascending bin edges
    std::vector<double> counts;   // one per bin, >= 0
    bool valid() const { return edges.size() >= 2 && counts.size() + 1 == edges.size(); }
};

// The values at the given quantiles (each 0..1), counts assumed spread evenly inside a bin
// (linear interpolation within the bin holding the quantile). Quantile 0 is the lower edge of
// the first non-empty bin, 1 the upper edge of the last non-empty bin. Empty or invalid
// histograms give an empty vector.
std::vector<double> histogramQuantiles(const Histogram& histogram, const std::vector<double>& quantiles);

} // namespace inspect
