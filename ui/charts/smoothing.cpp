#include "charts/smoothing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace charts {

DebiasedEma::DebiasedEma(double weight)
    : m_weight(std::clamp(std::isfinite(weight) ? weight : 0.0, 0.0, 0.999999))
{
    m_decay[0] = m_decay[1] = m_weight;
}

double DebiasedEma::addRepeated(double value, int64_t count)
{
    if (count <= 0)
        return current();
    if (!std::isfinite(value))
        return value;
    // n steps of s = w s + (1 - w) v with a constant v: s = w^n s + (1 - w^n) v. Buckets of
    // a downsampled series mostly hold one of two counts: remember the last two powers.
    double decay;
    if (count == m_decayCount[0]) {
        decay = m_decay[0];
    } else if (count == m_decayCount[1]) {
        decay = m_decay[1];
    } else {
        decay = std::pow(m_weight, static_cast<double>(count));
        m_decayCount[m_decayNext] = count;
        m_decay[m_decayNext] = decay;
        m_decayNext ^= 1;
    }
    m_state = decay * m_state + (1.0 - decay) * value;
    m_weightPower *= decay;
    if (m_weightPower < 1e-17)
        m_weightPower = 0.0;
    m_any = true;
    return current();
}

namespace {

// DebiasedEma::addMany for a stride known at compile time (or 0: `stride` at run time).
template <size_t kStride>
void smoothBlocks(double w, double& state, const double* values, size_t stride, size_t count, double* out,
                  size_t& done)
{
    // s_{i+k} = w^(k+1) s_i + t_k with t_k = w t_{k-1} + (1 - w) x_{i+k}: the t_k of a block
    // depend only on its values, so blocks overlap in the CPU and the chain that carries the
    // state from block to block is one multiply-add every kBlock points.
    constexpr size_t kBlock = 8;
    const size_t step = kStride ? kStride : stride;
    const double a = 1.0 - w;
    double power[kBlock];
    power[0] = w;
    for (size_t k = 1; k < kBlock; ++k)
        power[k] = power[k - 1] * w;
    size_t i = done;
    const double* p = values + i * step;
    double s = state;
    for (; i + kBlock <= count; i += kBlock, p += kBlock * step) {
        double t = 0.0;
        for (size_t k = 0; k < kBlock; ++k) {
            t = w * t + a * p[k * step];
            out[i + k] = power[k] * s + t;
        }
        // A NaN or infinity anywhere in the block makes its last value non-finite (a > 0, and
        // 0 * inf is NaN): the caller then redoes the block one point at a time.
        if (!std::isfinite(out[i + kBlock - 1]))
            break;
        s = out[i + kBlock - 1];
    }
    state = s;
    done = i;
}

} // namespace

void DebiasedEma::addMany(const double* values, size_t stride, size_t count, double* out)
{
    size_t i = 0;
    while (i < count) {
        // The debiasing phase (and a first point), a non-finite value near, the tail: one
        // add() at a time.
        if (m_weightPower != 0.0 || !m_any || i + 8 > count) {
            out[i] = add(values[i * stride]);
            ++i;
            continue;
        }
        const size_t before = i;
        if (stride == 1)
            smoothBlocks<1>(m_weight, m_state, values, stride, count, out, i);
        else if (stride == 3)
            smoothBlocks<3>(m_weight, m_state, values, stride, count, out, i);
        else
            smoothBlocks<0>(m_weight, m_state, values, stride, count, out, i);
        if (i == before) {   // stopped at a block with a non-finite value
            const size_t stop = std::min(count, i + 8);
            for (; i < stop; ++i)
                out[i] = add(values[i * stride]);
        }
    }
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
