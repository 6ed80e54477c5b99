// Data sets as plain arrays (no LibTorch types): loaders for the 2-D generators, IDX,
// CIFAR-10 binary batches and CSV, plus subsetting, validation split and normalization.
#pragma once

#include "nnlab/spec.h"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnlab {

// A bad file, a bad option or a bad row. The message names the file (and line, offset or
// field) and what is wrong, e.g. "train.csv:17: expected 5 columns, got 4".
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Dataset {
    std::vector<int64_t> sampleShape;   // per-sample feature shape: {2}, {1, 28, 28}, {3, 32, 32}, {F}
    std::vector<float> features;        // count() * sampleSize() values, row-major
    std::vector<int64_t> labels;        // classification: one class id per sample, else empty
    std::vector<float> targets;         // regression: count() * targetDim values, else empty
    int64_t targetDim = 0;              // regression targets per sample; 0 for classification

    int64_t sampleSize() const;         // product of sampleShape
    int64_t count() const;              // number of samples
};

struct DataBundle {
    Dataset train;
    Dataset validation;                 // empty when validation_fraction is 0
    Dataset test;                       // the official test split, empty when the source has none
    int64_t numClasses = 0;             // classification only
    std::vector<std::string> classNames;  // one per class ("T-shirt/top", ...), or "0", "1", ...
    bool images = false;                // sampleShape is {C, H, W}
    std::string description;            // one line: "fashion-mnist: 10800 train, 1200 val, 10000 test"
    // The normalization applied to all three splits, per channel (images) or per feature:
    // x' = (x - inputShift[i]) / inputScale[i]. Empty when none. Lets a caller feed new raw
    // inputs to the trained model (a 2-D decision-boundary grid, an image to classify).
    std::vector<float> inputShift;
    std::vector<float> inputScale;
};

// Fills in what spec.model leaves to the data (model.input, the output layer's size) from the
// loaded data; see completeFromData in model_info.h.
ExperimentSpec completeFromData(const ExperimentSpec& spec, const DataBundle& data);

// Reports loading progress as a fraction 0..1 with a short stage name.
using DataProgress = std::function<void(double fraction, const std::string& stage)>;

// Loads the source, applies train_limit, splits off validation (seeded), and normalizes with
// statistics of the training part only. Throws DataError.
DataBundle loadData(const DataSpec& spec, bool classification, uint64_t seed,
                    const DataProgress& progress = {});

// The per-sample shape a source produces, when known without reading it ({} for csv and idx).
std::vector<int64_t> knownSampleShape(const DataSpec& spec);

// The folder fashion-mnist reads when data.path is empty.
std::string defaultFashionMnistPath();

// --- Individual loaders, used by loadData and by tests -------------------------------

// 2-D toy sets in the style of TensorFlow Playground: spiral, moons, circles, xor, blobs.
// Features in roughly [-1, 1]; noise 0 gives the clean shape. Throws DataError for an unknown name.
Dataset generate2d(const std::string& source, int64_t samples, int64_t classes, double noise,
                   uint64_t seed);

// IDX image + label files (raw or gzip, detected by magic bytes). Images become {1, H, W}
// floats in 0..255; labels int64.
Dataset readIdx(const std::string& imagesFile, const std::string& labelsFile);   // labelsFile "" = images only

// CIFAR-10 binary batches (each record: 1 label byte + 3072 pixel bytes), {3, 32, 32} in 0..255.
Dataset readCifarBatches(const std::vector<std::string>& files);

struct CsvOptions {
    std::string labelColumn;            // name or 0-based index; empty = last column
    std::string header = "auto";        // auto|yes|no
    char delimiter = ',';
    bool classification = true;         // labels become class ids; else float regression targets
    int64_t skipRows = 0;               // lines skipped at the top, before the header or data
    std::string comment;                // lines starting with it (after spaces) are skipped; "" = none
};
// The CSV options a DataSpec asks for. Throws DataError naming the key for a bad delimiter.
CsvOptions csvOptions(const DataSpec& spec, bool classification);
struct CsvTable {
    Dataset data;
    std::vector<std::string> featureNames;
    std::vector<std::string> classNames;  // classification: sorted distinct label strings or numbers
};
// Reads a CSV file (gzip'd when it ends in .gz or starts with the gzip magic). Throws DataError
// naming file and line for a bad row.
CsvTable readCsv(const std::string& file, const CsvOptions& options);
// Same, mapping string labels to the ids in `classNames` (for a test file next to a train file).
CsvTable readCsv(const std::string& file, const CsvOptions& options,
                 const std::vector<std::string>& classNames);

} // namespace nnlab
