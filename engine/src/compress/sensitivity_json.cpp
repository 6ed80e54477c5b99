// The sensitivity result as JSON: the artifact a recorded analysis keeps, and what the GUI reads.
#include "nnlab/sensitivity.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace nnlab {

std::string SensitivitySetting::label() const
{
    if (kind == SensitivityKind::Int8)
        return "int8";
    char text[32];
    std::snprintf(text, sizeof text, "%g%%", std::round(sparsity * 1000.0) / 10.0);
    return text;
}

std::string sensitivityToJson(const SensitivityResult& r)
{
    nlohmann::json j;
    j["format"] = "nnlab.sensitivity/1";
    j["source_run"] = r.sourceRunId;
    j["run"] = r.runId;
    j["structured"] = r.structured;
    j["base_accuracy"] = r.baseAccuracy;
    j["split"] = r.split;
    j["cancelled"] = r.cancelled;
    j["seconds"] = r.seconds;
    j["settings"] = nlohmann::json::array();
    for (const auto& s : r.settings)
        j["settings"].push_back({{"kind", s.kind == SensitivityKind::Int8 ? "int8" : "sparsity"}, {"sparsity", s.sparsity}});
    j["layers"] = nlohmann::json::array();
    for (size_t i = 0; i < r.layers.size(); ++i) {
        const SensitivityLayer& l = r.layers[i];
        nlohmann::json cells = nlohmann::json::array();
        for (const SensitivityCell& c : r.cells.at(i)) {
            nlohmann::json cell{{"accuracy", c.accuracy}, {"drop", c.drop}};
            if (!c.error.empty())
                cell["error"] = c.error;
            cells.push_back(cell);
        }
        j["layers"].push_back({{"name", l.name}, {"type", l.type}, {"spec_path", l.specPath},
                               {"parameters", l.parameters}, {"cells", cells}});
    }
    return j.dump(2);
}

SensitivityResult sensitivityFromJson(const std::string& text)
{
    SensitivityResult r;
    std::string field = "(document)";
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        field = "format";
        if (j.at("format").get<std::string>() != "nnlab.sensitivity/1")
            throw std::runtime_error("not nnlab.sensitivity/1");
        field = "source_run";
        r.sourceRunId = j.at("source_run").get<std::string>();
        field = "run";
        r.runId = j.value("run", "");
        field = "structured";
        r.structured = j.at("structured").get<bool>();
        field = "base_accuracy";
        r.baseAccuracy = j.at("base_accuracy").get<double>();
        field = "split";
        r.split = j.value("split", "validation");
        r.cancelled = j.value("cancelled", false);
        r.seconds = j.value("seconds", 0.0);
        field = "settings";
        for (const auto& s : j.at("settings")) {
            SensitivitySetting setting;
            setting.kind = s.at("kind").get<std::string>() == "int8" ? SensitivityKind::Int8 : SensitivityKind::Sparsity;
            setting.sparsity = s.value("sparsity", 0.0);
            r.settings.push_back(setting);
        }
        field = "layers";
        for (const auto& l : j.at("layers")) {
            SensitivityLayer layer;
            layer.name = l.at("name").get<std::string>();
            layer.type = l.at("type").get<std::string>();
            layer.specPath = l.value("spec_path", std::vector<int>{});
            layer.parameters = l.value("parameters", int64_t(0));
            std::vector<SensitivityCell> cells;
            for (const auto& c : l.at("cells")) {
                SensitivityCell cell;
                cell.accuracy = c.at("accuracy").get<double>();
                cell.drop = c.at("drop").get<double>();
                cell.error = c.value("error", "");
                cells.push_back(cell);
            }
            if (cells.size() != r.settings.size())
                throw std::runtime_error("layer " + layer.name + " has " + std::to_string(cells.size()) + " cells for "
                                         + std::to_string(r.settings.size()) + " settings");
            r.layers.push_back(layer);
            r.cells.push_back(cells);
        }
    } catch (const std::exception& e) {
        throw std::runtime_error("sensitivity result: " + field + ": " + e.what());
    }
    return r;
}

} // namespace nnlab
