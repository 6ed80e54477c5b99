// Small helpers for the CLI's argument lists: flags with values, help and usage errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace nnlab::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCancelled = 130;

// Walks argv, taking "--name value" and "--name=value" forms.
class Args {
public:
    explicit Args(std::vector<std::string> args) : m_args(std::move(args)) {}
    bool flag(const std::string& name);                            // removes it when present
    std::optional<std::string> value(const std::string& name);     // last occurrence wins
    std::vector<std::string> values(const std::string& name);      // every occurrence
    bool wantsHelp() { return flag("--help") || flag("-h"); }
    // What is left: positionals. Sets `error` for a leftover option.
    std::vector<std::string> positionals(std::string& error) const;
    std::string missingValue() const { return m_missingValue; }

private:
    std::vector<std::string> m_args;
    std::string m_missingValue;
};

int usageError(const std::string& command, const std::string& message);   // prints, returns 2
std::string formatDuration(double seconds);                               // "1:05", "2:03:04"
std::string formatCount(int64_t n);                                       // "12.3k", "1.2M"
bool isTerminal(int fd);
// A whole string as one finite number ("0.5", "1e-3"); nullopt otherwise.
std::optional<double> parseNumber(const std::string& text);

} // namespace nnlab::cli
