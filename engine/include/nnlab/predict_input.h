// Inputs for a trained model, in raw units (pixels 0..255, CSV values as written): what
// `nnlab-cli predict`, the server and the GUI's dropped images read. The kind is told by
// the path: a folder of PNG/JPEG images, an IDX image file, a CIFAR-10 binary batch, a CSV,
// or JSON lines (.jsonl, .ndjson). No LibTorch.
#pragma once

#include "nnlab/model_interface.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nnlab {

enum class PredictInputKind { ImageFolder, Image, Idx, Cifar, Csv, JsonLines };
const char* toString(PredictInputKind kind);    // "images", "image", "idx", "cifar", "csv", "jsonl"

struct PredictInput {
    PredictInputKind kind = PredictInputKind::Csv;
    std::vector<std::string> names;    // per sample: the image's file name, "row 12", "line 3", "#5"
    std::vector<float> features;       // count x interface.sampleSize(), raw
    std::vector<int64_t> labels;       // per sample when the file has them (IDX with labels, CIFAR,
                                       // a CSV label column), -1 where unknown; else empty
    int64_t count() const { return int64_t(names.size()); }
};

struct PredictInputOptions {
    char delimiter = ',';              // CSV
    std::string labelColumn;           // CSV: a column to leave out as labels (name or index); empty =
                                       // the last column, when there is one more than the model takes
    // Called with (done, total) while images are decoded.
    std::function<void(int64_t, int64_t)> progress;
};

// Throws DataError (nnlab/data.h) naming the file (and line or image) and what is wrong:
// a size that does not fit the model, an unreadable image, a bad number.
PredictInput readPredictInput(const std::string& path, const ModelInterface& interface,
                              const PredictInputOptions& options = {});

// One encoded image (PNG, JPEG, BMP, GIF, ...) as raw pixel values for `interface`'s [C, H, W]:
// converted to its channels (1 = grey, 3 = RGB) and resized to H x W when it differs.
std::vector<float> decodeImage(const uint8_t* bytes, size_t size, const ModelInterface& interface,
                               const std::string& source);

// What Debian's stb_image (2022-09) must not be given, found by fuzzing (tests/fuzz): a JPEG
// Huffman table (DHT) of more than 256 codes (stb writes past its tables; upstream 2.28 refuses
// them), a 16-bit PGM/PPM (stb overflows converting it to 8 bits), and the formats nnlab does
// not take (PSD, HDR, PIC). "" when none of these, else what is wrong. decodeImage checks it;
// serve's decoder calls it before its own.
std::string checkImageBytes(const uint8_t* bytes, size_t size);

// Decodes an image into interleaved 8-bit pixels of `channels` (1 grey, 3 RGB): JPEG with
// libjpeg-turbo (Debian's stb_image crashes on some crafted JPEGs: tests/fuzz/open-findings),
// PNG, BMP, GIF and the rest with stb_image. Empty, with `error` set, when it cannot.
std::vector<uint8_t> loadImagePixels(const uint8_t* bytes, size_t size, int channels, int& width, int& height,
                                     std::string& error);

} // namespace nnlab
