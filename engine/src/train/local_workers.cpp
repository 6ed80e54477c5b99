// Worker processes and the environment they read (nnlab/distributed.h). No LibTorch here.
#include "nnlab/distributed.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nnlab {

namespace {

std::optional<long> envInteger(const char* name)
{
    const char* text = std::getenv(name);
    if (!text || !*text)
        return std::nullopt;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value < 0)
        throw std::runtime_error(std::string(name) + "=" + text + ": expected a non-negative whole number");
    return value;
}

// A port the kernel says is free now (bind to 0, read it back, close).
int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        if (fd >= 0)
            ::close(fd);
        throw std::runtime_error("workers: no free port on 127.0.0.1 for the rendezvous");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string describeStatus(int status)
{
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("killed by signal ") + std::to_string(WTERMSIG(status));
    return "ended";
}

} // namespace

std::string firstSlurmHost(const std::string& nodeList)
{
    // The first entry before a top-level comma; a bracket range takes its first number.
    std::string first;
    int depth = 0;
    for (char c : nodeList) {
        if (c == ',' && depth == 0)
            break;
        depth += c == '[' ? 1 : c == ']' ? -1 : 0;
        first += c;
    }
    const auto open = first.find('[');
    if (open == std::string::npos)
        return first;
    std::string range = first.substr(open + 1);
    range = range.substr(0, range.find_first_of(",-]"));
    return first.substr(0, open) + range;
}

std::optional<DistributedSetup> distributedFromEnvironment()
{
    DistributedSetup setup;
    if (const auto world = envInteger("NNLAB_WORLD_SIZE")) {
        const auto rank = envInteger("NNLAB_RANK");
        const auto port = envInteger("NNLAB_MASTER_PORT");
        if (!rank || !port || *rank >= *world || *port <= 0 || *port > 65535)
            throw std::runtime_error("NNLAB_RANK and NNLAB_MASTER_PORT must be set with NNLAB_WORLD_SIZE (rank < world size)");
        setup.worldSize = int(*world);
        setup.rank = int(*rank);
        setup.masterPort = int(*port);
        if (const char* address = std::getenv("NNLAB_MASTER_ADDR"); address && *address)
            setup.masterAddress = address;
        return setup.active() ? std::optional(setup) : std::nullopt;
    }
    const auto tasks = envInteger("SLURM_NTASKS");
    const auto rank = envInteger("SLURM_PROCID");
    const char* nodes = std::getenv("SLURM_STEP_NODELIST");
    if (!tasks || *tasks < 2 || !rank || !std::getenv("SLURM_STEP_ID"))
        return std::nullopt;
    if (!nodes || !*nodes)
        throw std::runtime_error("SLURM_STEP_NODELIST is not set: cannot find rank 0's node");
    setup.worldSize = int(*tasks);
    setup.rank = int(*rank);
    setup.masterAddress = firstSlurmHost(nodes);
    const auto job = envInteger("SLURM_JOB_ID");
    const auto port = envInteger("NNLAB_MASTER_PORT");
    setup.masterPort = port ? int(*port) : 29500 + int((job ? *job : 0) % 10000);
    return setup;
}

LocalWorkers::LocalWorkers(const std::string& executable, const std::string& experimentJson, int workers)
{
    m_setup.worldSize = workers;
    m_setup.rank = 0;
    m_setup.masterPort = freeLoopbackPort();
    char pattern[] = "/tmp/nnlab-workers-XXXXXX.json";
    const int fd = ::mkstemps(pattern, 5);
    if (fd < 0)
        throw std::runtime_error("workers: cannot write the experiment for the worker processes in /tmp");
    ::close(fd);
    m_experimentFile = pattern;
    std::ofstream(m_experimentFile) << experimentJson;

    for (int rank = 1; rank < workers; ++rank) {
        // Everything is prepared before fork: the child of a threaded process only execs.
        std::vector<std::string> env = {
            "NNLAB_RANK=" + std::to_string(rank), "NNLAB_WORLD_SIZE=" + std::to_string(workers),
            "NNLAB_MASTER_ADDR=127.0.0.1", "NNLAB_MASTER_PORT=" + std::to_string(m_setup.masterPort)};
        for (char** e = environ; *e; ++e)
            if (std::strncmp(*e, "NNLAB_RANK=", 11) != 0 && std::strncmp(*e, "NNLAB_WORLD_SIZE=", 17) != 0
                && std::strncmp(*e, "NNLAB_MASTER_", 13) != 0)
                env.emplace_back(*e);
        std::vector<char*> envp;
        for (std::string& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        const char* argv[] = {executable.c_str(), "train", m_experimentFile.c_str(), "--quiet", "--no-store", nullptr};
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0)
            throw std::runtime_error("workers: cannot start worker " + std::to_string(rank) + ": " + std::strerror(errno));
        if (pid == 0) {
            // The child: dies with rank 0, whatever kills it.
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent)
                ::_exit(1);
            ::execve(executable.c_str(), const_cast<char* const*>(argv), envp.data());
            ::_exit(127);
        }
        m_pids.push_back(pid);
    }
}

std::string LocalWorkers::wait(double seconds)
{
    std::string report;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (size_t i = 0; i < m_pids.size(); ++i) {
        int status = 0;
        pid_t done = 0;
        while ((done = ::waitpid(m_pids[i], &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (done == 0) {
            ::kill(m_pids[i], SIGKILL);
            ::waitpid(m_pids[i], &status, 0);
            report += "worker " + std::to_string(i + 1) + ": did not stop in time, killed\n";
        } else if (done > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            report += "worker " + std::to_string(i + 1) + ": " + describeStatus(status) + "\n";
        }
        m_pids[i] = 0;
    }
    if (!report.empty())
        report.pop_back();
    return report;
}

LocalWorkers::~LocalWorkers()
{
    for (pid_t pid : m_pids)
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    std::remove(m_experimentFile.c_str());
}

} // namespace nnlab
