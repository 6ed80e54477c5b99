#include "request_parse.h"

#include "nnlab/predict_input.h"

#include <nlohmann/json.hpp>
#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>

namespace nnlab::serve {

namespace {

using nlohmann::json;

// Deeper than any sample shape needs; refused before parsing, so a hostile "[[[[..." body
// cannot exhaust the stack of the JSON library or of our walk.
constexpr int kMaxDepth = 32;
// Largest image accepted before decoding (width x height), so a tiny PNG header cannot ask
// for gigabytes.
constexpr int64_t kMaxImagePixels = 4096LL * 4096LL;
// and its longest side: resizing a 36-byte 2 x 258888 image took 0.12 s (found by fuzzing).
constexpr int kMaxImageSide = 8192;

std::string typeName(const json& value)
{
    if (value.is_number())
        return "a number";
    if (value.is_string())
        return "a string";
    if (value.is_array())
        return "a list";
    if (value.is_object())
        return "an object";
    if (value.is_boolean())
        return "a boolean";
    return "null";
}

void checkDepth(const std::string& body)
{
    int depth = 0;
    bool inString = false;
    for (size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxDepth)
                throw BadRequest(400, "malformed request: JSON nested deeper than " + std::to_string(kMaxDepth) +
                                          " levels");
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
}

float number(const json& value, const std::string& path)
{
    if (!value.is_number())
        throw BadRequest(400, path + ": expected a number, got " + typeName(value));
    const double v = value.get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 3.4e38)
        throw BadRequest(400, path + ": not a finite number");
    return float(v);
}

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

// Appends the numbers of `value`, which must be shaped as shape[dim..].
void flatten(const json& value, const std::vector<int64_t>& shape, size_t dim, const std::string& path,
             std::vector<float>& out)
{
    if (!value.is_array())
        throw BadRequest(400, path + ": expected a list of " + std::to_string(shape[dim]) + " " +
                                  (dim + 1 == shape.size() ? "numbers" : shape[dim] == 1 ? "list" : "lists") + ", got " + typeName(value));
    if (int64_t(value.size()) != shape[dim])
        throw BadRequest(400, path + ": expected " + std::to_string(shape[dim]) + " " +
                                  (dim + 1 == shape.size() ? "numbers" : shape[dim] == 1 ? "list" : "lists") + ", got " +
                                  std::to_string(value.size()));
    for (size_t i = 0; i < value.size(); ++i) {
        const std::string at = path + "[" + std::to_string(i) + "]";
        if (dim + 1 == shape.size())
            out.push_back(number(value[i], at));
        else
            flatten(value[i], shape, dim + 1, at, out);
    }
}

void sample(const json& value, const ModelInterface& m, const std::string& path, std::vector<float>& out)
{
    const int64_t size = m.sampleSize();
    const size_t start = out.size();
    // A flat list of sampleSize numbers is accepted for any shape.
    if (value.is_array() && int64_t(value.size()) == size && (value.empty() || !value[0].is_array())) {
        for (size_t i = 0; i < value.size(); ++i)
            out.push_back(number(value[i], path + "[" + std::to_string(i) + "]"));
        return;
    }
    if (m.sampleShape.size() == 1 || (value.is_array() && !value.empty() && !value[0].is_array())) {
        if (!value.is_array())
            throw BadRequest(400, path + ": expected a list of " + std::to_string(size) + " numbers or one shaped " +
                                      shapeText(m.sampleShape) + ", got " + typeName(value));
        throw BadRequest(400, path + ": expected " + std::to_string(size) + " numbers, got " +
                                  std::to_string(value.size()) +
                                  (m.sampleShape.size() > 1 ? " (a flat list, or lists shaped " + shapeText(m.sampleShape) + ")" : ""));
    }
    flatten(value, m.sampleShape, 0, path, out);
    if (int64_t(out.size() - start) != size)   // cannot happen when flatten accepted it
        throw BadRequest(400, path + ": expected " + std::to_string(size) + " numbers");
}

} // namespace

std::string mediaType(const std::string& contentType)
{
    std::string type = contentType.substr(0, contentType.find(';'));
    type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return type;
}

