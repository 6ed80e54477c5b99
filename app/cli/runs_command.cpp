// `nnlab-cli runs ...`: the run store from the command line. One table lists the
// sub-commands with their help; `runs --help` and `runs NAME --help` are made from it. Tables
// go to stdout, errors to stderr; exit status 0 on success, 1 when the store or a run says
// no, 2 for bad arguments.
#include "runs_command.h"

#include "runs_subcommands.h"

#include <cstdio>
#include <filesystem>

namespace nnlab::cli {
namespace {

const RunsSubcommand kSubcommands[] = {
    {/*name*/ "list", /*arguments*/ "",
     /*options*/ "[--status S] [--name GLOB] [--sort KEY] [--reverse] [--limit N]",
     /*summary*/ "a table of runs, newest first",
     /*help*/ R"(Lists runs: id, name, status, dataset, parameters, best val/accuracy and duration.

  --status S    running, finished, failed, cancelled or interrupted
  --name GLOB   names matching a glob: * any text, ? one character, [abc] one of (case matters)
  --sort KEY    created (default, newest first), name, duration, status, or a metric tag
                such as val/loss: best value first, runs without it last
  --reverse     reverse the order
  --limit N     show at most N runs
)",
     /*handler*/ listRunsCommand},
    {/*name*/ "show", /*arguments*/ "ID", /*options*/ "",
     /*summary*/ "a run's summary, metrics, events, artifacts and experiment",
     /*help*/ R"(Prints a run's summary, the final, best, min and max of each metric, its events (checkpoints,
pauses, resumes), its artifacts and the experiment it trained.
)",
     /*handler*/ showRunCommand},
    {/*name*/ "export", /*arguments*/ "ID", /*options*/ "[--format csv|json] [--out FILE]",
     /*summary*/ "every metric point at full resolution, as CSV or JSON",
     /*help*/ R"(Writes every metric point of the run at full resolution.

  --format csv    columns run_id,tag,step,wall_time,value (the default)
  --format json   {"run": {...}, "metrics": {"TAG": [[step, wall_time, value], ...]}}
  --out FILE      write to FILE (atomically: a temporary file renamed) instead of stdout
)",
     /*handler*/ exportRunCommand},
    {/*name*/ "diff", /*arguments*/ "ID1 ID2", /*options*/ "",
     /*summary*/ "what differs between two runs' experiments and results",
     /*help*/ R"(Shows the experiment settings that differ (as dotted paths, e.g. optimizer.lr), the results
that differ (status, duration, steps...) and each metric's final and best values side by side.
)",
     /*handler*/ diffRunsCommand},
    {/*name*/ "delete", /*arguments*/ "ID", /*options*/ "",
     /*summary*/ "delete a run with its metrics and checkpoint files",
     /*help*/ R"(Deletes the run, its metrics, events and artifact records, and its checkpoint files in the
store's checkpoints folder (the latest, the best, and every checkpoint it recorded there).
Files elsewhere, such as exported models, stay. A run still training in a live process is
refused.
)",
     /*handler*/ deleteRunCommand},
    {/*name*/ "resume", /*arguments*/ "ID", /*options*/ "[--quiet]",
     /*summary*/ "continue an interrupted or cancelled run from its last checkpoint",
     /*help*/ R"(Continues an interrupted, cancelled or failed run from its last checkpoint, as the same run:
its metrics continue where the checkpoint was taken. Exit status as 'nnlab-cli train'.

  --quiet       no progress bar
)",
     /*handler*/ resumeRunCommand},
    {/*name*/ "import", /*arguments*/ "OTHER.db...", /*options*/ "",
     /*summary*/ "merge the runs of another run store, skipping those already here",
     /*help*/ R"(Merges the runs of another run store (another machine, a cluster job) into this one. Runs
already here are skipped, as are runs still training there; OTHER.db is not changed.
)",
     /*handler*/ importRunsCommand},
};

const char* kCommonOptions = R"(  --db PATH     run store file; without it $NNLAB_DB, else $XDG_DATA_HOME/nnlab/runs.db,
                else ~/.local/share/nnlab/runs.db (--db wins over $NNLAB_DB)
  -h, --help    this help
)";

const RunsSubcommand* findSubcommand(const std::string& name)
{
    for (const RunsSubcommand& command : kSubcommands) {
        if (name == command.name)
            return &command;
    }
    return nullptr;
}

