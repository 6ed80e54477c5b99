// The companion benchmarks (bench_gui, bench_charts, bench_store): run them when they are
// built next to bench_speed and read their figures. The contract is at the top of main.cpp.
#include "bench_speed.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace bench {

namespace {

std::string trim(const std::string& s)
{
    const size_t a = s.find_first_not_of(" \t\r");
    const size_t b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// Cells of a space-aligned row: separated by two or more spaces.
std::vector<std::string> spaceCells(const std::string& line)
{
    std::vector<std::string> cells;
    const std::string s = trim(line);
    size_t pos = 0;
    while (pos < s.size()) {
        const size_t gap = s.find("  ", pos);
        cells.push_back(trim(s.substr(pos, gap == std::string::npos ? std::string::npos : gap - pos)));
        pos = gap == std::string::npos ? s.size() : s.find_first_not_of(' ', gap);
    }
    return cells;
}

std::vector<std::string> markdownCells(const std::string& line)
{
    std::vector<std::string> cells;
    std::stringstream in(trim(line));
    std::string cell;
    while (std::getline(in, cell, '|'))
        cells.push_back(trim(cell));
    if (!cells.empty() && cells.front().empty())
        cells.erase(cells.begin());
    return cells;
}

bool isNumber(const std::string& text)
{
    char* end = nullptr;
    std::strtod(text.c_str(), &end);
    return !text.empty() && end != text.c_str();
}

// "12.5 ms" with target "< 16 ms" -> value 12.5, unit "ms", pass true.
Json figure(const std::string& label, const std::string& valueText, const std::string& targetText)
{
    Json f{{"label", label}, {"value", valueText}};
    if (!targetText.empty() && targetText != "-")
        f["target"] = targetText;
    if (!isNumber(valueText))
        return f;
    char* end = nullptr;
    const double value = std::strtod(valueText.c_str(), &end);
    f["value"] = value;
    f["unit"] = trim(end);
    const bool atLeast = targetText.rfind(">=", 0) == 0, below = targetText.rfind("<", 0) == 0;
    if (atLeast || below) {
        const double limit = std::strtod(targetText.c_str() + (atLeast ? 2 : 1), nullptr);
        f["pass"] = atLeast ? value >= limit : value < limit;
    }
    return f;
}

// Without a BENCH_JSON line: space-aligned tables after a header naming a "target" column,
// markdown tables (a "<N" column holds yes/no), and a "JSON: {...}" line kept as data.
Json readText(const std::string& name, const std::string& output)
{
    Json out{{"name", name}, {"figures", Json::array()}, {"text", Json::array()}};
    std::istringstream lines(output);
    std::string line;
    bool spaceTable = false;
    std::vector<std::string> header;
    while (std::getline(lines, line)) {
        if (trim(line).empty())
            continue;
        out["text"].push_back(line);
        if (line.rfind("JSON:", 0) == 0) {
            out["data"] = Json::parse(line.substr(5), nullptr, false);
            continue;
        }
        if (trim(line).rfind("|", 0) == 0) {
            const auto cells = markdownCells(line);
            if (header.empty()) {
                header = cells;
            } else if (!cells.empty() && cells[0].find_first_not_of("-: ") != std::string::npos) {
                std::string valueText, column, target;
                bool pass = false, hasPass = false;
                for (size_t i = 2; i < cells.size() && i < header.size(); ++i) {
                    if (header[i].rfind("<", 0) == 0 && !cells[i].empty()) {
                        target = header[i];
                        hasPass = true;
                        pass = cells[i] == "yes";
                    } else if (isNumber(cells[i]) && (valueText.empty() || header[i] == "cpu med")) {
                        valueText = cells[i];
                        column = header[i];
                    }
                }
                Json f = figure(cells[0] + " / " + (cells.size() > 1 ? cells[1] : "") + " (" + column + ")", valueText, target);
                if (hasPass)
                    f["pass"] = pass;
                out["figures"].push_back(f);
            }
            continue;
        }
        if (line.find("target") != std::string::npos && spaceCells(line).size() >= 2) {
            spaceTable = true;
            continue;
        }
        if (spaceTable) {
            const auto cells = spaceCells(line);
            if (cells.size() >= 2)
                out["figures"].push_back(figure(cells[0], cells[1], cells.size() > 2 ? cells[2] : ""));
        }
    }
    return out;
}

} // namespace

Json runCompanions(const std::string& folder)
{
    namespace fs = std::filesystem;
    Json out = Json::object();
    std::vector<std::string> env;
    if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY") && !std::getenv("QT_QPA_PLATFORM"))
        env.push_back("QT_QPA_PLATFORM=offscreen");
    for (const char* name : {"bench_gui", "bench_charts", "bench_store"}) {
        const fs::path exe = fs::path(folder) / name;
        if (!fs::exists(exe)) {
            out[name] = {{"status", "not built"}};
            continue;
        }
        std::fprintf(stderr, "running %s\n", exe.c_str());
        const ProcessResult r = runProcess({exe.string()}, env);
        if (r.exitCode != 0) {
            out[name] = {{"status", "failed"}, {"exit", r.exitCode}};
            continue;
        }
        out[name] = r.json.is_object() ? r.json : readText(name, r.output);
        out[name]["status"] = "ok";
    }
    return out;
}

} // namespace bench
