// Reading JSON objects with path-qualified problems: wrong types and unknown keys.
// Private to nnlab_spec.
#pragma once

#include "nnlab/spec.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>

namespace nnlab::detail {

std::string describe(const nlohmann::json& value);   // `"abc"`, `2.5`, `an object`, ...

// Reads keys of one JSON object. Each accessor leaves `out` untouched when the key is
// absent and records a problem when the value has the wrong type. finish() reports every
// key nobody read as unknown.
class ObjectReader {
public:
    ObjectReader(const nlohmann::json& object, std::string path, Problems& problems);
    bool isObject() const { return m_isObject; }
    bool has(const std::string& key) const;
    const nlohmann::json& take(const std::string& key);
    void string(const std::string& key, std::string& out);
    void stringOrInteger(const std::string& key, std::string& out);
    void number(const std::string& key, double& out);
    void integer(const std::string& key, int64_t& out);
    void boolean(const std::string& key, bool& out);
    void pair(const std::string& key, double& first, double& second);
    void ignoreRest() { m_ignoreRest = true; }
    void finish(const std::string& expected);

private:
    std::string keyPath(const std::string& key) const;
    const nlohmann::json& m_object;
    std::string m_path;
    Problems& m_problems;
    std::set<std::string> m_used;
    bool m_isObject = false;
    bool m_ignoreRest = false;
};

// Applies one "--set a.b[2].c=value" assignment to the document.
void applyOverride(nlohmann::json& doc, const std::string& assignment, Problems& problems);

} // namespace nnlab::detail
