// Experiment files: parseExperiment (keys, types, values, shapes, monitors, sweep), then what
// a run does next with an accepted one: prepareExperiment, the build plan, the sweep's
// trials and notes, and the save/parse round trip.
//
// Input: the JSON text, optionally preceded by lines "//set key.path=value", which are passed
// as --set overrides (so the fuzzer reaches the override parser too).
#include "fuzz_targets.h"
#include "fuzz_util.h"

#include "nnlab/build_plan.h"
#include "nnlab/experiment.h"
#include "nnlab/monitor_alert.h"
#include "nnlab/spec_json.h"
#include "nnlab/sweep.h"

#include <algorithm>

namespace nnlab::fuzz {

std::string experiment(const uint8_t* data, size_t size)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> overrides;
    static const std::string kSet = "//set ";
    while (text.compare(0, kSet.size(), kSet) == 0) {
        const size_t end = text.find('\n');
        overrides.push_back(text.substr(kSet.size(), end == std::string::npos ? std::string::npos : end - kSet.size()));
        text.erase(0, end == std::string::npos ? text.size() : end + 1);
    }

    const ParseResult parsed = parseExperiment(text, overrides);
    if (!parsed.ok()) {
        for (const Problem& p : parsed.problems)
            fuzzCheck(!p.message.empty(), "a problem without a message at '" + p.path + "'");
        return parsed.errorText();
    }

    const Preparation prepared = prepareExperiment(parsed);
    fuzzCheck(prepared.ok(), "parsed, but prepareExperiment refuses it:\n" + prepared.errorText());
    const ExperimentSpec& spec = prepared.experiment.spec;

    // What the builder does next (plain and fused plans).
    if (!dependsOnData(spec.model)) {
        for (bool fuse : {false, true})
            describePlan(planModel(spec.model, prepared.experiment.model, fuse), spec.model.layers);
    }
    for (const MonitorSpec& monitor : spec.monitors)
        fuzzCheck(!monitorName(monitor).empty(), "a monitor without a name");

    // The sweep: its trials, the first trials' experiments and their notes.
    const int64_t trials = sweepTrialCount(spec.sweep);
    if (trials > 0) {
        const std::vector<SweepTrial> all = sweepTrials(spec.sweep, spec.seed);
        fuzzCheck(int64_t(all.size()) == trials, "sweepTrials gave " + std::to_string(all.size())
                                                     + " trials, sweepTrialCount " + std::to_string(trials));
        for (size_t i = 0; i < std::min<size_t>(all.size(), 2); ++i) {
            trialExperiment(spec, all[i]);   // may refuse a value: that is reported, not thrown
            const std::string note = sweepNote("20250101-000000-abcd", spec.sweep, all[i]);
            const std::optional<SweepNote> back = parseSweepNote(note);
            fuzzCheck(back.has_value() && back->trial == all[i].index, "sweep note does not read back:\n" + note);
        }
    }
    sweepMetricDirection(sweepMetric(spec));

    // Saving and opening again gives the same experiment.
    const std::string saved = experimentToJson(spec);
    const ParseResult again = parseExperiment(saved);
    fuzzCheck(again.ok(), "experimentToJson output does not parse:\n" + again.errorText() + "\n" + saved);
    fuzzCheck(again.spec == spec, "experimentToJson round trip changes the experiment:\n" + saved);
    return "";
}

} // namespace nnlab::fuzz
