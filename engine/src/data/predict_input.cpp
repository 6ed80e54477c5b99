#include "nnlab/predict_input.h"

#include "csv_parser.h"
#include "gzip_reader.h"
#include "nnlab/data.h"
#include "nnlab/model_info.h"

#include <nlohmann/json.hpp>
#include <stb_image.h>
#include <turbojpeg.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>

namespace fs = std::filesystem;

namespace nnlab {

namespace {

// Largest image decoded (width x height), as serve's limit, and its longest side: resizing a
// 36-byte 2 x 258888 image to 28 x 28 took 0.12 s (stb_image_resize's cost grows with the ratio).
constexpr int64_t kMaxImagePixels = 4096LL * 4096LL;
constexpr int kMaxImageSide = 8192;

bool endsWith(const std::string& text, const std::string& tail)
{
    return text.size() >= tail.size() && std::equal(tail.rbegin(), tail.rend(), text.rbegin(),
                                                     [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

bool isImageFile(const std::string& name)
{
    for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pgm", ".ppm"})
        if (endsWith(name, ext))
            return true;
    return false;
}

PredictInputKind kindOf(const std::string& path)
{
    if (fs::is_directory(path))
        return PredictInputKind::ImageFolder;
    std::string name = fs::path(path).filename().string();
    if (endsWith(name, ".gz"))
        name.resize(name.size() - 3);
    if (isImageFile(name))
        return PredictInputKind::Image;
    if (endsWith(name, ".jsonl") || endsWith(name, ".ndjson"))
        return PredictInputKind::JsonLines;
    if (endsWith(name, ".csv") || endsWith(name, ".tsv") || endsWith(name, ".txt"))
        return PredictInputKind::Csv;
    if (name.find("idx3") != std::string::npos || endsWith(name, ".idx"))
        return PredictInputKind::Idx;
    if (endsWith(name, ".bin"))
        return PredictInputKind::Cifar;
    throw DataError(path + ": cannot tell what kind of input this is; expected a folder of images, an image, "
                           "an IDX file (*idx3*), a CIFAR-10 batch (*.bin), a CSV (*.csv) or JSON lines (*.jsonl)");
}

void checkImages(const std::string& path, const ModelInterface& m)
{
    if (!m.images)
        throw DataError(path + ": images given, but the model takes " + std::to_string(m.sampleSize())
                        + " features per sample, not an image");
}

// A Dataset from a training-format file, checked against the model's sample shape.
void takeDataset(PredictInput& in, Dataset data, const std::string& path, const ModelInterface& m)
{
    if (data.sampleShape != m.sampleShape)
        throw DataError(path + ": samples of shape " + shapeText(data.sampleShape) + ", the model takes "
                        + shapeText(m.sampleShape));
    in.features = std::move(data.features);
    in.labels = std::move(data.labels);
    for (int64_t i = 0; i < int64_t(in.features.size()) / std::max<int64_t>(1, m.sampleSize()); ++i)
        in.names.push_back("#" + std::to_string(i));
}

// Rows of numbers: as many columns as the model takes, or one more (the label: the column named
// by labelColumn, else the last). A first row that is not all numbers is the header.
void readCsvInput(PredictInput& in, const std::string& path, const ModelInterface& m, const PredictInputOptions& o)
{
    const std::vector<unsigned char> bytes = detail::readFileBytes(path);
    detail::CsvParser parser(reinterpret_cast<const char*>(bytes.data()), bytes.size(), o.delimiter, path);
    const size_t features = size_t(m.sampleSize());
    std::vector<std::string> fields;
    std::vector<std::string> header;
    std::optional<size_t> labelAt;
    bool first = true;
    while (parser.next(fields)) {
        const std::string where = path + ":" + std::to_string(parser.recordLine());
        if (first) {
            first = false;
            const auto numeric = [](const std::string& f) { return detail::parseFloat(f) || detail::isMissing(f); };
            bool isHeader = false;
            if (fields.size() == features + 1) {
                labelAt = fields.size() - 1;
                if (!o.labelColumn.empty()) {
                    const auto named = std::find(fields.begin(), fields.end(), o.labelColumn);
                    if (named != fields.end())
                        labelAt = size_t(named - fields.begin());
                    else if (const auto index = detail::parseFloat(o.labelColumn); index && *index >= 0 && *index < fields.size())
                        labelAt = size_t(*index);
                    else
                        throw DataError(path + ": no column '" + o.labelColumn + "'");
                }
            } else if (fields.size() != features) {
                throw DataError(where + ": " + std::to_string(fields.size()) + " columns; the model takes "
                                + std::to_string(features) + " features (plus at most one label column)");
            }
            // A header names the features: some feature column is not a number. (A label may be text.)
            for (size_t c = 0; c < fields.size(); ++c)
                isHeader = isHeader || ((!labelAt || c != *labelAt) && !numeric(fields[c]));
            if (isHeader)
                continue;
        }
        const size_t expected = features + (labelAt ? 1 : 0);
        if (fields.size() != expected)
            throw DataError(where + ": expected " + std::to_string(expected) + " columns, got " + std::to_string(fields.size()));
        for (size_t c = 0; c < fields.size(); ++c) {
            if (labelAt && c == *labelAt)
                continue;
            const auto value = detail::parseFloat(fields[c]);
            if (!value)
                throw DataError(where + ": column " + std::to_string(c + 1) + " ('" + fields[c] + "') is not a number");
            in.features.push_back(*value);
        }
        if (labelAt) {
            const auto it = std::find(m.classNames.begin(), m.classNames.end(), fields[*labelAt]);
            in.labels.push_back(it == m.classNames.end() ? -1 : int64_t(it - m.classNames.begin()));
        }
        in.names.push_back("row " + std::to_string(in.names.size() + 1));
    }
}

void flattenNumbers(const nlohmann::json& value, std::vector<float>& out, const std::string& where)
{
    if (value.is_array()) {
        for (const auto& item : value)
            flattenNumbers(item, out, where);
        return;
    }
    if (!value.is_number())
        throw DataError(where + ": expected numbers, found " + std::string(value.type_name()));
    const double v = value.get<double>();
    if (!std::isfinite(v))
        throw DataError(where + ": a value is not finite");
    out.push_back(float(v));
}

void readJsonLines(PredictInput& in, const std::string& path, const ModelInterface& m)
{
    std::ifstream file(path);
    if (!file)
        throw DataError(path + ": cannot open");
    std::string line;
    int64_t number = 0;
    while (std::getline(file, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        const std::string where = path + ":" + std::to_string(number);
        const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_discarded())
            throw DataError(where + ": not valid JSON");
        const nlohmann::json* sample = &json;
        if (json.is_object()) {
            if (!json.contains("input"))
                throw DataError(where + ": expected an array, or an object with \"input\"");
            sample = &json["input"];
        }
        const size_t before = in.features.size();
        flattenNumbers(*sample, in.features, where);
        const size_t got = in.features.size() - before;
        if (int64_t(got) != m.sampleSize())
            throw DataError(where + ": " + std::to_string(got) + " numbers, the model takes " + std::to_string(m.sampleSize())
                            + " (shape " + shapeText(m.sampleShape) + ")");
        in.names.push_back("line " + std::to_string(number));
    }
}

std::vector<uint8_t> fileBytes(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw DataError(path + ": cannot open");
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
}

void readImages(PredictInput& in, const std::vector<std::string>& files, const ModelInterface& m,
                const PredictInputOptions& o)
{
    in.features.reserve(files.size() * size_t(m.sampleSize()));
    for (size_t i = 0; i < files.size(); ++i) {
        const std::vector<uint8_t> bytes = fileBytes(files[i]);
        const std::vector<float> pixels = decodeImage(bytes.data(), bytes.size(), m, files[i]);
        in.features.insert(in.features.end(), pixels.begin(), pixels.end());
        in.names.push_back(fs::path(files[i]).filename().string());
        if (o.progress)
            o.progress(int64_t(i + 1), int64_t(files.size()));
    }
}

} // namespace

const char* toString(PredictInputKind kind)
{
    switch (kind) {
    case PredictInputKind::ImageFolder: return "images";
    case PredictInputKind::Image: return "image";
    case PredictInputKind::Idx: return "idx";
    case PredictInputKind::Cifar: return "cifar";
    case PredictInputKind::Csv: return "csv";
    case PredictInputKind::JsonLines: return "jsonl";
    }
    return "?";
}

namespace {

// A PGM/PPM header's maximum value (P5/P6 width height maxval, # comments), 0 when unreadable.
long pnmMaxValue(const uint8_t* bytes, size_t size)
{
    size_t at = 2;
    long value = 0;
    for (int field = 0; field < 3; ++field) {
        while (at < size && (std::isspace(bytes[at]) || bytes[at] == '#')) {
            if (bytes[at] == '#')
                while (at < size && bytes[at] != '\n' && bytes[at] != '\r')
                    ++at;
            else
                ++at;
        }
        value = 0;
        while (at < size && std::isdigit(bytes[at]) && value < (1L << 30))
            value = value * 10 + (bytes[at++] - '0');
    }
    return value;
}

bool startsWith(const uint8_t* bytes, size_t size, const char* magic)
{
    const size_t n = std::strlen(magic);
    return size >= n && std::memcmp(bytes, magic, n) == 0;
}

} // namespace

std::string checkImageBytes(const uint8_t* bytes, size_t size)
{
    if (startsWith(bytes, size, "8BPS") || startsWith(bytes, size, "#?RADIANCE") || startsWith(bytes, size, "#?RGBE")
        || startsWith(bytes, size, "\x53\x80\xf6\x34"))
        return "PSD, HDR and PIC images are not read; send PNG, JPEG, BMP or GIF";
    if (startsWith(bytes, size, "P5") || startsWith(bytes, size, "P6"))
        return pnmMaxValue(bytes, size) > 255 ? "16-bit PGM/PPM images are not read; send 8-bit ones (maxval <= 255)" : "";
    if (startsWith(bytes, size, "\x89PNG\r\n\x1a\n")) {
        // stb_image grows its buffer to what a chunk declares (a 50-byte file asked for 2 GB):
        // every chunk must lie within the file.
        for (size_t at = 8; at + 12 <= size;) {
            const uint64_t length = (uint64_t(bytes[at]) << 24) | (uint64_t(bytes[at + 1]) << 16)
                                    | (uint64_t(bytes[at + 2]) << 8) | uint64_t(bytes[at + 3]);
            if (length > size - at - 12)
                return "a PNG chunk of " + std::to_string(length) + " bytes runs past the end of the file";
            if (std::memcmp(bytes + at + 4, "IEND", 4) == 0)
                break;
            at += 12 + size_t(length);
        }
        return "";
    }
    if (size < 4 || bytes[0] != 0xff || bytes[1] != 0xd8)
        return "";
    // Segments: FF marker, 2-byte big-endian length (itself included), payload. Entropy-coded
    // data after a scan (SOS) runs to the next FF that is not FF00 or a restart marker.
    size_t at = 2;
    while (at + 4 <= size) {
        if (bytes[at] != 0xff) {
            ++at;
            continue;
        }
        const uint8_t marker = bytes[at + 1];
        if (marker == 0xff || marker == 0x00 || (marker >= 0xd0 && marker <= 0xd8) || marker == 0x01) {
            ++at;
            continue;
        }
        if (marker == 0xd9)
            break;
        const size_t length = size_t(bytes[at + 2]) << 8 | bytes[at + 3];
        const size_t end = std::min(size, at + 2 + length);
        if (marker == 0xc4) {
            // Tables: class/id byte, 16 code counts, then that many values. stb_image reads a
            // table that starts inside the segment even when it runs past its end (or the file's:
            // missing bytes read as 0), and builds it before checking the length.
            for (size_t t = at + 4; t < end;) {
                size_t codes = 0;
                for (size_t i = 1; i <= 16 && t + i < size; ++i)
                    codes += bytes[t + i];
                if (codes > 256)
                    return "corrupt JPEG: a Huffman table of " + std::to_string(codes) + " codes (at most 256)";
                t += 17 + codes;
            }
        }
        at = std::max(end, at + 2);
    }
    return "";
}

std::vector<uint8_t> loadImagePixels(const uint8_t* bytes, size_t size, int channels, int& width, int& height,
                                     std::string& error)
{
    if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
        const std::unique_ptr<void, int (*)(tjhandle)> jpeg(tjInitDecompress(), tjDestroy);
        int subsampling = 0, colorspace = 0;
        if (!jpeg || size > std::numeric_limits<unsigned long>::max()
            || tjDecompressHeader3(jpeg.get(), bytes, static_cast<unsigned long>(size), &width, &height, &subsampling,
                                   &colorspace) != 0) {
            error = std::string("not a readable JPEG (") + tjGetErrorStr2(jpeg.get()) + ")";
            return {};
        }
        if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide
            || int64_t(width) * int64_t(height) > kMaxImagePixels) {
            error = "an image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels is too large";
            return {};
        }
        std::vector<uint8_t> pixels(size_t(width) * size_t(height) * size_t(channels));
        if (tjDecompress2(jpeg.get(), bytes, static_cast<unsigned long>(size), pixels.data(), width, 0, height,
                          channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_ACCURATEDCT) != 0) {
            error = std::string("not a readable JPEG (") + tjGetErrorStr2(jpeg.get()) + ")";
            return {};
        }
        return pixels;
    }
    int fileChannels = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
        stbi_load_from_memory(bytes, int(size), &width, &height, &fileChannels, channels), stbi_image_free);
    if (!decoded) {
        error = std::string("not a readable image (") + stbi_failure_reason() + ")";
        return {};
    }
    return std::vector<uint8_t>(decoded.get(), decoded.get() + size_t(width) * size_t(height) * size_t(channels));
}

std::vector<float> decodeImage(const uint8_t* bytes, size_t size, const ModelInterface& m, const std::string& source)
{
    if (!m.images || m.sampleShape.size() != 3)
        throw DataError(source + ": an image, but the model takes " + shapeText(m.sampleShape) + " features");
    const int channels = int(m.sampleShape[0]);
    if (channels != 1 && channels != 3)
        throw DataError(source + ": the model takes " + std::to_string(channels) + "-channel images; only grey (1) "
                        "and RGB (3) images can be decoded");
    if (size > size_t(std::numeric_limits<int>::max()))
        throw DataError(source + ": too large for an image");
    int width = 0, height = 0, fileChannels = 0;
    // As serve checks: a 0x0 image (stb reads "P5 0 0") cannot be resized, and a small header
    // must not ask for gigabytes.
    if (const std::string bad = checkImageBytes(bytes, size); !bad.empty())
        throw DataError(source + ": " + bad);
    if (!stbi_info_from_memory(bytes, int(size), &width, &height, &fileChannels))
        throw DataError(source + ": not a readable image (" + std::string(stbi_failure_reason()) + ")");
    if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide
        || int64_t(width) * int64_t(height) > kMaxImagePixels)
        throw DataError(source + ": an image of " + std::to_string(width) + "x" + std::to_string(height)
                        + " pixels; at most " + std::to_string(kMaxImagePixels) + " pixels, "
                        + std::to_string(kMaxImageSide) + " a side, can be read");
    std::string error;
    const std::vector<uint8_t> decodedPixels = loadImagePixels(bytes, size, channels, width, height, error);
    if (decodedPixels.empty())
        throw DataError(source + ": " + error);
    const int h = int(m.sampleShape[1]), w = int(m.sampleShape[2]);
    std::vector<stbi_uc> resized;
    const stbi_uc* pixels = decodedPixels.data();
    if (width != w || height != h) {
        resized.resize(size_t(w) * size_t(h) * size_t(channels));
        if (!stbir_resize_uint8(decodedPixels.data(), width, height, 0, resized.data(), w, h, 0, channels))
            throw DataError(source + ": cannot resize " + std::to_string(width) + "x" + std::to_string(height)
                            + " to " + std::to_string(w) + "x" + std::to_string(h));
        pixels = resized.data();
    }
    // Interleaved HWC bytes -> planar CHW values 0..255.
    std::vector<float> out(size_t(channels) * size_t(h) * size_t(w));
    for (int c = 0; c < channels; ++c)
        for (int p = 0; p < h * w; ++p)
            out[size_t(c) * size_t(h * w) + size_t(p)] = float(pixels[size_t(p) * size_t(channels) + size_t(c)]);
    return out;
}

