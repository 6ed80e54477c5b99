// The table bench_speed prints: the same figures as speed.json, aligned.
#include "bench_speed.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace bench {

namespace {

std::string num(const Json& v, const char* format)
{
    if (!v.is_number())
        return "-";
    char text[64];
    std::snprintf(text, sizeof text, format, v.get<double>());
    return text;
}

std::string pair(const Json& v, const char* format)
{
    return num(v.value("nnlab", Json()), format) + " / " + num(v.value("python", Json()), format);
}

// A figure's value with its unit: "2.65x", "10.7 ms", "4.21e+06".
std::string valueText(const Json& value, const std::string& unit)
{
    if (!value.is_number())
        return value.is_string() ? value.get<std::string>() : "-";
    const double v = value.get<double>();
    std::string text = num(value, v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-2) ? "%.3g" : "%.4g");
    if (unit == "x" || unit == "%")
        return text + unit;
    return unit.empty() ? text : text + " " + unit;
}

std::string passText(const Json& pass)
{
    return pass.is_boolean() ? (pass.get<bool>() ? "pass" : "MISS") : "-";
}

} // namespace

void printTable(const Json& r)
{
    const Json& m = r["machine"];
    std::printf("\nnnlab speed benchmark: %d repetition(s), medians; nnlab vs PyTorch %s (Python %s), LibTorch %s\n",
                r["settings"]["reps"].get<int>(),
                m.contains("python_torch") && m["python_torch"].is_object() ? m["python_torch"]["torch"].get<std::string>().c_str() : "-",
                m.contains("python_torch") && m["python_torch"].is_object() ? m["python_torch"]["python"].get<std::string>().c_str() : "-",
                m["torch"].get<std::string>().c_str());
    std::printf("machine: %d cores, BLAS %s (%.0f GFLOP/s, 1 thread, 256^3)\n", m["cores"].get<int>(),
                m["blas"].get<std::string>().c_str(), m["blas_gflops_1_thread_256"].get<double>());
    if (!m["blas_warning"].get<std::string>().empty())
        std::printf("WARNING: %s\n", m["blas_warning"].get<std::string>().c_str());
    std::printf("peak: %.1f GFLOP/s (best micro-benchmark;", r["peak"]["gflops"].get<double>());
    for (const auto& [threads, g] : r["peak"]["by_threads"].items())
        std::printf(" %s thread(s) %.1f", threads.c_str(), g.get<double>());
    std::printf(")\n\n");

    // Loop-only samples/s (first step to last epoch), then whole processes from spawn to exit:
    // nnlab-cli train (a later start, tuning cached; and its first start) and the peer.
    std::printf("%-22s %-8s %10s %10s %7s  %-13s %6s  %-15s %-15s %8s %6s %9s\n", "job", "threads", "nnlab/s",
                "python/s", "ratio", "process s", "1st s", "val acc nn/py", "test acc nn/py", "GFLOP/s", "%peak",
                "%peak@thr");
    std::printf("%-22s %-8s %10s %10s %7s  %-13s %6s\n", "", "", "(loop)", "(loop)", "", "nn-cli / py", "nn-cli");
    for (const auto& j : r["jobs"]) {
        for (const auto& c : j["configs"]) {
            std::string threads = c["threads"].get<std::string>();
            if (threads == "auto" && c.contains("nnlab_threads") && !c["nnlab_threads"].empty()) {
                // the picks of the repetitions: "auto(2)" when they agree, else "auto(1,2,2)"
                std::string picks;
                bool same = true;
                for (const auto& t : c["nnlab_threads"]) {
                    same = same && t == c["nnlab_threads"].front();
                    picks += (picks.empty() ? "" : ",") + t.get<std::string>();
                }
                threads += "(" + (same ? c["nnlab_threads"].front().get<std::string>() : picks) + ")";
            }
            const Json sameThreads = c.value("peak_fraction_same_threads", Json());
            const Json& cli = c.value("cli", Json::object());
            const std::string process = num(cli.value("process_seconds", Json()), "%.2f") + " / "
                                        + num(c["python"].value("process_seconds", Json()), "%.2f");
            std::printf("%-22s %-8s %10s %10s %7s  %-13s %6s  %-15s %-15s %8s %6s %9s\n", j["label"].get<std::string>().c_str(),
                        threads.c_str(), num(c["nnlab"]["samples_per_sec"], "%.0f").c_str(),
                        num(c["python"]["samples_per_sec"], "%.0f").c_str(), num(c["ratio"], "%.2fx").c_str(),
                        process.c_str(), num(cli.value("first_process_seconds", Json()), "%.2f").c_str(),
                        pair(c["val_accuracy"], "%.3f").c_str(), pair(c["test_accuracy"], "%.3f").c_str(),
                        num(c.value("nnlab_gflops", Json()), "%.1f").c_str(),
                        num(c.value("peak_fraction", Json()).is_number() ? Json(c["peak_fraction"].get<double>() * 100) : Json(),
                            "%.0f%%").c_str(),
                        num(sameThreads.is_number() ? Json(sameThreads.get<double>() * 100) : Json(), "%.0f%%").c_str());
        }
    }
    // Where the time of an nnlab process goes, and what tuning costs a first start.
    std::printf("\nwhere an nnlab process's time goes (s; in-process child, data decoded and tuning measured as on a\n"
                "first start; load = libraries before main(), startup = prepareProcess + runtime probe, build = model,\n"
                "interface and the rest up to the first step; after = final evaluation; exit = teardown), and nnlab-cli's\n"
                "tuning on its first start (share of that process) and later ones (cached)\n");
    std::printf("%-22s %-7s %6s %7s %6s %6s %6s %7s %6s %6s %7s  %-17s %8s\n", "job", "threads", "load", "startup", "data",
                "build", "tuning", "loop", "after", "exit", "total", "cli tuning 1st", "later");
    for (const auto& j : r["jobs"])
        for (const auto& c : j["configs"]) {
            const Json split = c["nnlab"].value("split", Json::object());
            const Json& cli = c.value("cli", Json::object());
            const auto part = [&](const char* key) { return num(split.value(key, Json()), "%.2f"); };
            const Json share = cli.value("first_tuning_share", Json());
            const std::string first = num(cli.value("first_tuning_seconds", Json()), "%.2f") + " s ("
                                      + num(share.is_number() ? Json(share.get<double>() * 100) : Json(), "%.0f%%") + ")";
            std::printf("%-22s %-7s %6s %7s %6s %6s %6s %7s %6s %6s %7s  %-17s %8s\n",
                        j["label"].get<std::string>().substr(0, 22).c_str(), c["threads"].get<std::string>().c_str(),
                        part("split_load").c_str(), part("split_startup").c_str(), part("split_data").c_str(),
                        part("split_build").c_str(), part("split_tuning").c_str(), part("split_loop").c_str(),
                        part("split_after").c_str(), part("split_exit").c_str(), part("process_seconds").c_str(),
                        first.c_str(), (num(cli.value("tuning_seconds", Json()), "%.3f") + " s").c_str());
        }

    bool anyLoader = false;
    for (const auto& j : r["jobs"])
        if (j.contains("dataloader") && j["dataloader"].is_object()) {
            if (!anyLoader)
                std::printf("\npeer written with torch.utils.data.DataLoader (threads as nnlab picked most often, 1 run):\n");
            anyLoader = true;
            const Json& d = j["dataloader"];
            std::printf("  %-22s %10s samples/s; nnlab is %s as fast\n", j["label"].get<std::string>().c_str(),
                        num(d["samples_per_sec"], "%.0f").c_str(), num(d.value("nnlab_ratio", Json()), "%.2fx").c_str());
        }

    for (const auto& [name, comp] : r["companions"].items()) {
        std::printf("\n%-64s %12s %10s\n", (name + " figures").c_str(), "value", "target");
        if (comp.value("status", "") != "ok") {
            std::printf("  %s%s\n", comp.value("status", "?").c_str(),
                        comp.contains("exit") ? (" (exit status " + std::to_string(comp["exit"].get<int>()) + ")").c_str() : "");
            continue;
        }
        for (const auto& f : comp.value("figures", Json::array()))
            std::printf("  %-62s %12s %10s %4s\n", f.value("label", f.value("key", std::string("?"))).substr(0, 62).c_str(),
                        valueText(f.value("value", Json()), f.value("unit", std::string())).c_str(),
                        f.value("target", std::string("")).c_str(), passText(f.value("pass", Json())).c_str());
    }

    std::printf("\n%-79s %12s %10s\n", "targets (kind, what)", "value", "target");
    for (const char* kind : {"speed", "sanity"})
        for (const auto& t : r["targets"])
            if (t.value("kind", "speed") == kind)
                std::printf("  %-6s %-70s %12s %10s %4s\n", kind, t["what"].get<std::string>().substr(0, 70).c_str(),
                            valueText(t["value"], t.value("unit", std::string())).c_str(),
                            t["target"].get<std::string>().c_str(), passText(t["pass"]).c_str());
    for (const auto& m : r.value("missing", Json::array()))
        std::printf("  MISSING FIGURE: %s\n", m.get<std::string>().c_str());
}

} // namespace bench