std::string synopsis(const RunsSubcommand& command)
{
    return std::string(command.name) + (*command.arguments ? " " : "") + command.arguments;
}

std::string commandNames()
{
    std::string names;
    for (const RunsSubcommand& command : kSubcommands)
        names += (names.empty() ? "" : ", ") + std::string(command.name);
    return names;
}

void printOverview(std::FILE* out)
{
    std::fputs("Usage: nnlab-cli runs COMMAND [options]\n\n"
               "Browse and manage the runs that 'nnlab-cli train' and the GUI record.\n\nCommands:\n",
               out);
    for (const RunsSubcommand& command : kSubcommands)
        std::fprintf(out, "  %-16s  %s\n", synopsis(command).c_str(), command.summary);
    std::fprintf(out, "\nEvery command takes:\n%s\nA run ID may be shortened to any prefix that matches "
                      "one run.\n'nnlab-cli runs COMMAND --help' describes each command.\n",
                 kCommonOptions);
}

void printHelp(const RunsSubcommand& command)
{
    std::printf("Usage: nnlab-cli runs %s%s%s [--db PATH]\n\n%s\n%s", synopsis(command).c_str(),
                *command.options ? " " : "", command.options, command.help, kCommonOptions);
}

} // namespace

std::optional<std::vector<std::string>> takePositionals(RunsInvocation& invocation, size_t count)
{
    const RunsSubcommand& command = *invocation.command;
    const std::string usage = std::string("runs ") + command.name;
    std::string error;
    std::vector<std::string> positionals = invocation.args.positionals(error);
    if (error.empty() && positionals.size() != count)
        error = count == 0 ? "takes no arguments" : "expected " + std::string(command.arguments);
    if (!error.empty()) {
        usageError(usage, error);
        return std::nullopt;
    }
    return positionals;
}

int failure(const RunsInvocation& invocation, const std::string& message)
{
    std::fprintf(stderr, "nnlab-cli runs %s: %s\n", invocation.command->name, message.c_str());
    return kExitFailed;
}

std::unique_ptr<RunStore> openExisting(const RunsInvocation& invocation, bool forWriting)
{
    const std::string& path = invocation.database;
    const StoreOptions readOnly{true, 5000};
    std::error_code ec;
    // A missing file is opened read-only, which reports it instead of creating a store.
    auto store = std::filesystem::exists(path, ec) ? RunStore::open(path) : RunStore::open(path, readOnly);
    if (store.error.code == StoreErrorCode::ReadOnly && !forWriting)
        store = RunStore::open(path, readOnly);
    if (!store.ok()) {
        failure(invocation, store.error.message);
        return nullptr;
    }
    return std::move(store.value);
}

RunArgument takeRunArgument(RunsInvocation& invocation, bool forWriting)
{
    RunArgument argument;
    const auto ids = takePositionals(invocation, 1);
    if (!ids) {
        argument.status = kExitUsage;
        return argument;
    }
    argument.store = openExisting(invocation, forWriting);
    if (!argument.store) {
        argument.status = kExitFailed;
        return argument;
    }
    auto run = argument.store->getRun(ids->front());
    if (run.ok())
        argument.run = std::move(run.value);
    else
        argument.status = failure(invocation, run.error.message);
    return argument;
}

int runsCommand(const std::vector<std::string>& argv)
{
    // The sub-command is the first word that is neither an option nor the value of --db.
    std::vector<std::string> rest = argv;
    std::string name;
    for (size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == "--db") {
            ++i;
            continue;
        }
        if (!rest[i].empty() && rest[i][0] == '-')
            continue;
        name = rest[i];
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
        break;
    }
    RunsInvocation invocation{Args(rest), {}, nullptr};
    const bool help = invocation.args.wantsHelp();
    // An explicit --db beats $NNLAB_DB, which defaultDatabasePath() reads.
    invocation.database = invocation.args.value("--db").value_or(defaultDatabasePath());
    if (name.empty()) {
        printOverview(help ? stdout : stderr);
        return help ? kExitOk : kExitUsage;
    }
    invocation.command = findSubcommand(name);
    if (!invocation.command)
        return usageError("runs", "unknown command '" + name + "'; the commands are " + commandNames());
    if (help) {
        printHelp(*invocation.command);
        return kExitOk;
    }
    return invocation.command->handler(invocation);
}

} // namespace nnlab::cli
