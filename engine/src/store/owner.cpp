#include "owner.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include <sys/types.h>
#include <unistd.h>

namespace nnlab::store {

static std::string readFirstLine(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// Field 22 of /proc/PID/stat: start time in clock ticks since boot. The command name
// (field 2) may hold spaces and parentheses, so fields are counted after the last ')'.
static std::string processStartTicks(int64_t pid)
{
    const std::string stat = readFirstLine("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return {};
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    for (int index = 3; fields >> field; ++index) {
        if (index == 22)
            return field;
    }
    return {};
}

static std::string bootId()
{
    return readFirstLine("/proc/sys/kernel/random/boot_id");
}

static std::string hostName()
{
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0)
        return "localhost";
    return name;
}

const ProcessIdentity& currentProcess()
{
    static const ProcessIdentity identity = [] {
        ProcessIdentity self;
        self.host = hostName();
        self.pid = static_cast<int64_t>(getpid());
        self.token = bootId() + "/" + processStartTicks(self.pid);
        return self;
    }();
    return identity;
}

Liveness ownerLiveness(const std::string& host, int64_t pid, const std::string& token)
{
    const ProcessIdentity& self = currentProcess();
    if (host != self.host)
        return Liveness::Unknown;
    const auto slash = token.find('/');
    const std::string ownerBoot = token.substr(0, slash);
    const std::string ownerStart = slash == std::string::npos ? std::string() : token.substr(slash + 1);
    const std::string thisBoot = self.token.substr(0, self.token.find('/'));
    if (!ownerBoot.empty() && !thisBoot.empty() && ownerBoot != thisBoot)
        return Liveness::Dead;
    if (pid <= 0)
        return Liveness::Dead;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        return Liveness::Dead;
    // EPERM means the pid exists under another user: the start time still tells reuse apart.
    const std::string start = processStartTicks(pid);
    if (!ownerStart.empty() && !start.empty() && start != ownerStart)
        return Liveness::Dead;
    // A zombie (killed, not yet reaped by its parent) has stopped writing for good.
    const std::string stat = readFirstLine("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z')
        return Liveness::Dead;
    return Liveness::Alive;
}

std::string newRunId(double unixTime)
{
    const std::time_t seconds = static_cast<std::time_t>(unixTime);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);

    // random_device alone may be a weak PRNG on odd platforms; mixing in the pid and the
    // clock keeps two processes started in the same second apart regardless.
    static std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(),
                           static_cast<unsigned>(getpid()),
                           static_cast<unsigned>(std::clock()),
                           static_cast<unsigned>(std::time(nullptr))};
        return std::mt19937_64(seed);
    }();
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    const unsigned long long random = generator() & 0xffffffffffffULL;
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%012llx", random);
    return std::string(stamp) + "-" + suffix;
}

} // namespace nnlab::store
