#include "cli_args.h"

#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace nnlab::cli {

bool Args::flag(const std::string& name)
{
    bool found = false;
    for (auto it = m_args.begin(); it != m_args.end();) {
        if (*it == name) {
            it = m_args.erase(it);
            found = true;
        } else {
            ++it;
        }
    }
    return found;
}

std::vector<std::string> Args::values(const std::string& name)
{
    std::vector<std::string> out;
    for (auto it = m_args.begin(); it != m_args.end();) {
        if (*it == name) {
            if (it + 1 == m_args.end()) {
                m_missingValue = name;
                it = m_args.erase(it);
                continue;
            }
            out.push_back(*(it + 1));
            it = m_args.erase(it, it + 2);
        } else if (it->rfind(name + "=", 0) == 0) {
            out.push_back(it->substr(name.size() + 1));
            it = m_args.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::optional<std::string> Args::value(const std::string& name)
{
    auto all = values(name);
    if (all.empty())
        return std::nullopt;
    return all.back();
}

std::vector<std::string> Args::positionals(std::string& error) const
{
    std::vector<std::string> out;
    if (!m_missingValue.empty())
        error = m_missingValue + " needs a value";
    for (const auto& a : m_args) {
        if (a.size() > 1 && a[0] == '-' && error.empty())
            error = "unknown option " + a;
        out.push_back(a);
    }
    return out;
}

int usageError(const std::string& command, const std::string& message)
{
    std::fprintf(stderr, "nnlab-cli %s: %s\nTry 'nnlab-cli %s --help'.\n", command.c_str(), message.c_str(),
                 command.c_str());
    return kExitUsage;
}

std::string formatDuration(double seconds)
{
    if (!(seconds >= 0) || seconds > 1e7)
        return "--:--";
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

std::string formatCount(int64_t n)
{
    char buf[32];
    if (n >= 1000000)
        std::snprintf(buf, sizeof buf, "%.2fM", static_cast<double>(n) / 1e6);
    else if (n >= 10000)
        std::snprintf(buf, sizeof buf, "%.1fk", static_cast<double>(n) / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

bool isTerminal(int fd) { return isatty(fd) == 1; }

std::optional<double> parseNumber(const std::string& text)
{
    try {
        size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v))
            return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

} // namespace nnlab::cli
