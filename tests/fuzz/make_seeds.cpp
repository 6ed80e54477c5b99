// Seeds the fuzz targets start from, in the layout each target reads (fuzz_targets.h): a few
// Fashion-MNIST images re-headed as a small IDX file, CIFAR records, CSV tables, safetensors
// written by writeSafetensors, interfaces, predict inputs, encoded images, request bodies and
// run stores made by the store library (current schema and version 1).
//
//   nnlab_fuzz_seeds OUT_DIR [FASHION_MNIST_DIR]
//
// Writes OUT_DIR/<target>/<seed>. Without Fashion-MNIST the IDX seeds are synthetic.
#include "fuzz_util.h"

#include "nnlab/model_interface.h"
#include "nnlab/run_recorder.h"
#include "nnlab/safetensors.h"
#include "sparse_weights.h"
#include "nnlab/spec.h"
#include "nnlab/store.h"

#include <sqlite3.h>
#include <zlib.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace nnlab;

namespace {

fs::path g_out;

void seed(const std::string& target, const std::string& name, const std::string& bytes)
{
    fs::create_directories(g_out / target);
    std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

std::string bigEndian32(uint32_t v)
{
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// The first `count` items of a gzip'd IDX file (header of `headerBytes`, items of `itemBytes`).
std::string idxHead(const std::string& path, size_t headerBytes, size_t itemBytes, size_t count)
{
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz)
        return {};
    std::string bytes(headerBytes + itemBytes * count, '\0');
    const int got = gzread(gz, bytes.data(), unsigned(bytes.size()));
    gzclose(gz);
    return got == int(bytes.size()) ? bytes.substr(headerBytes) : std::string();
}

void idxSeeds(const std::string& fashion)
{
    const size_t n = 3;
    std::string pixels = fashion.empty() ? std::string() : idxHead(fashion + "/t10k-images-idx3-ubyte.gz", 16, 784, n);
    std::string labels = fashion.empty() ? std::string() : idxHead(fashion + "/t10k-labels-idx1-ubyte.gz", 8, 1, n);
    if (pixels.empty() || labels.empty()) {
        pixels.clear();
        for (size_t i = 0; i < n * 784; ++i)
            pixels.push_back(char(i * 7 % 256));
        labels = {9, 2, 1};
    }
    const std::string images = bigEndian32(0x803) + bigEndian32(n) + bigEndian32(28) + bigEndian32(28) + pixels;
    const std::string labelFile = bigEndian32(0x801) + bigEndian32(n) + labels;
    const std::string length = {char(images.size() & 0xff), char(images.size() >> 8)};
    seed("idx", "images-only", std::string(1, '\0') + images);
    seed("idx", "images-labels", std::string(1, '\1') + length + images + labelFile);
    seed("idx", "images-labels-gzip", std::string(1, '\3') + length + images + labelFile);
    // A small one: two 4x3 images.
    const std::string small = bigEndian32(0x803) + bigEndian32(2) + bigEndian32(4) + bigEndian32(3)
                              + std::string(24, '\x80');
    seed("idx", "small", std::string(1, '\1') + std::string{char(small.size()), 0} + small
                             + bigEndian32(0x801) + bigEndian32(2) + std::string{0, 7});

    seed("predict_input", "fashion.jsonl",
         [&] {
             std::string list = "[";
             for (size_t i = 0; i < 784; ++i)
                 list += (i ? "," : "") + std::to_string(uint8_t(pixels[i]));
             list += "]";
             return std::string(1, '\0') + list + "\n{\"input\": " + list + "}\n";
         }());
}

void cifarSeeds()
{
    std::string records;
    for (int r = 0; r < 2; ++r) {
        records.push_back(char(r * 3));
        for (int i = 0; i < 3072; ++i)
            records.push_back(char((i * (r + 5)) % 256));
    }
    seed("cifar", "two-records", std::string(1, '\0') + records);
    seed("cifar", "one-record-gzip", std::string(1, '\1') + records.substr(0, 3073));
    seed("cifar", "two-batches", std::string(1, '\2') + records.substr(0, 3073));
}

void csvSeeds()
{
    // byte 0: header, delimiter, regression, gzip, mapped; byte 1: skip_rows, comment, label column.
    const std::string iris = "sepal_length,sepal_width,petal_length,petal_width,species\n"
                             "5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n"
                             "4.9,NA,1.4,0.2,setosa\n";
    seed("csv", "iris", std::string{0, 0} + iris);
    seed("csv", "iris-gzip", std::string{0x40, 0} + iris);
    seed("csv", "iris-label-named", std::string{1, char(6 << 4)} + iris);   // header yes, label "species"
    seed("csv", "numeric-noheader", std::string{2, char(1 << 4)} + "1,2,0\n3,4,1\n5,6,1\n-1e3,.5,0\n");
    seed("csv", "regression", std::string{0x20, 0} + "x,y,t\n0.1,0.2,1.5\n0.3,0.4,-2.25\n\"1,5\",2,3\n");
    seed("csv", "semicolon-comments", std::string{char(1 << 2), char(1 | 1 << 2)}
                                          + "metadata line\n# comment\na;b;label\n1;2;x\n# more\n3;4;y\n");
    seed("csv", "tab-mapped", std::string{char(2 << 2 | 0x80), 0} + "f1\tf2\tlabel\n1\t2\ta\n3\t4\tb\n");
    seed("csv", "quoted", std::string{0, 0} + "\"a\",\"b \"\"q\"\"\",c\r\n\"1\",2,\"x\"\r\n3,\"4\",\"y\"\r\n");

    seed("predict_input", "iris.csv", std::string(1, 0x04 | 1) + iris);
    seed("predict_input", "iris-label.csv", std::string(1, 0x04 | 1 | 1 << 3) + iris);
    seed("predict_input", "iris.csv.gz", std::string(1, 0x04 | 2) + iris);
    seed("predict_input", "numbers.tsv", std::string(1, 0x04 | 3 | 0x20) + "1;2;3;4\n5;6;7;8;9\n");
    seed("predict_input", "tabular.jsonl", std::string(1, 0x04) + "[5.1, 3.5, 1.4, 0.2]\n\n{\"input\": [1, 2, 3, 4]}\n"
                                                               "[[1, 2], [3, 4]]\n");
}

void safetensorsSeeds()
{
    const std::string path = (g_out / "weights.tmp").string();
    const std::vector<NamedTensor> tensors = {
        {"conv.weight", {2, 1, 2, 2}, {0.5f, -1, 2, 3, 4, 5, 6, 7}},
        {"conv.bias", {2}, {0.25f, -0.25f}},
        {"scalar", {}, {1.0f}},
        {"empty", {0, 3}, {}},
    };
    writeSafetensors(path, tensors, {{"format", "pt"}, {"nnlab", "0.1"}});
    std::ifstream in(path, std::ios::binary);
    seed("safetensors", "written", std::string(std::istreambuf_iterator<char>(in), {}));
    fs::remove(path);

    // Other dtypes, written by hand: F16, BF16, I64, BOOL.
    const std::string header = R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                               R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},)"
                               R"("c":{"dtype":"I64","shape":[1,1],"data_offsets":[6,14]},)"
                               R"("d":{"dtype":"BOOL","shape":[2],"data_offsets":[14,16]},)"
                               R"("__metadata__":{"k":"v"}})";
    std::string file;
    for (int i = 0; i < 8; ++i)
        file.push_back(char((uint64_t(header.size()) >> (8 * i)) & 0xff));
    file += header;
    file += std::string("\x00\x3c\x00\xbc", 4) + std::string("\x80\x3f", 2) + std::string("\x2a\0\0\0\0\0\0\0", 8)
            + std::string("\x01\x00", 2);
    seed("safetensors", "dtypes", file);

