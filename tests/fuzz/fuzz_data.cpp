// The training data loaders, which take paths: each input is written to a scratch file.
// The first byte of every input chooses options (gzip, labels, CSV settings); the rest is the
// file. Seeds with that layout come from make_seeds (tests/fuzz/make_corpus.sh).
#include "fuzz_targets.h"
#include "fuzz_util.h"

#include "nnlab/data.h"

namespace nnlab::fuzz {

namespace {

// The file's bytes as given, or (flag set) gzip'd first, so the parsers behind gunzip get
// fuzzed too rather than only zlib's CRC check.
std::string fileImage(const uint8_t* data, size_t size, bool gzip)
{
    return gzip ? gzipBytes(data, size) : std::string(reinterpret_cast<const char*>(data), size);
}

void checkDataset(const Dataset& d, const std::string& what)
{
    const int64_t sampleSize = d.sampleSize();
    fuzzCheck(sampleSize > 0 && d.features.size() % size_t(sampleSize) == 0,
              what + ": features not a whole number of samples");
    fuzzCheck(d.labels.empty() || int64_t(d.labels.size()) == d.count(), what + ": labels and samples differ");
}

} // namespace

// byte 0: bit 0 = a label file follows, bit 1 = gzip both. With labels, bytes 1-2 (little
// endian) are the image file's length and the label file is what follows it.
std::string idx(const uint8_t* data, size_t size)
{
    if (size < 1)
        return "empty";
    const uint8_t flags = data[0];
    ++data, --size;
    size_t imagesSize = size;
    if (flags & 1) {
        if (size < 2)
            return "short";
        imagesSize = std::min<size_t>(size - 2, size_t(data[0]) | size_t(data[1]) << 8);
        data += 2, size -= 2;
    }
    const std::string images = writeScratch("images-idx3-ubyte", fileImage(data, imagesSize, flags & 2));
    std::string labels;
    if (flags & 1)
        labels = writeScratch("labels-idx1-ubyte", fileImage(data + imagesSize, size - imagesSize, flags & 2));
    try {
        checkDataset(readIdx(images, labels), "readIdx");
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

// byte 0: bit 0 = gzip, bit 1 = the same file given twice (two batches).
std::string cifar(const uint8_t* data, size_t size)
{
    if (size < 1)
        return "empty";
    const uint8_t flags = data[0];
    const std::string file = writeScratch("data_batch_1.bin", fileImage(data + 1, size - 1, flags & 1));
    try {
        const Dataset d = readCifarBatches(flags & 2 ? std::vector<std::string>{file, file}
                                                     : std::vector<std::string>{file});
        checkDataset(d, "readCifarBatches");
        fuzzCheck(d.sampleShape == std::vector<int64_t>{3, 32, 32}, "CIFAR sample shape");
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

// byte 0: bits 0-1 header (auto, yes, no, a bad value), bits 2-4 delimiter, bit 5
// regression, bit 6 gzip, bit 7 map labels to given class names.
// byte 1: bits 0-1 skip_rows, bits 2-3 comment, bits 4-7 label column.
std::string csv(const uint8_t* data, size_t size)
{
    if (size < 2)
        return "short";
    static const char* const kHeaders[] = {"auto", "yes", "no", "maybe"};
    static const char kDelimiters[] = {',', ';', '\t', ' ', '|', ':', '"', '\n'};
    static const char* const kComments[] = {"", "#", "//", "\""};
    static const char* const kLabels[] = {"", "0", "1", "2", "label", "species", "y", "class",
                                          "target", "999999999", "-1", "1.5", "", "", "", ""};
    CsvOptions options;
    options.header = kHeaders[data[0] & 3];
    options.delimiter = kDelimiters[(data[0] >> 2) & 7];
    options.classification = !(data[0] & 0x20);
    const bool gzip = data[0] & 0x40;
    const bool mapped = data[0] & 0x80;
    options.skipRows = data[1] & 3;
    options.comment = kComments[(data[1] >> 2) & 3];
    options.labelColumn = kLabels[data[1] >> 4];

    const std::string file = writeScratch(gzip ? "table.csv.gz" : "table.csv", fileImage(data + 2, size - 2, gzip));
    try {
        const CsvTable table = mapped ? readCsv(file, options, {"0", "1", "2", "a", "b", "setosa"})
                                      : readCsv(file, options);
        checkDataset(table.data, "readCsv");
        fuzzCheck(int64_t(table.featureNames.size()) == table.data.sampleSize(), "readCsv: feature names");
        if (options.classification)
            for (int64_t label : table.data.labels)
                fuzzCheck(label >= 0 && label < int64_t(table.classNames.size()), "readCsv: label out of range");
        else
            fuzzCheck(table.data.targets.size() == size_t(table.data.count() * table.data.targetDim),
                      "readCsv: targets");
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

} // namespace nnlab::fuzz
