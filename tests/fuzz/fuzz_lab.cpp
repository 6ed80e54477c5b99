// Lab files (nnlab.lab/1): teachers share them, students download them, so parseLab reads
// text from anywhere. Relative experiment and figure paths resolve against the shipped labs'
// folder, so the seeds (resources/labs) reach their experiments and the fuzzer mutates from
// there. An accepted lab must hold what `lab run` and lab mode rely on: steps, each with runs
// of distinct names, observations that name runs of their step, variants whose patch and
// sets give a valid experiment or a problem with its path, and a claim for each observation.
#include "fuzz_targets.h"
#include "fuzz_util.h"

#include "nnlab/lab.h"

#include <set>

namespace nnlab::fuzz {

std::string lab(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
#ifdef NNLAB_SOURCE_DIR
    const std::string base = std::string(NNLAB_SOURCE_DIR) + "/resources/labs";
#else
    const std::string base = scratchDir();
#endif
    const LabParseResult parsed = parseLab(text, base);
    if (!parsed.ok()) {
        for (const Problem& p : parsed.problems)
            fuzzCheck(!p.message.empty(), "a problem without a message at '" + p.path + "'");
        return parsed.errorText();
    }
    const Lab& lab = parsed.lab;
    fuzzCheck(!lab.steps.empty(), "a lab accepted without steps");
    for (const LabStep& step : lab.steps) {
        fuzzCheck(lab.findStep(step.id) != nullptr, "findStep misses step '" + step.id + "'");
        fuzzCheck(!step.runs.empty(), "step '" + step.id + "' accepted without runs");
        std::set<std::string> names;
        for (const LabVariant& v : step.runs)
            fuzzCheck(names.insert(v.name).second, "step '" + step.id + "': run '" + v.name + "' twice");
        for (const Observation& o : step.observations) {
            for (const std::vector<std::string>* runs : {&o.left.runs, &o.right.runs})
                for (const std::string& r : *runs)
                    fuzzCheck(names.count(r) > 0, "step '" + step.id + "': an observation names run '" + r +
                                                      "', which the step does not have");
            fuzzCheck(!o.claim().empty(), "step '" + step.id + "': an observation without a claim");
        }
        for (const LabVariant& v : step.runs) {
            ExperimentSpec out;
            const Problems problems = variantSpec(step.experiment, v, out);
            for (const Problem& p : problems)
                fuzzCheck(!p.message.empty(), "variant '" + v.name + "': a problem without a message");
        }
    }
    return "";
}

} // namespace nnlab::fuzz
