#include "charts/smoothing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace charts {

DebiasedEma::DebiasedEma(double weight)
    : m_weight(std::clamp(std::isfinite(weight) ? weight : 0.0, 0.0, 0.999999))
    , m_decay(m_weight)
{
}

double DebiasedEma::addRepeated(double value, int64_t count)
{
    if (count <= 0)
        return current();
    if (!std::isfinite(value))
        return value;
    // n steps of s = w s + (1 - w) v with a constant v: s = w^n s + (1 - w^n) v. Buckets of
    // a downsampled series mostly hold the same count: remember the last power.
    if (count != m_decayCount) {
        m_decayCount = count;
        m_decay = std::pow(m_weight, static_cast<double>(count));
    }
    const double decay = m_decay;
    m_state = decay * m_state + (1.0 - decay) * value;
    m_weightPower *= decay;
    if (m_weightPower < 1e-17)
        m_weightPower = 0.0;
    m_any = true;
    return current();
}

double DebiasedEma::current() const
{
    if (!m_any)
        return std::numeric_limits<double>::quiet_NaN();
    // 1 - w^t > 0 after the first point, since w < 1.
    return m_weightPower == 0.0 ? m_state : m_state / (1.0 - m_weightPower);
}

QVector<double> debiasedEma(const QVector<double>& values, double weight)
{
    QVector<double> out;
    out.reserve(values.size());
    DebiasedEma ema(weight);
    for (double v : values)
        out.push_back(ema.add(v));
    return out;
}

} // namespace charts