    // A sparse file of pruned weights (sparse_weights.h): a mostly-zero weight stored as mask
    // bits and values, a dense bias, the sparse list in the metadata.
    std::vector<float> pruned(40, 0.0f);
    for (size_t i = 0; i < pruned.size(); i += 7)
        pruned[i] = float(i) - 9.5f;
    nnlab::detail::writeSparseWeights(path, {{"fc.weight", {5, 8}, pruned}, {"fc.bias", {5}, {1, 0, -2, 0, 3}}},
                                      {{"experiment", "{}"}});
    std::ifstream sparse(path, std::ios::binary);
    seed("safetensors", "sparse", std::string(std::istreambuf_iterator<char>(sparse), {}));
    fs::remove(path);
}

ModelInterface imageInterface()
{
    ModelInterface m;
    m.sampleShape = {1, 28, 28};
    m.images = true;
    m.inputShift = {72.9f};
    m.inputScale = {90.0f};
    m.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    m.outputs = 10;
    m.rawMean = {72.9f};
    m.rawStd = {90.0f};
    m.histogramEdges = {{0, 1, 20, 80, 160, 220}};
    m.histogramFractions = {{0.4f, 0.1f, 0.1f, 0.2f, 0.1f, 0.05f, 0.05f}};
    m.inputPsiAt100 = 0.02;
    m.classPrior = std::vector<float>(10, 0.1f);
    return m;
}

