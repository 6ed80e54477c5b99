// Debiased exponential moving average, as TensorBoard smooths scalars:
//   s_t = w * s_{t-1} + (1 - w) * x_t,  s_0 = 0,  shown as s_t / (1 - w^t).
// Dividing by (1 - w^t) removes the pull towards 0 of the zero start, so the curve does not
// depend on how long the series is: a constant series stays constant from its first point,
// and the first points are not dragged down. Non-finite values are passed through and leave
// the state untouched (a NaN loss shows as a gap, it does not poison the rest).
#pragma once

#include <QVector>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace charts {

class DebiasedEma {
public:
    // weight: 0 (no smoothing) .. < 1; values outside are clamped to [0, 0.999999].
    explicit DebiasedEma(double weight = 0.0);

    double weight() const { return m_weight; }
    // Adds one value and returns the smoothed value at it. Inline: it runs once per point of
    // every series whenever the smoothing slider moves.
    double add(double value)
    {
        if (!std::isfinite(value))
            return value;
        m_state = m_weight * m_state + (1.0 - m_weight) * value;
        m_any = true;
        // Once w^t is below 1e-17, 1 - w^t is 1 in double precision: no more dividing (and
        // no multiplying w^t on into denormals, which are slow).
        if (m_weightPower == 0.0)
            return m_state;
        m_weightPower *= m_weight;
        if (m_weightPower < 1e-17)
            m_weightPower = 0.0;
        return m_state / (1.0 - m_weightPower);
    }
    // Adds `count` points that all had (about) `value`: what a downsampled bucket stands for.
    // Equals `count` calls of add(value), in O(1); count <= 0 adds nothing.
    double addRepeated(double value, int64_t count);
    // add() of `count` values read `stride` doubles apart from `values`, the results written
    // to out[0 .. count). The same values as one add() each (to rounding, ~1e-16 relative),
    // several times faster: once the debiasing has died out, blocks of finite values are
    // smoothed without the one multiply-add per point chain that bounds add() in a loop.
    void addMany(const double* values, size_t stride, size_t count, double* out);
    // The smoothed value after the last point added (NaN before the first one).
    double current() const;

private:
    double m_weight = 0.0;
    double m_state = 0.0;       // s_t, biased towards 0
    double m_weightPower = 1.0; // w^t over the finite points added
    bool m_any = false;
    // w^m_decayCount[k] == m_decay[k]: a store overview's buckets hold one of two counts
    // (100,000 points in 4,096 buckets: 24 or 25), alternating, so two powers are kept
    // (one pow() per bucket was most of a smoothing change on stored runs).
    int64_t m_decayCount[2] = {1, 1};
    double m_decay[2] = {0.0, 0.0};
    int m_decayNext = 0;         // the entry replaced next
};

// The smoothed series of `values` (same length).
QVector<double> debiasedEma(const QVector<double>& values, double weight);

} // namespace charts