RawSamples parseJsonInputs(const std::string& body, const ModelInterface& m, int64_t maxSamples)
{
    if (body.empty())
        throw BadRequest(400, "empty request body: expected JSON {\"inputs\": [sample, ...]}");
    checkDepth(body);
    json document;
    try {
        document = json::parse(body);
    } catch (const json::out_of_range& e) {
        throw BadRequest(400, std::string("a number out of range (numbers must be finite): ") + e.what());
    } catch (const json::exception& e) {
        throw BadRequest(400, std::string("malformed JSON: ") + e.what());
    }
    if (!document.is_object())
        throw BadRequest(400, "expected a JSON object {\"inputs\": [sample, ...]}, got " + typeName(document));
    for (const auto& item : document.items())
        if (item.key() != "inputs")
            throw BadRequest(400, "unknown key '" + item.key() + "': the request holds only \"inputs\"");
    const auto inputs = document.find("inputs");
    if (inputs == document.end())
        throw BadRequest(400, "missing \"inputs\": expected {\"inputs\": [sample, ...]}");
    if (!inputs->is_array())
        throw BadRequest(400, "inputs: expected a list of samples, got " + typeName(*inputs));
    if (inputs->empty())
        throw BadRequest(400, "inputs: empty; send at least one sample");
    if (int64_t(inputs->size()) > maxSamples)
        throw BadRequest(400, "inputs: " + std::to_string(inputs->size()) + " samples, at most " +
                                  std::to_string(maxSamples) + " in one request");
    RawSamples samples;
    samples.values.reserve(inputs->size() * size_t(m.sampleSize()));
    for (size_t i = 0; i < inputs->size(); ++i)
        sample((*inputs)[i], m, "inputs[" + std::to_string(i) + "]", samples.values);
    samples.count = int64_t(inputs->size());
    return samples;
}

RawSamples decodeImage(const std::string& body, const ModelInterface& m)
{
    if (!m.images || m.sampleShape.size() != 3 || (m.sampleShape[0] != 1 && m.sampleShape[0] != 3))
        throw BadRequest(415, "this model takes " + shapeText(m.sampleShape) +
                                  " inputs, not images: send JSON {\"inputs\": [...]}");
    if (body.empty())
        throw BadRequest(400, "empty request body: expected a PNG or JPEG image");
    const int channels = int(m.sampleShape[0]);
    const int height = int(m.sampleShape[1]);
    const int width = int(m.sampleShape[2]);
    const auto* bytes = reinterpret_cast<const stbi_uc*>(body.data());
    int w = 0;
    int h = 0;
    int n = 0;
    if (const std::string bad = checkImageBytes(bytes, body.size()); !bad.empty())
        throw BadRequest(400, bad);
    if (body.size() > size_t(INT32_MAX) || !stbi_info_from_memory(bytes, int(body.size()), &w, &h, &n))
        throw BadRequest(400, std::string("not a PNG or JPEG image: ") + stbi_failure_reason());
    if (w <= 0 || h <= 0)
        throw BadRequest(400, "image " + std::to_string(w) + "x" + std::to_string(h) + " has no pixels");
    if (int64_t(w) * int64_t(h) > kMaxImagePixels || w > kMaxImageSide || h > kMaxImageSide)
        throw BadRequest(400, "image " + std::to_string(w) + "x" + std::to_string(h) + " is too large (at most " +
                                  std::to_string(kMaxImagePixels) + " pixels, " + std::to_string(kMaxImageSide) +
                                  " a side); the model takes " +
                                  std::to_string(width) + "x" + std::to_string(height));
    std::string error;
    const std::vector<uint8_t> pixels = loadImagePixels(bytes, body.size(), channels, w, h, error);
    if (pixels.empty())
        throw BadRequest(400, "cannot decode the image: " + error);
    std::vector<stbi_uc> sized(size_t(width) * size_t(height) * size_t(channels));
    if (w == width && h == height) {
        std::copy(pixels.begin(), pixels.begin() + std::ptrdiff_t(sized.size()), sized.begin());
    } else if (!stbir_resize_uint8(pixels.data(), w, h, 0, sized.data(), width, height, 0, channels)) {
        throw BadRequest(400, "cannot resize the " + std::to_string(w) + "x" + std::to_string(h) +
                                  " image; send " + std::to_string(width) + "x" + std::to_string(height));
    }
    RawSamples samples;
    samples.count = 1;
    samples.values.resize(sized.size());
    // Interleaved HWC into the model's CHW.
    const size_t plane = size_t(width) * size_t(height);
    for (size_t p = 0; p < plane; ++p)
        for (size_t c = 0; c < size_t(channels); ++c)
            samples.values[c * plane + p] = float(sized[p * size_t(channels) + c]);
    return samples;
}

} // namespace nnlab::serve