ModelInterface tabularInterface()
{
    ModelInterface m;
    m.sampleShape = {4};
    m.inputShift = {5.8f, 3.0f, 3.7f, 1.2f};
    m.inputScale = {0.8f, 0.4f, 1.8f, 0.8f};
    m.outputs = 1;   // regression
    m.histogramEdges = {{5}, {3}, {2, 4}, {1}};
    m.histogramFractions = {{0.5f, 0.5f}, {0.5f, 0.5f}, {0.3f, 0.3f, 0.4f}, {0.5f, 0.5f}};
    return m;
}

void interfaceSeeds()
{
    seed("model_interface", "image", interfaceToJson(imageInterface()));
    seed("model_interface", "tabular", interfaceToJson(tabularInterface()));
}

void imageSeeds()
{
    const auto encoded = [](auto write) {
        std::string bytes;
        write([](void* context, void* data, int size) {
            static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
        }, &bytes);
        return bytes;
    };
    std::vector<uint8_t> grey(28 * 28), rgb(6 * 5 * 3);
    for (size_t i = 0; i < grey.size(); ++i)
        grey[i] = uint8_t(i * 3);
    for (size_t i = 0; i < rgb.size(); ++i)
        rgb[i] = uint8_t(i * 11);
    const auto png = [&](const std::vector<uint8_t>& px, int w, int h, int c) {
        return encoded([&](stbi_write_func* f, void* ctx) { stbi_write_png_to_func(f, ctx, w, h, c, px.data(), 0); });
    };
    // byte 0 picks the model: 0 = 1x28x28, 1 = 3x32x32, 2 = 3x8x8.
    seed("image", "grey28.png", std::string(1, '\0') + png(grey, 28, 28, 1));
    seed("image", "rgb6x5.png", std::string(1, '\1') + png(rgb, 6, 5, 3));
    seed("image", "rgb6x5.jpg", std::string(1, '\2') + encoded([&](stbi_write_func* f, void* ctx) {
                                    stbi_write_jpg_to_func(f, ctx, 6, 5, 3, rgb.data(), 80);
                                }));
    seed("image", "rgb6x5.bmp", std::string(1, '\0') + encoded([&](stbi_write_func* f, void* ctx) {
                                    stbi_write_bmp_to_func(f, ctx, 6, 5, 3, rgb.data());
                                }));
    seed("image", "rgb6x5.tga", std::string(1, '\1') + encoded([&](stbi_write_func* f, void* ctx) {
                                    stbi_write_tga_to_func(f, ctx, 6, 5, 3, rgb.data());
                                }));
    seed("image", "1x1.gif", std::string(1, '\0') + std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
                                                                "!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01"
                                                                "\x00\x00\x02\x02\x44\x01\x00;", 43));
    seed("image", "2x2.pgm", std::string(1, '\0') + "P5\n2 2\n255\n" + std::string("\x00\x40\x80\xff", 4));
    seed("image", "2x1.ppm", std::string(1, '\1') + "P6 2 1 255 " + std::string("\xff\x00\x00\x00\xff\x00", 6));
    seed("image", "1x1.hdr", std::string(1, '\2') + "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n"
                                 + std::string("\x80\x80\x80\x81", 4));
}

void serveSeeds()
{
    // byte 0: bit 0 tabular model, bits 1-6 max samples - 1.
    seed("serve_request", "tabular", std::string(1, char(1 | 7 << 1)) + "{\"inputs\": [[5.1, 3.5, 1.4, 0.2], [6, 3, 4.5, 1.5]]}");
    seed("serve_request", "content-type", std::string(1, char(1 | 7 << 1)) + "application/json; charset=utf-8\n{\"inputs\": [[1,2,3,4]]}");
    std::string flat = "{\"inputs\": [[";
    for (int i = 0; i < 784; ++i)
        flat += (i ? "," : "") + std::to_string(i % 256);
    seed("serve_request", "image-flat", std::string(1, char(3 << 1)) + flat + "]]}");
    std::string nested = "{\"inputs\": [[[";
    for (int r = 0; r < 28; ++r) {
        nested += r ? ",[" : "[";
        for (int c = 0; c < 28; ++c)
            nested += (c ? "," : "") + std::to_string((r * c) % 256);
        nested += "]";
    }
    seed("serve_request", "image-nested", std::string(1, char(3 << 1)) + nested + "]]]}");
}

