#include "compress_commands.h"

#include "cli_args.h"

#include <cstdio>

namespace nnlab::cli {

int distillCommand(std::vector<std::string>)
{
    std::fprintf(stderr, "nnlab-cli: this command is being written\n");
    return kExitUsage;
}

int sensitivityCommand(std::vector<std::string>)
{
    std::fprintf(stderr, "nnlab-cli: this command is being written\n");
    return kExitUsage;
}

} // namespace nnlab::cli
