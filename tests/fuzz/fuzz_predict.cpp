// Inputs to a trained model: `nnlab-cli predict` files (JSON lines, CSV), image bytes (the
// GUI's dropped images, predict's image files) and the server's /v1/predict bodies. Each is
// read against a fixed model: a 1x28x28 image classifier (Fashion-MNIST's) or a 4-feature
// tabular one (Iris's); images also against a 3x32x32 (CIFAR's) and a 3x8x8 one (resizing).
#include "fuzz_targets.h"
#include "fuzz_util.h"

#include "nnlab/data.h"
#include "nnlab/predict_input.h"
#include "request_parse.h"   // engine/src/serve: compiled into the target, nnlab_serve needs LibTorch

#include <stb_image.h>

#include <cstring>

namespace nnlab::fuzz {

namespace {

ModelInterface imageModel(int64_t channels, int64_t side)
{
    ModelInterface m;
    m.sampleShape = {channels, side, side};
    m.images = true;
    m.inputShift.assign(size_t(channels), 72.9f);
    m.inputScale.assign(size_t(channels), 90.0f);
    m.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    m.outputs = 10;
    return m;
}

ModelInterface tabularModel()
{
    ModelInterface m;
    m.sampleShape = {4};
    m.inputShift = {5.8f, 3.0f, 3.7f, 1.2f};
    m.inputScale = {0.8f, 0.4f, 1.8f, 0.8f};
    m.classNames = {"setosa", "versicolor", "virginica"};
    m.outputs = 3;
    return m;
}

const ModelInterface& model(int which)
{
    static const ModelInterface kModels[] = {imageModel(1, 28), tabularModel(), imageModel(3, 32), imageModel(3, 8)};
    return kModels[which];
}

std::string messageOf(const std::exception& e)
{
    fuzzCheck(std::strlen(e.what()) > 0, "an error without a message");
    return e.what();
}

} // namespace

// byte 0: bits 0-1 the file kind (.jsonl, .csv, .csv.gz, .tsv), bit 2 the tabular model (else
// the image one), bits 3-4 the label column option, bit 5 a ';' delimiter. The rest is the file.
std::string predictInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return "empty";
    static const char* const kNames[] = {"input.jsonl", "input.csv", "input.csv.gz", "input.tsv"};
    static const char* const kLabels[] = {"", "label", "0", "7"};
    const uint8_t flags = data[0];
    const ModelInterface& m = model(flags & 4 ? 1 : 0);
    PredictInputOptions options;
    options.labelColumn = kLabels[(flags >> 3) & 3];
    options.delimiter = flags & 0x20 ? ';' : ',';
    const int kind = flags & 3;
    const std::string bytes = kind == 2 ? gzipBytes(data + 1, size - 1)
                                        : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string path = writeScratch(kNames[kind], bytes);
    try {
        const PredictInput in = readPredictInput(path, m, options);
        fuzzCheck(in.count() > 0, "accepted an input with no samples");
        fuzzCheck(in.features.size() == size_t(in.count() * m.sampleSize()), "features do not fit the samples");
        fuzzCheck(in.labels.empty() || int64_t(in.labels.size()) == in.count(), "labels do not fit the samples");
    } catch (const DataError& e) {
        return messageOf(e);
    }
    return "";
}

// byte 0: bits 0-1 the model (1x28x28, 3x32x32, 3x8x8, and the tabular one, which both
// refuse). The rest is the encoded image, decoded by predict's and by serve's decoder.
std::string image(const uint8_t* data, size_t size)
{
    if (size < 1)
        return "empty";
    static const int kModel[] = {0, 2, 3, 1};
    const ModelInterface& m = model(kModel[data[0] & 3]);
    // Images up to the decoders' limit (4096 x 4096) are decoded by design; one of 11 M pixels
    // from a 69-byte TGA takes 0.6 s to decode and resize in a release build, a minute under
    // ASan. From 1 M pixels to the limit only the checks before decoding run here, so the 1 s timeout
    // finds hangs rather than that known cost (tests/fuzz/regressions/image/README.md).
    int width = 0, height = 0, channels = 0;
    if (size > 1 && checkImageBytes(data + 1, size - 1).empty()
        && stbi_info_from_memory(data + 1, int(std::min<size_t>(size - 1, 1 << 30)), &width, &height, &channels)
        && int64_t(width) * int64_t(height) > (1 << 20) && int64_t(width) * int64_t(height) <= 4096 * 4096)
        return "an image of " + std::to_string(width) + "x" + std::to_string(height) + " (not decoded here)";
    std::string errors;
    try {
        const std::vector<float> pixels = decodeImage(data + 1, size - 1, m, "dropped.png");
        fuzzCheck(int64_t(pixels.size()) == m.sampleSize(), "decodeImage: wrong size");
    } catch (const DataError& e) {
        errors += messageOf(e);
    }
    try {
        const serve::RawSamples samples =
            serve::decodeImage(std::string(reinterpret_cast<const char*>(data + 1), size - 1), m);
        fuzzCheck(samples.count == 1 && int64_t(samples.values.size()) == m.sampleSize(), "serve decodeImage: wrong size");
    } catch (const serve::BadRequest& e) {
        fuzzCheck(e.status() >= 400 && e.status() < 500, "serve decodeImage: status " + std::to_string(e.status()));
        errors += (errors.empty() ? "" : "\n") + messageOf(e);
    }
    return errors;
}

// byte 0: bit 0 the tabular model (else the image one), bits 1-6 the sample limit - 1.
// The rest is the request body; its first line is also read as a Content-Type.
std::string serveRequest(const uint8_t* data, size_t size)
{
    if (size < 1)
        return "empty";
    const ModelInterface& m = model(data[0] & 1 ? 1 : 0);
    const int64_t maxSamples = ((data[0] >> 1) & 63) + 1;
    const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
    serve::mediaType(body.substr(0, body.find('\n')));
    try {
        const serve::RawSamples samples = serve::parseJsonInputs(body, m, maxSamples);
        fuzzCheck(samples.count >= 1 && samples.count <= maxSamples, "sample count out of range");
        fuzzCheck(samples.values.size() == size_t(samples.count * m.sampleSize()), "values do not fit the samples");
    } catch (const serve::BadRequest& e) {
        fuzzCheck(e.status() >= 400 && e.status() < 500, "parseJsonInputs: status " + std::to_string(e.status()));
        return messageOf(e);
    }
    return "";
}

} // namespace nnlab::fuzz
