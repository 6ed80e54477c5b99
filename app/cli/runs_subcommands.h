// The sub-commands of `nnlab-cli runs`, as runs_command.cpp's table sees them, and what their
// handlers share: opening the store, positionals, failures and text tables.
#pragma once

#include "cli_args.h"

#include "nnlab/store.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnlab::cli {

struct RunsSubcommand;

// One call of a sub-command: its arguments (without its name, --db and --help) and the store.
struct RunsInvocation {
    Args args;
    std::string database;             // --db if given, else defaultDatabasePath() ($NNLAB_DB...)
    const RunsSubcommand* command = nullptr;
};

using RunsHandler = int (*)(RunsInvocation& invocation);   // returns the exit status

struct RunsSubcommand {
    const char* name;        // "show"
    const char* arguments;   // "ID": after the name in the usage line and in `runs --help`
    const char* options;     // its own options for the usage line ("[--out FILE]"), "" if none
    const char* summary;     // its line in `runs --help`
    const char* help;        // `runs NAME --help` after the usage line
    RunsHandler handler;
};

// Exactly `count` positionals once the handler has taken its options; otherwise prints a
// usage error and returns nullopt (the handler then returns kExitUsage).
std::optional<std::vector<std::string>> takePositionals(RunsInvocation& invocation, size_t count);
// "nnlab-cli runs NAME: message" on stderr; returns kExitFailed.
int failure(const RunsInvocation& invocation, const std::string& message);
// Opens the existing store, never creating one: writable when possible, so runs of dead
// processes get recorded as interrupted; a command that only reads falls back to read-only.
// nullptr after printing the failure.
std::unique_ptr<RunStore> openExisting(const RunsInvocation& invocation, bool forWriting);

// For a sub-command whose one positional is a run ID: the store and the run, or the exit
// status after printing why not (a usage error, no store, no such run).
struct RunArgument {
    std::unique_ptr<RunStore> store;
    RunDetails run;
    int status = kExitOk;
};
RunArgument takeRunArgument(RunsInvocation& invocation, bool forWriting);

int listRunsCommand(RunsInvocation& invocation);     // runs_show.cpp
int showRunCommand(RunsInvocation& invocation);
int diffRunsCommand(RunsInvocation& invocation);
int exportRunCommand(RunsInvocation& invocation);    // runs_edit.cpp
int deleteRunCommand(RunsInvocation& invocation);
int resumeRunCommand(RunsInvocation& invocation);
int importRunsCommand(RunsInvocation& invocation);

// Text output (runs_format.cpp).
using TextTable = std::vector<std::vector<std::string>>;
// Columns padded to their widest cell; those in `right` (by index) right-aligned.
void printTable(const TextTable& rows, const std::vector<size_t>& right = {}, const std::string& indent = "");
// The title line, the note if any, and the table indented, or "  (empty)" when it has only
// its header row.
void printSection(const std::string& title, const TextTable& rows, const std::string& empty,
                  const std::vector<size_t>& right = {}, const std::string& note = {});
std::string clip(const std::string& text, size_t width);   // with "…" when cut
std::string localTime(double unixTime);                    // "2025-01-14 09:30:12", "-" for 0
std::string number(double value);                          // "%.6g", "-" for NaN
std::string withSeparators(int64_t n);                     // "1,234,567"
std::string bytes(int64_t size);                           // "1.2 MB"
std::string orDash(const std::string& text);

} // namespace nnlab::cli
