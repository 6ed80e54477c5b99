#include "spec_inspect.h"

#include "json_reader.h"

#include <string>

namespace nnlab::detail {

void readInspect(const nlohmann::json& value, InspectSpec& out, Problems& problems)
{
    ObjectReader r(value, "inspect", problems);
    if (!r.isObject())
        return;
    r.integer("layer_stats_every_steps", out.layerStatsEverySteps);
    r.integer("histograms_every_steps", out.histogramsEverySteps);
    r.integer("boundary_every_steps", out.boundaryEverySteps);
    r.integer("boundary_resolution", out.boundaryResolution);
    r.boolean("confusion_matrix", out.confusionMatrix);
    r.finish("an inspect option (layer_stats_every_steps, histograms_every_steps, boundary_every_steps, "
             "boundary_resolution, confusion_matrix)");
}

nlohmann::ordered_json inspectJson(const InspectSpec& i)
{
    nlohmann::ordered_json j;
    j["layer_stats_every_steps"] = i.layerStatsEverySteps;
    j["histograms_every_steps"] = i.histogramsEverySteps;
    j["boundary_every_steps"] = i.boundaryEverySteps;
    j["boundary_resolution"] = i.boundaryResolution;
    j["confusion_matrix"] = i.confusionMatrix;
    return j;
}

namespace {
void checkSteps(Problems& p, const char* key, int64_t v)
{
    if (v < 0)
        p.push_back({std::string("inspect.") + key, "must be >= 0 (0 = off), got " + std::to_string(v)});
    else if (v > 1000000000)
        p.push_back({std::string("inspect.") + key, "must be <= 1000000000, got " + std::to_string(v)});
}
} // namespace

void validateInspect(const InspectSpec& i, Problems& p)
{
    checkSteps(p, "layer_stats_every_steps", i.layerStatsEverySteps);
    checkSteps(p, "histograms_every_steps", i.histogramsEverySteps);
    checkSteps(p, "boundary_every_steps", i.boundaryEverySteps);
    if (i.boundaryResolution < kMinBoundaryResolution || i.boundaryResolution > kMaxBoundaryResolution)
        p.push_back({"inspect.boundary_resolution",
                     "must be " + std::to_string(kMinBoundaryResolution) + ".." + std::to_string(kMaxBoundaryResolution)
                         + " grid cells per side, got " + std::to_string(i.boundaryResolution)});
}

} // namespace nnlab::detail
