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

void ProgressBar::updateItems(int64_t done, int64_t total, const std::string& unit)
{
    m_unit = unit;
    Progress p;
    p.step = done;
    p.totalSteps = total;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
    p.samplesPerSec = elapsed > 0 ? double(done) / elapsed : 0.0;
    p.etaSeconds = p.samplesPerSec > 0 ? double(total - done) / p.samplesPerSec : 0.0;
    update(p);
}

void ProgressBar::draw(bool newline)
{
    const Progress& p = m_last;
    if (!m_unit.empty()) {
        const double fraction = p.totalSteps > 0 ? double(p.step) / double(p.totalSteps) : 0.0;
        const int filled = static_cast<int>(fraction * 24 + 0.5);
        const std::string bar = std::string(size_t(filled), '#') + std::string(size_t(24 - filled), '-');
        std::fprintf(stderr, "%s[%s] %3.0f%% %lld/%lld %s %s/s ETA %s%s", m_terminal ? "\r\033[K" : "", bar.c_str(),
                     fraction * 100.0, static_cast<long long>(p.step), static_cast<long long>(p.totalSteps),
                     m_unit.c_str(), formatCount(static_cast<int64_t>(p.samplesPerSec)).c_str(),
                     formatDuration(p.etaSeconds).c_str(), newline ? "\n" : "");
        std::fflush(stderr);
        m_drawn = !newline;
        return;
    }
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
