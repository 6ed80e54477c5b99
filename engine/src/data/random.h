// Seeded randomness with results fixed by this code rather than by the standard library:
// std::uniform_real_distribution, std::normal_distribution and std::shuffle may differ
// between implementations, and a seed must give the same data everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace nnlab::detail {

constexpr double kPi = 3.14159265358979323846;

class Random {
public:
    explicit Random(uint64_t seed) : m_engine(seed) {}

    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(m_engine() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    // Standard normal by Box-Muller; the second value of each pair is kept for the next call.
    double normal()
    {
        if (m_hasSpare) {
            m_hasSpare = false;
            return m_spare;
        }
        const double u = 1.0 - uniform();   // (0, 1]: log stays finite
        const double v = uniform();
        const double r = std::sqrt(-2.0 * std::log(u));
        const double a = 2.0 * kPi * v;
        m_spare = r * std::sin(a);
        m_hasSpare = true;
        return r * std::cos(a);
    }

    // Uniform in [0, n); the modulo bias is below 2^-40 for any n we use.
    uint64_t below(uint64_t n) { return m_engine() % n; }

    // Fisher-Yates.
    template <class T>
    void shuffle(std::vector<T>& v)
    {
        for (size_t i = v.size(); i > 1; --i)
            std::swap(v[i - 1], v[below(i)]);
    }

private:
    std::mt19937_64 m_engine;
    double m_spare = 0.0;
    bool m_hasSpare = false;
};

} // namespace nnlab::detail
