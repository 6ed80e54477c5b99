// bench_speed: see bench_speed.h and tests/bench/README.md.
//
// Companion programs. bench_speed runs bench_gui, bench_charts and bench_store when they sit
// next to it (build/tests/bench/) and merges their figures into its table and JSON. The
// contract, for whoever writes them:
//   - bench_speed runs the program without arguments, with QT_QPA_PLATFORM=offscreen when no
//     display is set, and waits for it to exit;
//   - anything may go to stdout and stderr, but stdout should hold one line
//       BENCH_JSON {"name": "bench_gui", "figures": [
//         {"key": "gui_cli_ratio", "label": "GUI/CLI throughput, default experiment",
//          "value": 0.97, "unit": "x", "target": ">= 0.95", "pass": true}, ...]}
//     (one line of JSON; "unit", "target" and "pass" may be left out; other keys are kept as
//     they are in speed.json under "companions");
//   - without that line, what the programs print today is read: space-aligned tables after a
//     header line that names a "target" column (label, value with an optional unit, target
//     such as ">= 0.95" or "< 16"; pass is worked out from the target), markdown tables
//     (label from the first two cells, value from "cpu med" or the first number, pass from a
//     "<N" column of yes/no), and a "JSON: {...}" line, kept under "data";
//   - a non-zero exit status is reported as a failed companion.
#include "nnlab/blas_cpu.h"
#include "bench_speed.h"

#include "nnlab/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using bench::Json;

