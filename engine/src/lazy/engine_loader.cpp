#include "engine_loader.h"

#include "engine_access.h"
#include "process_memory.h"

#include "nnlab/blas_cpu.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

namespace nnlab::lazy {

namespace {

using Clock = std::chrono::steady_clock;

struct Loader {
    std::mutex mutex;
    std::condition_variable done;
    bool started = false;
    bool deferred = false;   // deferLoading(): only startLoading() or the main thread starts it
    LoadStatus status;
    const EngineTable* table = nullptr;
    std::thread thread;
    Clock::time_point since = Clock::now();
    std::thread::id mainThread;
    bool trace = false;
    std::optional<RuntimeInfo> probe;   // measured once loaded, before anyone else may train
};

// Never destroyed: static destructors must not race the loading thread.
Loader& loader()
{
    static Loader* instance = new Loader;
    return *instance;
}

// Beside the program (the build tree), then the install layout (bin/ -> lib/nnlab/).
std::vector<std::filesystem::path> candidates()
{
    if (const char* file = std::getenv("NNLAB_TORCH_ENGINE"); file && *file)
        return {file};
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return {};
    const std::filesystem::path dir = self.parent_path();
    return {dir / NNLAB_TORCH_ENGINE_FILE,
            (dir / NNLAB_TORCH_ENGINE_FROM_BINDIR / NNLAB_TORCH_ENGINE_FILE).lexically_normal()};
}

// The runtime probe (nnlab/runtime.h) times a matrix product: done here, before the table is
// published, it never overlaps a training that the window starts at once (--train).
LoadStatus load(const EngineTable*& table, std::optional<RuntimeInfo>& probe)
{
    LoadStatus status;
    const auto start = Clock::now();
    const std::vector<std::filesystem::path> files = candidates();
    for (const std::filesystem::path& file : files)
        if (::access(file.c_str(), R_OK) == 0) {
            status.path = file.string();
            break;
        }
    if (status.path.empty()) {
        std::string looked;
        for (const std::filesystem::path& file : files)
            looked += (looked.empty() ? "" : ", ") + file.string();
        status.error = files.size() == 1 ? "the training engine " + looked + " is missing ($NNLAB_TORCH_ENGINE)"
                                         : std::string("the training engine ") + NNLAB_TORCH_ENGINE_FILE
                                               + " is missing (looked for "
                                               + (looked.empty() ? std::string("it beside the program") : looked)
                                               + "); reinstall nnlab";
    } else if (void* handle = ::dlopen(status.path.c_str(), RTLD_NOW | RTLD_GLOBAL); !handle) {
        // RTLD_GLOBAL: LibTorch, OpenBLAS and the rest join the global scope, as when they were
        // linked: the engine looks some up with dlsym(RTLD_DEFAULT) (openblas_set_num_threads;
        // without it OpenBLAS kept its own threads beside OpenMP's and training ran 25-50%
        // slower). The module's own symbols stay hidden (engine_module.map).
        const char* why = ::dlerror();
        status.error = "cannot load the training engine " + status.path + ": " + (why ? why : "unknown error");
    } else if (auto entry = reinterpret_cast<const EngineTable* (*)()>(::dlsym(handle, "nnlab_torch_engine_table"));
               !entry) {
        status.error = "the training engine " + status.path + " has no nnlab_torch_engine_table: not nnlab's module";
    } else if (const EngineTable* t = entry(); !t || t->version != kEngineTableVersion || t->size != sizeof(EngineTable)) {
        status.error = "the training engine " + status.path
                       + " belongs to another nnlab build (its table does not match this program's); reinstall nnlab";
    } else {
        try {
            t->prepareProcess();   // LibTorch's threads; the allocator was tuned in startLoading()
            table = t;
            status.ok = true;
        } catch (const std::exception& e) {
            status.error = "the training engine " + status.path + " failed to start: " + e.what();
        }
        status.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (status.ok) {
            try {
                probe = t->probeRuntime(true);
            } catch (const std::exception&) {
                // Not fatal: probeRuntime() asks the module again and reports its error then.
            }
        }
    }
    status.finished = true;
    if (status.seconds == 0.0)
        status.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return status;
}

void startLocked(Loader& l)
{
    if (l.started)
        return;
    l.started = true;
    l.trace = std::getenv("NNLAB_ENGINE_TRACE") != nullptr;
    l.thread = std::thread([&l] {
        pthread_setname_np(pthread_self(), "nnlab-engine");   // for top, perf and debuggers
        const EngineTable* table = nullptr;
        std::optional<RuntimeInfo> probe;
        LoadStatus status = load(table, probe);
        if (l.trace)
            std::fprintf(stderr, "nnlab: training engine %s in %.0f ms on its thread (%s); matmul %.1f GFLOP/s\n",
                         status.ok ? "loaded" : "failed", status.seconds * 1000.0,
                         status.ok ? status.path.c_str() : status.error.c_str(), probe ? probe->matmulGflops : 0.0);
        std::lock_guard<std::mutex> lock(l.mutex);
        l.status = std::move(status);
        l.table = table;
        l.probe = std::move(probe);
        l.done.notify_all();
    });
}

// What must precede every other thread of the process.
void prepareFirst(Loader& l)
{
    detail::tuneAllocator();
    // OpenBLAS reads it when it loads, with the module: unlike a program linked with LibTorch,
    // the window can still choose its kernels (blas_cpu.h). setenv: before any other thread.
    chooseBlasCore();
    l.mainThread = std::this_thread::get_id();
}

} // namespace

void deferLoading()
{
    Loader& l = loader();
    std::lock_guard<std::mutex> lock(l.mutex);
    if (!l.started && !l.deferred)
        prepareFirst(l);
    l.deferred = true;
}

void startLoading()
{
    Loader& l = loader();
    std::lock_guard<std::mutex> lock(l.mutex);
    if (!l.deferred && !l.started)   // nobody called deferLoading(): the first call into the engine
        prepareFirst(l);
    startLocked(l);
}

LoadStatus loadStatus()
{
    Loader& l = loader();
    std::lock_guard<std::mutex> lock(l.mutex);
    return l.status;
}

LoadStatus waitForLoad()
{
    Loader& l = loader();
    std::unique_lock<std::mutex> lock(l.mutex);
    startLocked(l);
    l.done.wait(lock, [&l] { return l.status.finished; });
    if (l.thread.joinable() && l.thread.get_id() != std::this_thread::get_id()) {
        // Joined once, by whoever comes first after it finished: nothing is left running.
        std::thread finished = std::move(l.thread);
        lock.unlock();
        finished.join();
        lock.lock();
    }
    return l.status;
}

const EngineTable& engine(const char* caller)
{
    Loader& l = loader();
    const auto start = Clock::now();
    {
        // A deferred load is started by startLoading(), or by the main thread, which would
        // otherwise wait for itself.
        std::unique_lock<std::mutex> lock(l.mutex);
        if (!l.deferred || std::this_thread::get_id() == l.mainThread)
            startLocked(l);
        l.done.wait(lock, [&l] { return l.status.finished; });
    }
    const LoadStatus status = waitForLoad();
    if (l.trace) {
        const double waited = std::chrono::duration<double>(Clock::now() - start).count() * 1000.0;
        if (waited >= 1.0)
            std::fprintf(stderr, "nnlab: %s waited %.0f ms for the training engine%s\n", caller, waited,
                         std::this_thread::get_id() == l.mainThread ? " on the main thread" : "");
    }
    std::lock_guard<std::mutex> lock(l.mutex);
    if (!l.table)
        throw std::runtime_error(status.error);
    return *l.table;
}

std::optional<RuntimeInfo> startupProbe()
{
    Loader& l = loader();
    std::lock_guard<std::mutex> lock(l.mutex);
    return l.probe;
}

const EngineTable* loadedEngine()
{
    Loader& l = loader();
    std::lock_guard<std::mutex> lock(l.mutex);
    return l.table;
}

} // namespace nnlab::lazy
