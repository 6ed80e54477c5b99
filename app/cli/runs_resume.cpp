// `nnlab-cli runs resume ID`: the stored run continues from its last checkpoint (the
// engine's half of nnlab-cli; see engine_forward.h).
#include "runs_subcommands.h"
#include "train_command.h"

namespace nnlab::cli {

int resumeRunCommand(RunsInvocation& invocation)
{
    const bool quiet = invocation.args.flag("--quiet");
    RunArgument argument = takeRunArgument(invocation, false);
    if (argument.status != kExitOk)
        return argument.status;
    argument.store.reset();   // the recorder opens its own connection
    const RunDetails& run = argument.run;
    if (run.status == RunStatus::Finished || run.status == RunStatus::Running)
        return failure(invocation, "run " + run.id + " is " + toString(run.status)
                                       + "; only interrupted, cancelled or failed runs resume");
    TrainRunOptions options;
    options.databasePath = invocation.database;
    options.resumeRunId = run.id;
    options.quiet = quiet;
    return trainExperiment({}, options);
}

} // namespace nnlab::cli
