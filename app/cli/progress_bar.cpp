#include "progress_bar.h"

#include "cli_args.h"

#include <cstdio>

namespace nnlab::cli {

ProgressBar::ProgressBar(bool enabled)
    : m_enabled(enabled), m_terminal(isTerminal(2)), m_lastLine(std::chrono::steady_clock::now())
{
}

void ProgressBar::update(const Progress& p)
{
    m_last = p;
    if (!m_enabled)
        return;
    if (m_terminal) {
        draw(false);
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - m_lastLine).count() >= 5.0) {
        m_lastLine = now;
        draw(true);
    }
}

void ProgressBar::draw(bool newline)
{
    const Progress& p = m_last;
    const double fraction = p.totalSteps > 0 ? static_cast<double>(p.step) / static_cast<double>(p.totalSteps) : 0.0;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth + 0.5);
    std::string bar(static_cast<size_t>(filled), '#');
    bar += std::string(static_cast<size_t>(kWidth - filled), '-');
    char acc[32] = "";
    if (p.accuracy >= 0)
        std::snprintf(acc, sizeof acc, " acc %.3f", p.accuracy);
    std::fprintf(stderr, "%sepoch %lld/%lld [%s] %3.0f%% step %lld/%lld loss %.4f%s %s samples/s ETA %s%s",
                 m_terminal ? "\r\033[K" : "", static_cast<long long>(p.epoch), static_cast<long long>(p.epochs),
                 bar.c_str(), fraction * 100.0, static_cast<long long>(p.step), static_cast<long long>(p.totalSteps),
                 p.loss, acc, formatCount(static_cast<int64_t>(p.samplesPerSec)).c_str(),
                 formatDuration(p.etaSeconds).c_str(), newline ? "\n" : "");
    std::fflush(stderr);
    m_drawn = !newline;
}

void ProgressBar::message(const std::string& line)
{
    if (m_drawn && m_terminal)
        std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s\n", line.c_str());
    if (m_drawn && m_terminal)
        draw(false);
}

void ProgressBar::finish()
{
    if (m_enabled && m_drawn)
        std::fputs("\n", stderr);
    m_drawn = false;
}

} // namespace nnlab::cli
