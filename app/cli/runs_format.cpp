// Text tables and values for `nnlab-cli runs`.
#include "runs_subcommands.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace nnlab::cli {
namespace {

// Display width in terminal columns, counting UTF-8 code points.
size_t displayWidth(const std::string& text)
{
    size_t width = 0;
    for (unsigned char c : text)
        width += (c & 0xC0) != 0x80;
    return width;
}

} // namespace

std::string clip(const std::string& text, size_t width)
{
    if (displayWidth(text) <= width)
        return text;
    std::string out;
    size_t used = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) != 0x80 && ++used > width - 1)
            break;
        out += text[i];
    }
    return out + "…";
}

void printTable(const TextTable& rows, const std::vector<size_t>& right, const std::string& indent)
{
    std::vector<size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], displayWidth(row[c]));
    }
    for (const auto& row : rows) {
        std::string line = indent;
        for (size_t c = 0; c < row.size(); ++c) {
            const std::string pad(widths[c] - displayWidth(row[c]), ' ');
            const bool alignRight = std::find(right.begin(), right.end(), c) != right.end();
            const bool last = c + 1 == row.size();
            line += alignRight ? pad + row[c] : row[c] + (last ? "" : pad);
            if (!last)
                line += "  ";
        }
        std::printf("%s\n", line.c_str());
    }
}

void printSection(const std::string& title, const TextTable& rows, const std::string& empty,
                  const std::vector<size_t>& right, const std::string& note)
{
    std::printf("%s\n", title.c_str());
    if (!note.empty())
        std::printf("  (%s)\n", note.c_str());
    if (rows.size() <= 1)
        std::printf("  (%s)\n", empty.c_str());
    else
        printTable(rows, right, "  ");
}

std::string localTime(double unixTime)
{
    if (unixTime <= 0)
        return "-";
    const std::time_t seconds = static_cast<std::time_t>(unixTime);
    std::tm local{};
    localtime_r(&seconds, &local);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
    return text;
}

std::string number(double value)
{
    if (std::isnan(value))
        return "-";
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", value);
    return text;
}

std::string withSeparators(int64_t n)
{
    std::string digits = std::to_string(n < 0 ? -n : n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<size_t>(i), ",");
    return (n < 0 ? "-" : "") + digits;
}

std::string bytes(int64_t size)
{
    char text[32];
    if (size >= (1 << 20))
        std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(size) / (1 << 20));
    else if (size >= 1024)
        std::snprintf(text, sizeof(text), "%.1f kB", static_cast<double>(size) / 1024);
    else
        std::snprintf(text, sizeof(text), "%lld B", static_cast<long long>(size));
    return text;
}

std::string orDash(const std::string& text)
{
    return text.empty() ? std::string("-") : text;
}

} // namespace nnlab::cli