PredictInput readPredictInput(const std::string& path, const ModelInterface& m, const PredictInputOptions& o)
{
    if (!fs::exists(path))
        throw DataError(path + ": no such file or folder");
    PredictInput in;
    in.kind = kindOf(path);
    switch (in.kind) {
    case PredictInputKind::ImageFolder: {
        checkImages(path, m);
        std::vector<std::string> files;
        for (const auto& entry : fs::directory_iterator(path))
            if (entry.is_regular_file() && isImageFile(entry.path().filename().string()))
                files.push_back(entry.path().string());
        std::sort(files.begin(), files.end());
        if (files.empty())
            throw DataError(path + ": no PNG or JPEG images in this folder");
        readImages(in, files, m, o);
        break;
    }
    case PredictInputKind::Image:
        checkImages(path, m);
        readImages(in, {path}, m, o);
        break;
    case PredictInputKind::Idx: {
        checkImages(path, m);
        // The labels beside it, named as MNIST names them: accuracy comes for free.
        std::string labels = path;
        const auto at = labels.find("images-idx3");
        if (at != std::string::npos)
            labels.replace(at, 11, "labels-idx1");
        takeDataset(in, readIdx(path, at != std::string::npos && fs::exists(labels) ? labels : ""), path, m);
        break;
    }
    case PredictInputKind::Cifar:
        checkImages(path, m);
        takeDataset(in, readCifarBatches({path}), path, m);
        break;
    case PredictInputKind::Csv:
        readCsvInput(in, path, m, o);
        break;
    case PredictInputKind::JsonLines:
        readJsonLines(in, path, m);
        break;
    }
    if (in.count() == 0)
        throw DataError(path + ": no samples");
    return in;
}

} // namespace nnlab
