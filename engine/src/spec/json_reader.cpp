#include "json_reader.h"

#include <cmath>

namespace nnlab::detail {

using nlohmann::json;

std::string describe(const json& value)
{
    switch (value.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::null: return "null";
    default: {
        std::string text = value.dump();
        return text.size() > 40 ? text.substr(0, 37) + "..." : text;
    }
    }
}

ObjectReader::ObjectReader(const json& object, std::string path, Problems& problems)
    : m_object(object), m_path(std::move(path)), m_problems(problems)
{
    m_isObject = object.is_object();
    if (!m_isObject)
        m_problems.push_back({m_path, "must be an object {...}, got " + describe(object)});
}

std::string ObjectReader::keyPath(const std::string& key) const
{
    return m_path.empty() ? key : m_path + "." + key;
}

bool ObjectReader::has(const std::string& key) const
{
    return m_isObject && m_object.contains(key);
}

const json& ObjectReader::take(const std::string& key)
{
    m_used.insert(key);
    return m_object.at(key);
}

void ObjectReader::string(const std::string& key, std::string& out)
{
    if (!has(key))
        return;
    const json& v = take(key);
    if (v.is_string())
        out = v.get<std::string>();
    else
        m_problems.push_back({keyPath(key), "must be a string, got " + describe(v)});
}

void ObjectReader::stringOrInteger(const std::string& key, std::string& out)
{
    if (!has(key))
        return;
    const json& v = take(key);
    if (v.is_string())
        out = v.get<std::string>();
    else if (v.is_number_integer())
        out = std::to_string(v.get<int64_t>());
    else
        m_problems.push_back({keyPath(key), "must be a column name or index, got " + describe(v)});
}

void ObjectReader::number(const std::string& key, double& out)
{
    if (!has(key))
        return;
    const json& v = take(key);
    if (v.is_number())
        out = v.get<double>();
    else
        m_problems.push_back({keyPath(key), "must be a number, got " + describe(v)});
}

void ObjectReader::integer(const std::string& key, int64_t& out)
{
    if (!has(key))
        return;
    const json& v = take(key);
    if (v.is_number_integer())
        out = v.get<int64_t>();
    else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()
             && std::abs(v.get<double>()) < 9e15)
        out = static_cast<int64_t>(v.get<double>());
    else
        m_problems.push_back({keyPath(key), "must be an integer, got " + describe(v)});
}

void ObjectReader::boolean(const std::string& key, bool& out)
{
    if (!has(key))
        return;
    const json& v = take(key);
    if (v.is_boolean())
        out = v.get<bool>();
    else
        m_problems.push_back({keyPath(key), "must be true or false, got " + describe(v)});
}

void ObjectReader::pair(const std::string& key, double& first, double& second)
{
    if (!has(key))
        return;
    const json& v = take(key);
    if (v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number()) {
        first = v[0].get<double>();
        second = v[1].get<double>();
    } else {
        m_problems.push_back({keyPath(key), "must be a pair of numbers like [0.9, 0.999], got " + describe(v)});
    }
}

void ObjectReader::finish(const std::string& expected)
{
    if (!m_isObject || m_ignoreRest)
        return;
    for (auto it = m_object.begin(); it != m_object.end(); ++it)
        if (!m_used.count(it.key()))
            m_problems.push_back({keyPath(it.key()), "unknown key; not " + expected});
}

namespace {

// Splits "model.layers[5].out_features" into object keys and array indices.
struct PathPart {
    std::string key;
    long index = -1;
};

bool splitPath(const std::string& path, std::vector<PathPart>& parts)
{
    size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '[') {
            const size_t close = path.find(']', i);
            if (close == std::string::npos || close == i + 1)
                return false;
            try {
                parts.push_back({"", std::stol(path.substr(i + 1, close - i - 1))});
            } catch (...) {
                return false;
            }
            i = close + 1;
            if (i < path.size() && path[i] == '.')
                ++i;
            continue;
        }
        size_t end = path.find_first_of(".[", i);
        if (end == std::string::npos)
            end = path.size();
        if (end == i)
            return false;
        parts.push_back({path.substr(i, end - i), -1});
        i = end;
        if (i < path.size() && path[i] == '.')
            ++i;
    }
    return !parts.empty();
}

} // namespace

void applyOverride(json& doc, const std::string& assignment, Problems& problems)
{
    // Command-line bytes (a Latin-1 terminal): a string that is not UTF-8 would make every
    // later dump() of the document throw.
    try {
        (void)json(assignment).dump();
    } catch (const json::type_error&) {
        problems.push_back({"--set", "an assignment that is not valid UTF-8"});
        return;
    }
    const size_t eq = assignment.find('=');
    std::vector<PathPart> parts;
    if (eq == std::string::npos || !splitPath(assignment.substr(0, eq), parts)) {
        problems.push_back({"--set " + assignment, "expected key.path=value, e.g. training.epochs=3"});
        return;
    }
    const std::string path = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded())
        value = text;   // a bare word is a string: --set optimizer.type=sgd
    json* node = &doc;
    for (size_t i = 0; i < parts.size(); ++i) {
        const PathPart& part = parts[i];
        const bool last = i + 1 == parts.size();
        if (part.index >= 0) {
            if (!node->is_array() || part.index >= static_cast<long>(node->size())) {
                problems.push_back({path, "--set: no list element [" + std::to_string(part.index) + "] here"});
                return;
            }
            node = &(*node)[static_cast<size_t>(part.index)];
        } else {
            if (node->is_null())
                *node = json::object();
            if (!node->is_object()) {
                problems.push_back({path, "--set: \"" + part.key + "\" is inside a value that is not an object"});
                return;
            }
            node = &(*node)[part.key];
        }
        if (last)
            *node = value;
    }
}

} // namespace nnlab::detail
