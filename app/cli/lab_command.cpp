#include "lab_command.h"

#include "cli_args.h"

#include <cstdio>

namespace nnlab::cli {

int labCommand(std::vector<std::string>)
{
    std::fprintf(stderr, "nnlab-cli: this command is being written\n");
    return kExitUsage;
}

} // namespace nnlab::cli
