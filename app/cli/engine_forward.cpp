#include "engine_forward.h"

#include "cli_args.h"

#include "nnlab/blas_cpu.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <unistd.h>

namespace nnlab::cli {

namespace {

std::vector<std::string> g_commandLine;

} // namespace

void setCommandLine(int argc, char** argv)
{
    g_commandLine.assign(argv, argv + argc);
}

std::string enginePath()
{
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return {};
    for (const std::filesystem::path& candidate :
         {self.parent_path() / "nnlab-engine", self.parent_path() / ".." / "libexec" / "nnlab" / "nnlab-engine"})
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate.lexically_normal().string();
    return {};
}

int forwardToEngine()
{
    const std::string engine = enginePath();
    if (engine.empty()) {
        std::fprintf(stderr, "nnlab-cli: nnlab-engine is missing (looked beside this program and in "
                             "../libexec/nnlab/); reinstall nnlab\n");
        return kExitFailed;
    }
    std::vector<char*> argv;
    for (std::string& arg : g_commandLine)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    chooseBlasCore();   // OpenBLAS picks its kernels when nnlab-engine loads it (blas_cpu.h)
    ::execv(engine.c_str(), argv.data());
    std::fprintf(stderr, "nnlab-cli: cannot run %s: %s\n", engine.c_str(), std::strerror(errno));
    return kExitFailed;
}

} // namespace nnlab::cli
