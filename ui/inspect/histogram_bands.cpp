#include "histogram_bands.h"

#include <algorithm>
#include <cmath>

namespace inspect {

std::vector<double> histogramQuantiles(const Histogram& h, const std::vector<double>& quantiles)
{
    if (!h.valid())
        return {};
    double total = 0.0;
    for (double c : h.counts)
        total += std::isfinite(c) && c > 0 ? c : 0.0;
    if (total <= 0.0)
        return {};
    size_t first = 0, last = h.counts.size() - 1;
    while (!(h.counts[first] > 0))
        ++first;
    while (!(h.counts[last] > 0))
        --last;

    std::vector<double> out;
    out.reserve(quantiles.size());
    for (double q : quantiles) {
        q = std::clamp(q, 0.0, 1.0);
        if (q <= 0.0) {
            out.push_back(h.edges[first]);
            continue;
        }
        if (q >= 1.0) {
            out.push_back(h.edges[last + 1]);
            continue;
        }
        const double target = q * total;
        double below = 0.0;
        double value = h.edges[last + 1];
        for (size_t b = first; b <= last; ++b) {
            const double c = h.counts[b] > 0 ? h.counts[b] : 0.0;
            if (c > 0 && below + c >= target) {
                const double fraction = (target - below) / c;
                value = h.edges[b] + fraction * (h.edges[b + 1] - h.edges[b]);
                break;
            }
            below += c;
        }
        out.push_back(value);
    }
    return out;
}

} // namespace inspect
