// A /v1/predict body into raw samples: JSON {"inputs": [...]} or one PNG/JPEG image. Every
// refusal is a BadRequest whose message names the field and what is wrong, so the server
// answers it as a 4xx instead of failing.
#pragma once

#include "nnlab/model_interface.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnlab::serve {

class BadRequest : public std::runtime_error {
public:
    BadRequest(int status, const std::string& message) : std::runtime_error(message), m_status(status) {}
    int status() const { return m_status; }

private:
    int m_status;
};

struct RawSamples {
    std::vector<float> values;   // count x sampleSize, row-major, raw units
    int64_t count = 0;
};

// {"inputs": [sample, ...]}: each sample nested as interface.sampleShape, or a flat list of
// sampleSize numbers. At most `maxSamples` samples; every number finite.
RawSamples parseJsonInputs(const std::string& body, const ModelInterface& interface, int64_t maxSamples);

// One PNG or JPEG image (any size, gray or color) into the model's [C, H, W]: converted to C
// channels (luminance for gray), resized to H x W when it differs, pixel values 0..255.
RawSamples decodeImage(const std::string& body, const ModelInterface& interface);

// "application/json; charset=utf-8" -> "application/json"
std::string mediaType(const std::string& contentType);

} // namespace nnlab::serve