bool sql(const std::string& path, const std::string& statements)
{
    sqlite3* db = nullptr;
    bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK;
    char* error = nullptr;
    ok = ok && sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error) == SQLITE_OK;
    if (error) {
        std::cerr << path << ": " << error << "\n";
        sqlite3_free(error);
    }
    sqlite3_close(db);
    return ok;
}

// A store made by the recorder: a finished run with metrics over two chunks' worth of steps
// (small page size, so the file stays small), an interrupted one with events and an artifact.
std::string makeStore(const fs::path& dir)
{
    const std::string path = (dir / "runs.db").string();
    ExperimentSpec spec;
    spec.name = "seed";
    {
        auto recorder = RunRecorder::open(path);
        if (!recorder.ok())
            throw std::runtime_error(recorder.error.message);
        RunStartInfo info;
        info.tags = {"baseline", "cnn"};
        info.notes = "a seed run";
        const std::string id = recorder.value->begin(spec, "{\"name\": \"seed\", \"optimizer\": {\"lr\": 0.01}}", info).value;
        TrainInfo train;
        train.device = "cpu";
        train.threads = 1;
        train.parameters = 1234;
        train.interfaceJson = interfaceToJson(tabularInterface());
        recorder.value->updateInfo(train);
        std::vector<MetricPoint> points;
        for (int64_t step = 0; step < 1100; ++step)
            points.push_back({"train/loss", step, 1.7e9 + double(step), std::exp(-double(step) / 300.0)});
        for (int64_t step = 0; step < 1100; step += 100)
            points.push_back({"val/accuracy", step, 1.7e9 + double(step), double(step) / 1100.0});
        points.push_back({"val/accuracy", 1100, 1.7e9 + 1100, std::nan("")});
        recorder.value->addMetrics(points);
        recorder.value->addEvent(EventKind::Epoch, "1");
        const std::string artifact = (dir / "model.bin").string();
        std::ofstream(artifact) << "weights";
        recorder.value->addArtifact(artifact, "checkpoint");
        TrainResult result;
        result.status = TrainStatus::Finished;
        result.steps = 1100;
        result.finalMetrics = {{"test/accuracy", 0.91}};
        recorder.value->finish(result);
    }
    {
        auto recorder = RunRecorder::open(path);
        recorder.value->begin(spec, "{\"name\": \"left\"}");
        recorder.value->addMetrics({{"train/loss", 0, 1.7e9, 2.0}, {"train/loss", 1, 1.7e9 + 1, 1.5}});
        recorder.value->addEvent(EventKind::Paused, "step 1");
        recorder.value->flush();
    }   // not finished: recorded as interrupted
    // Small pages and no WAL: a seed of a few tens of KB instead of hundreds.
    sql(path, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;");
    return path;
}

std::string fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void storeSeeds()
{
    const fs::path dir = g_out / "store.tmp";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = makeStore(dir);
    seed("store_open", "two-runs.db", fileBytes(path));
    seed("store_import", "two-runs.db", fileBytes(path));

    // Version 1: tags in a column, no parent run, no run_tags table.
    const std::string v1 = (dir / "v1.db").string();
    fs::copy_file(path, v1);
    if (sql(v1, "ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '';"
                "UPDATE runs SET tags = 'baseline, cnn ,' WHERE seq = 1;"
                "DROP TABLE run_tags; ALTER TABLE runs DROP COLUMN parent_id;"
                "PRAGMA user_version = 1; VACUUM;"))
        seed("store_open", "version1.db", fileBytes(v1));

    // An empty store: the schema only.
    const std::string empty = (dir / "empty.db").string();
    RunStore::open(empty);
    sql(empty, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;");
    seed("store_open", "empty.db", fileBytes(empty));
    fs::remove_all(dir);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: nnlab_fuzz_seeds OUT_DIR [FASHION_MNIST_DIR]\n";
        return 2;
    }
    g_out = argv[1];
    fs::create_directories(g_out);
    try {
        idxSeeds(argc > 2 ? argv[2] : "");
        cifarSeeds();
        csvSeeds();
        safetensorsSeeds();
        interfaceSeeds();
        imageSeeds();
        serveSeeds();
        storeSeeds();
    } catch (const std::exception& e) {
        std::cerr << "nnlab_fuzz_seeds: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