namespace {

const char* kHelp = R"(Usage: bench_speed [options]

Trains the spiral MLP, the default Fashion-MNIST CNN and the residual CNN with nnlab and with
an equivalent PyTorch Python script (tests/bench/speed/peer.py, Debian's python3-torch) on the
same data, alternating, and prints samples/s, their ratio, final accuracies and GFLOP/s against
this machine's measured peak. tests/bench/speed/run.sh builds, installs python3-torch when
missing, and runs this.

Options:
  --jobs LIST        spiral,cnn,resnet (default all)
  --threads LIST     thread settings, each 'auto' (nnlab's tuner picks; the peer uses the
                     count it picked) or a number for both (default auto,1; add 2 for the
                     two-thread rows); the targets are checked on each row
  --reps N           repetitions of each measurement, medians reported (default 3)
  --zoo              the model zoo instead: Keras MLP, LeNet-5, the PyTorch MNIST net, VGG-,
                     ResNet-20- and MobileNet-style CIFAR nets, a tabular MLP, the spiral MLP
                     (--jobs picks among keras_mlp,lenet5,mnist_net,vgg,resnet20,mobilenet,
                     tabular,spiral); threads 1 unless --threads; no companions or DataLoader run
  --quick            smaller jobs, 1 repetition, auto only: a smoke run of a minute or two
  --json PATH        where the figures go (default <build>/bench/speed.json)
  --python PATH      interpreter with torch (default /usr/bin/python3)
  --no-peer          nnlab only
  --no-dataloader    skip the extra DataLoader-style peer run
  --no-companions    do not run bench_gui, bench_charts, bench_store
  --peak-seconds S   time per micro-benchmark case (default 0.6)
  --keep DIR         write the job data to DIR and keep it (default: a temporary folder)
  --cli PATH         nnlab-cli, timed from spawn to exit (default the build's)
  --strict[=sanity]  exit 1 when a target is missed or a figure is missing; =sanity checks
                     only the targets that load cannot move (runs finish, accuracies, the
                     tuning cache), for shared machines and CI
  -h, --help

Exit status: 0; 1 when a run failed, or with --strict a target was missed; 2 for bad
arguments.
)";

struct Settings {
    std::vector<std::string> jobs{"spiral", "cnn", "resnet"};
    std::vector<std::string> threads{"auto", "1"};
    int reps = 3;
    bool quick = false;
    std::string json = std::string(NNLAB_BINARY_DIR) + "/bench/speed.json";
    std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    bool peer = true;
    bool dataloader = true;
    bool companions = true;
    double peakSeconds = 0.6;
    std::string keep;
    std::string cli = NNLAB_CLI;
    std::string strict;   // "", "all" or "sanity"
    bool zoo = false;     // the model zoo instead of the three jobs
};

std::vector<std::string> split(const std::string& text)
{
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return std::nan("");
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Json medianOf(const Json& runs, const char* key)
{
    std::vector<double> v;
    for (const auto& r : runs)
        if (r.contains(key) && r[key].is_number())
            v.push_back(r[key].get<double>());
    return v.empty() ? Json(nullptr) : Json(median(v));
}

std::string selfPath()
{
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("bench_speed") : p.string();
}

// One measurement in a child process; adds samples_per_sec and process_seconds (spawn to
// exit). Null when it failed. nnlab's children tune at every start (no tuning cache), as
// they did before there was one: the loop figures do not depend on an earlier run.
Json measure(const std::vector<std::string>& argv, int64_t samples)
{
    const double spawnedAt = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::vector<std::string> env{"NNLAB_TUNING_CACHE=off", "NNLAB_DATA_CACHE=off"};
    // nnlab's in-process child gets the OpenBLAS kernels nnlab-cli and the window choose for
    // this CPU (blas_cpu.h); the peer runs as its users run it, with OpenBLAS's own choice
    // (unless the caller set OPENBLAS_CORETYPE, which both then inherit).
    if (argv.front() == selfPath() && !std::getenv("OPENBLAS_CORETYPE"))
        if (const char* core = nnlab::blasCoreTypeForCpu())
            env.push_back(std::string("OPENBLAS_CORETYPE=") + core);
    bench::ProcessResult r = bench::runProcess(argv, env);
    if (r.exitCode != 0 || r.json.is_null() || !r.json.contains("seconds")) {
        std::fprintf(stderr, "bench_speed: %s failed (exit %d)\n%s", argv[0].c_str(), r.exitCode, r.output.c_str());
        return nullptr;
    }
    r.json["samples_per_sec"] = static_cast<double>(samples) / std::max(r.json["seconds"].get<double>(), 1e-9);
    r.json["process_seconds"] = r.seconds;
    // nnlab's child (children.cpp) says when main() began and when it printed: the loading
    // of its libraries before main() and its exit (static destructors) are the rest.
    if (r.json.contains("main_at") && r.json.contains("printed_at")) {
        r.json["split_load"] = r.json["main_at"].get<double>() - spawnedAt;
        r.json["split_exit"] = spawnedAt + r.seconds - r.json["printed_at"].get<double>();
    }
    return r.json;
}

// `nnlab-cli train` as a user runs it, timed from spawn to exit: start-up, data loading,
// tuning, training, evaluation. `cache` is its tuning cache file. Null when it failed.
Json measureCli(const Settings& s, const bench::PreparedJob& job, const std::string& threads, const std::string& cache,
               const std::string& dataCache)
{
    const bench::ProcessResult r = bench::runProcess(
        {s.cli, "train", job.specFile, "--no-store", "--set", "training.threads=" + (threads == "auto" ? std::string("0") : threads)},
        {"NNLAB_TUNING_CACHE=" + cache, "NNLAB_DATA_CACHE=" + dataCache}, /*captureStderr=*/true);
    if (r.exitCode != 0) {
        std::fprintf(stderr, "bench_speed: %s train failed (exit %d)\n%s", s.cli.c_str(), r.exitCode, r.output.c_str());
        return nullptr;
    }
    Json out{{"process_seconds", r.seconds}, {"cached_tuning", r.output.find("(cached: ") != std::string::npos},
             {"tuning_seconds", bench::tuningSecondsOf(r.output)}};
    std::istringstream lines(r.output);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string tag;
        double value = 0;
        if (words >> tag >> value && (tag == "val/accuracy" || tag == "test/accuracy"))
            out[tag == "val/accuracy" ? "val_accuracy" : "test_accuracy"] = value;
    }
    return out;
}

Json runConfig(const Settings& s, const bench::PreparedJob& job, const std::string& threads, const Json& peaks)
{
    const int64_t samples = job.trainSamples * job.epochs;
    const std::string peerScript = std::string(NNLAB_SOURCE_DIR) + "/tests/bench/speed/peer.py";
    Json nnlabRuns = Json::array(), pythonRuns = Json::array(), ratios = Json::array();
    int failures = 0;
    // Whole processes: nnlab-cli's first start of this job (an empty tuning cache: it measures)
    // and, once a repetition, a later start (the choice comes from the cache).
    // Both caches start empty: the first start decodes the data and tunes, later ones read both.
    const std::string cache = job.folder + "/tuning-" + threads + ".json";
    const std::string dataCache = job.folder + "/data-cache-" + threads;
    std::error_code ignored;
    fs::remove(cache, ignored);
    fs::remove_all(dataCache, ignored);
    const Json firstCli = measureCli(s, job, threads, cache, dataCache);
    failures += firstCli.is_null();
    Json cliRuns = Json::array();
    for (int rep = 0; rep < s.reps; ++rep) {
        // Alternate which side goes first, so slow drift in the machine's load hits both.
        Json n, p;
        const auto runNnlab = [&] {
            n = measure({selfPath(), "--child-nnlab", job.specFile, threads == "auto" ? "0" : threads}, samples);
        };
        const auto runPython = [&](const std::string& t) {
            if (s.peer)
                p = measure({s.python, peerScript, "--dir", job.folder, "--threads", t}, samples);
        };
        if (rep % 2 == 0 || threads == "auto") {
            runNnlab();   // 'auto' must go first: the peer uses the thread count nnlab picked
            runPython(threads != "auto" ? threads : n.is_null() ? "1" : std::to_string(n["threads"].get<int>()));
        } else {
            runPython(threads);
            runNnlab();
        }
        std::fprintf(stderr, "  %-7s threads %-4s rep %d: nnlab %8.0f/s  python %8.0f/s\n", job.job.key.c_str(),
                     threads.c_str(), rep + 1, n.is_null() ? 0.0 : n["samples_per_sec"].get<double>(),
                     p.is_null() ? 0.0 : p["samples_per_sec"].get<double>());
        const Json cli = measureCli(s, job, threads, cache, dataCache);
        failures += cli.is_null() + n.is_null() + (s.peer && p.is_null());
        if (!cli.is_null())
            cliRuns.push_back(cli);
        if (!n.is_null())
            nnlabRuns.push_back(n);
        if (!p.is_null())
            pythonRuns.push_back(p);
        if (!n.is_null() && !p.is_null())
            ratios.push_back(n["samples_per_sec"].get<double>() / p["samples_per_sec"].get<double>());
    }
    Json c;
    c["threads"] = threads;
    c["nnlab"] = {{"samples_per_sec", medianOf(nnlabRuns, "samples_per_sec")}, {"runs", nnlabRuns}};
    c["python"] = {{"samples_per_sec", medianOf(pythonRuns, "samples_per_sec")}, {"runs", pythonRuns}};
    std::vector<double> r = ratios.get<std::vector<double>>();
    c["ratio"] = r.empty() ? Json(nullptr) : Json(median(r));
    c["ratios"] = ratios;
    c["failed_runs"] = failures;
    c["python"]["process_seconds"] = medianOf(pythonRuns, "process_seconds");
    c["cli"] = {{"first", firstCli}, {"runs", cliRuns}, {"process_seconds", medianOf(cliRuns, "process_seconds")},
                {"first_process_seconds", firstCli.is_null() ? Json(nullptr) : firstCli["process_seconds"]},
                {"val_accuracy", medianOf(cliRuns, "val_accuracy")}};
    bool allCached = !cliRuns.empty();
    for (const auto& run : cliRuns)
        allCached = allCached && run.value("cached_tuning", false);
    c["cli"]["cached_tuning"] = allCached;
    c["cli"]["tuning_seconds"] = medianOf(cliRuns, "tuning_seconds");
    if (!firstCli.is_null()) {
        c["cli"]["first_tuning_seconds"] = firstCli["tuning_seconds"];
        c["cli"]["first_tuning_share"] = firstCli["tuning_seconds"].get<double>() / std::max(firstCli["process_seconds"].get<double>(), 1e-9);
    }
    // Where an nnlab process's time goes (the in-process children: both caches off, so data
    // decoded and tuning measured, as on a first start), medians per part.
    Json split = Json::object();
    for (const char* part : {"split_load", "split_startup", "split_data", "split_build", "split_tuning", "split_loop",
                             "split_after", "split_exit", "process_seconds"})
        split[part] = medianOf(nnlabRuns, part);
    c["nnlab"]["split"] = split;
    for (const char* key : {"val_accuracy", "test_accuracy", "val_loss"})
        c[key] = {{"nnlab", medianOf(nnlabRuns, key)}, {"python", medianOf(pythonRuns, key)}};
    if (!nnlabRuns.empty()) {
        std::vector<std::string> picked;
        for (const auto& run : nnlabRuns)
            picked.push_back(std::to_string(run["threads"].get<int>()));
        c["nnlab_threads"] = picked;
        const double gflops = c["nnlab"]["samples_per_sec"].get<double>() * 6.0 * static_cast<double>(job.macsPerSample) / 1e9;
        c["nnlab_gflops"] = gflops;
        const double peak = peaks["gflops"];
        c["peak_fraction"] = peak > 0 ? Json(gflops / peak) : Json(nullptr);
        // Against the best micro-benchmark at the same thread count, for a fixed row.
        if (peaks["by_threads"].contains(threads))
            c["peak_fraction_same_threads"] = gflops / peaks["by_threads"][threads].get<double>();
    }
    if (!pythonRuns.empty())
        c["python_gflops"] = c["python"]["samples_per_sec"].get<double>() * 6.0 * static_cast<double>(job.macsPerSample) / 1e9;
    return c;
}

int parseArgs(int argc, char** argv, Settings& s)
{
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kHelp, stdout);
            return 0;
        }
        if (a == "--jobs")
            s.jobs = split(next());
        else if (a == "--threads")
            s.threads = split(next());
        else if (a == "--reps")
            s.reps = std::max(1, std::stoi(next()));
        else if (a == "--zoo")
            s.zoo = true;
        else if (a == "--quick")
            s.quick = true;
        else if (a == "--json")
            s.json = next();
        else if (a == "--python")
            s.python = next();
        else if (a == "--no-peer")
            s.peer = false;
        else if (a == "--no-dataloader")
            s.dataloader = false;
        else if (a == "--no-companions")
            s.companions = false;
        else if (a == "--peak-seconds")
            s.peakSeconds = std::stod(next());
        else if (a == "--keep")
            s.keep = next();
        else if (a == "--cli")
            s.cli = next();
        else if (a == "--strict")
            s.strict = "all";
        else if (a == "--strict=sanity")
            s.strict = "sanity";
        else
            throw std::invalid_argument("unknown option " + a);
    }
    return -1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 4 && std::string(argv[1]) == "--child-nnlab")
        return bench::runNnlabChild(argv[2], std::atoi(argv[3]));
    // Preparing the jobs reads their data with loadData: not into the user's data cache.
    setenv("NNLAB_DATA_CACHE", "off", 1);

    Settings s;
    try {
        if (const int code = parseArgs(argc, argv, s); code >= 0)
            return code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_speed: %s\n%s", e.what(), kHelp);
        return 2;
    }
    if (s.zoo) {
        bool jobsGiven = false, threadsGiven = false;
        for (int i = 1; i < argc; ++i) {
            jobsGiven |= std::string(argv[i]) == "--jobs";
            threadsGiven |= std::string(argv[i]) == "--threads";
        }
        if (!jobsGiven)
            s.jobs = {"keras_mlp", "lenet5", "mnist_net", "vgg", "resnet20", "mobilenet", "tabular", "spiral"};
        if (!threadsGiven)
            s.threads = {"1"};
        s.companions = false;
        s.dataloader = false;
    }
    if (s.quick) {
        s.reps = 1;
        if (!s.zoo)
            s.threads = {"auto"};
    }
    if (s.peer && bench::runProcess({s.python, "-c", "import torch, numpy"}).exitCode != 0) {
        std::fprintf(stderr, "bench_speed: %s cannot import torch and numpy; install python3-torch "
                             "(tests/bench/speed/run.sh does), or pass --no-peer\n", s.python.c_str());
        return 2;
    }

    Json report;
    report["schema"] = "nnlab.bench.speed/1";
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    report["created"] = stamp;
    report["settings"] = {{"jobs", s.jobs}, {"threads", s.threads}, {"reps", s.reps}, {"quick", s.quick}, {"zoo", s.zoo},
                          {"python", s.peer ? s.python : ""}};
    const nnlab::RuntimeInfo rt = nnlab::probeRuntime(true);
    report["machine"] = {{"cores", rt.cores}, {"torch", rt.torchVersion}, {"blas", rt.blasLibrary},
                         {"blas_gflops_1_thread_256", rt.matmulGflops}, {"blas_warning", rt.warning}};
    if (s.peer) {
        const auto v = bench::runProcess({s.python, "-c", "import torch,sys;print('BENCH_JSON {\"torch\":\"%s\",\"python\":\"%s\"}'%(torch.__version__,sys.version.split()[0]))"});
        report["machine"]["python_torch"] = v.json;
    }

    std::string work = s.keep;
    char tmpl[] = "/tmp/nnlab-bench-speed-XXXXXX";
    if (work.empty()) {
        if (!mkdtemp(tmpl)) {
            std::perror("mkdtemp");
            return 1;
        }
        work = tmpl;
    }
    std::vector<bench::PreparedJob> jobs;
    Json convShapes = Json::array();
    try {
        // The zoo's generated data outlives a run (it is the same every time).
        const std::string zooData = std::string(NNLAB_BINARY_DIR) + "/bench/zoo-data";
        for (const auto& job : s.zoo ? bench::zooJobs(s.quick, zooData) : bench::allJobs(s.quick))
            if (std::find(s.jobs.begin(), s.jobs.end(), job.key) != s.jobs.end()) {
                std::fprintf(stderr, "preparing %s\n", job.key.c_str());
                jobs.push_back(bench::prepareJob(job, work));
                if (job.key == "cnn")   // the default experiment's layers stand for the conv peak
                    convShapes = jobs.back().convShapes;
                if (s.zoo)   // every model's conv shapes: the peak is the best any of them reaches
                    for (const auto& c : jobs.back().convShapes)
                        convShapes.push_back(c);
            }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_speed: %s\n", e.what());
        return 1;
    }

    std::fprintf(stderr, "measuring the peak\n");
    std::vector<int> peakThreads;
    for (int t = 1; t <= rt.cores; t *= 2)
        peakThreads.push_back(t);
    if (peakThreads.back() != rt.cores)
        peakThreads.push_back(rt.cores);
    report["peak"] = bench::measurePeak(peakThreads, convShapes, s.peakSeconds);

    report["jobs"] = Json::array();
    for (const auto& job : jobs) {
        Json j{{"key", job.job.key}, {"label", job.job.label}, {"data", job.description},
               {"overrides", job.job.overrides}, {"train_samples", job.trainSamples}, {"epochs", job.epochs},
               {"macs_per_sample", job.macsPerSample}, {"parameters", job.parameters},
               {"conv", !job.convShapes.empty()}};
        j["configs"] = Json::array();
        for (const auto& threads : s.threads)
            j["configs"].push_back(runConfig(s, job, threads, report["peak"]));
        if (s.peer && s.dataloader) {
            const Json& head = j["configs"][0];
            // At the thread count nnlab picked most often.
            std::map<std::string, int> picks{{"1", 0}};
            for (const auto& pick : head.value("nnlab_threads", Json::array()))
                ++picks[pick.get<std::string>()];
            const std::string t = std::max_element(picks.begin(), picks.end(), [](const auto& a, const auto& b) {
                                      return a.second < b.second;
                                  })->first;
            Json d = measure({s.python, std::string(NNLAB_SOURCE_DIR) + "/tests/bench/speed/peer.py", "--dir", job.folder,
                              "--threads", t, "--loader", "dataloader"}, job.trainSamples * job.epochs);
            if (!d.is_null() && head["nnlab"]["samples_per_sec"].is_number())
                d["nnlab_ratio"] = head["nnlab"]["samples_per_sec"].get<double>() / d["samples_per_sec"].get<double>();
            j["dataloader"] = d;
        }
        report["jobs"].push_back(j);
    }
    report["companions"] = s.companions ? bench::runCompanions(fs::path(selfPath()).parent_path().string()) : Json::object();

    report["targets"] = bench::buildTargets(report);
    report["missing"] = bench::missingFigures(report);

    bench::printTable(report);
    std::error_code ec;
    fs::create_directories(fs::path(s.json).parent_path(), ec);
    std::ofstream(s.json) << report.dump(2) << "\n";
    std::printf("\nfigures written to %s\n", s.json.c_str());
    if (s.keep.empty())
        fs::remove_all(work, ec);

    int failedRuns = 0;
    for (const auto& j : report["jobs"])
        for (const auto& c : j["configs"])
            failedRuns += c["failed_runs"].get<int>();
    std::vector<std::string> problems;
    if (failedRuns > 0)
        problems.push_back(std::to_string(failedRuns) + " run(s) failed (see above)");
    if (!s.strict.empty()) {
        for (const auto& m : report["missing"])
            problems.push_back("missing figure: " + m.get<std::string>());
        for (const auto& t : report["targets"])
            if (t["pass"] == false && (s.strict == "all" || t["kind"] == "sanity"))
                problems.push_back("missed: " + t["what"].get<std::string>() + " " + t["target"].get<std::string>());
    }
    for (const auto& p : problems)
        std::fprintf(stderr, "bench_speed: %s\n", p.c_str());
    return problems.empty() ? 0 : 1;
}
