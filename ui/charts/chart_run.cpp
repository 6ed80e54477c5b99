#include "charts/chart_run.h"

#include <cmath>

namespace charts {

QColor runColour(int index)
{
    static const QColor tableau10[] = {
        QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e), QColor(0x2c, 0xa0, 0x2c),
        QColor(0xd6, 0x27, 0x28), QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
        QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f), QColor(0xbc, 0xbd, 0x22),
        QColor(0x17, 0xbe, 0xcf),
    };
    constexpr int kFixed = static_cast<int>(sizeof(tableau10) / sizeof(tableau10[0]));
    if (index < 0)
        index = 0;
    if (index < kFixed)
        return tableau10[index];
    // The golden angle spreads any number of hues; value alternates so neighbours differ.
    const int n = index - kFixed;
    const int hue = static_cast<int>(std::fmod(20.0 + n * 137.508, 360.0));
    return QColor::fromHsv(hue, 200, n % 2 ? 150 : 210);
}

} // namespace charts
