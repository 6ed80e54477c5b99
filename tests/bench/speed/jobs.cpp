// The benchmark's jobs, and what the Python peer reads: nnlab's prepared arrays, the model
// as a layer tree with nnlab's inferred shapes, and the learning rate of every step.
#include "bench_speed.h"

#include "nnlab/data.h"
#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace bench {

namespace fs = std::filesystem;

std::vector<Job> allJobs(bool quick)
{
    // Sized so that the whole default run (3 repetitions, auto and 1 thread) takes about five
    // minutes on 2 cores; the residual CNN trains on a subset for one epoch, the others as shipped.
    if (quick)
        return {
            {"spiral", "spiral-mlp.json", "spiral MLP 2-64-64-3", {"training.epochs=5"}},
            {"cnn", "fashion-cnn.json", "Fashion-MNIST CNN", {"data.train_limit=3000", "training.epochs=1"}},
            {"resnet", "fashion-resnet.json", "residual CNN", {"data.train_limit=1000", "training.epochs=1"}},
        };
    return {
        {"spiral", "spiral-mlp.json", "spiral MLP 2-64-64-3", {}},
        {"cnn", "fashion-cnn.json", "Fashion-MNIST CNN", {}},
        {"resnet", "fashion-resnet.json", "residual CNN", {"data.train_limit=4000", "training.epochs=1"}},
    };
}

namespace {

template <typename T>
void writeArray(const fs::path& file, const std::vector<T>& values);

// CIFAR-10 binary batches (a label byte, then 1024 red, 1024 green, 1024 blue bytes) that a
// network can learn: each class has its own colour and stripe orientation, under noise and a
// random phase. Debian packages no CIFAR-10; these stand in for its shapes and costs.
void writeCifarLike(const fs::path& folder, int64_t perBatch, int64_t testCount)
{
    fs::create_directories(folder);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    const auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    const auto uniform = [&] { return static_cast<double>(next() >> 11) / 9007199254740992.0; };
    const auto batch = [&](const fs::path& file, int64_t count) {
        std::vector<uint8_t> bytes;
        bytes.reserve(static_cast<size_t>(count * 3073));
        for (int64_t n = 0; n < count; ++n) {
            const int label = static_cast<int>(next() % 10);
            bytes.push_back(static_cast<uint8_t>(label));
            const double angle = label * 0.314, freq = 0.35 + 0.05 * (label % 4), phase = uniform() * 6.283;
            for (int c = 0; c < 3; ++c)
                for (int y = 0; y < 32; ++y)
                    for (int x = 0; x < 32; ++x) {
                        const double base = 60 + 25 * ((label + c * 3) % 7);
                        const double stripe = 50 * std::sin(freq * (x * std::cos(angle) + y * std::sin(angle)) + phase);
                        const double v = base + stripe + 90 * (uniform() - 0.5);
                        bytes.push_back(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
                    }
        }
        writeArray(file, bytes);
    };
    for (int i = 1; i <= 5; ++i)
        batch(folder / ("data_batch_" + std::to_string(i) + ".bin"), perBatch);
    batch(folder / "test_batch.bin", testCount);
}

// A tabular CSV with a header: 20 features, 4 classes from class-dependent means, mixed
// scales and one interaction, as other people's spreadsheets are.
void writeTabular(const fs::path& file, int64_t rows)
{
    std::ofstream out(file);
    for (int f = 0; f < 20; ++f)
        out << "f" << f << ",";
    out << "label\n";
    uint64_t state = 0x2545f4914f6cdd1dull;
    const auto uniform = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<double>(state >> 11) / 9007199254740992.0;
    };
    for (int64_t r = 0; r < rows; ++r) {
        const int label = static_cast<int>(uniform() * 4) % 4;
        double first = 0;
        for (int f = 0; f < 20; ++f) {
            const double noise = (uniform() + uniform() + uniform() - 1.5) * 2.0;
            double v = noise + ((f + label) % 5 == 0 ? 1.5 : 0.0) * (label % 2 ? 1 : -1);
            if (f == 0)
                first = v;
            if (f == 1)
                v += first * (label - 1.5);
            out << v * (1 + f % 3 * 10) << ",";
        }
        out << label << "\n";
    }
    if (!out)
        throw std::runtime_error("cannot write " + file.string());
}

} // namespace

std::vector<Job> zooJobs(bool quick, const std::string& dataDir)
{
    const fs::path cifar = fs::path(dataDir) / "cifar-like";
    const fs::path tabular = fs::path(dataDir) / "tabular.csv";
    fs::create_directories(dataDir);
    if (!fs::exists(cifar / "test_batch.bin"))
        writeCifarLike(cifar, 2000, 2000);
    if (!fs::exists(tabular))
        writeTabular(tabular, 8000);
    const std::string cifarPath = "data.path=" + cifar.string();
    std::vector<Job> jobs{
        {"keras_mlp", "zoo/keras-mlp.json", "Keras basic MLP 784-128-10", {}},
        {"lenet5", "zoo/lenet5.json", "LeNet-5 (tanh, avg-pool)", {}},
        {"mnist_net", "zoo/mnist-net.json", "PyTorch MNIST example net", {}},
        {"vgg", "zoo/vgg-cifar.json", "VGG-style CIFAR net", {cifarPath}},
        {"resnet20", "zoo/resnet20-cifar.json", "ResNet-20-style CIFAR net", {cifarPath}},
        {"mobilenet", "zoo/mobilenet-cifar.json", "MobileNet-style (depthwise)", {cifarPath}},
        {"tabular", "zoo/tabular-mlp.json", "tabular MLP, BatchNorm1d + dropout", {"data.path=" + tabular.string()}},
        {"spiral", "spiral-mlp.json", "spiral MLP 2-64-64-3", {}},
    };
    if (quick)
        for (auto& job : jobs) {
            job.overrides.push_back(job.key == "spiral" ? "training.epochs=5" : "training.epochs=1");
            if (job.key != "spiral" && job.key != "tabular")
                job.overrides.push_back("data.train_limit=1000");
        }
    return jobs;
}

namespace {

template <typename T>
void writeArray(const fs::path& file, const std::vector<T>& values)
{
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
    if (!out)
        throw std::runtime_error("cannot write " + file.string());
}

Json writeSplit(const fs::path& folder, const std::string& name, const nnlab::Dataset& d)
{
    if (d.count() > 0) {
        writeArray(folder / (name + "_x.f32"), d.features);
        if (!d.labels.empty())
            writeArray(folder / (name + "_y.i64"), d.labels);
        else
            writeArray(folder / (name + "_y.f32"), d.targets);
    }
    return Json{{"count", d.count()}, {"target_dim", d.targetDim}};
}

// The layer tree with nnlab's shapes, so the peer builds the same modules in the same order.
class TreeWriter {
public:
    explicit TreeWriter(const nnlab::ModelInfo& info)
    {
        for (const auto& row : info.layers)
            (row.type == "shortcut" ? m_shortcuts : m_rows)[row.path] = &row;
    }

    Json sequence(const std::vector<nnlab::LayerSpec>& layers, const std::string& path, Json& convs)
    {
        Json out = Json::array();
        for (size_t i = 0; i < layers.size(); ++i) {
            const std::string at = path + "[" + std::to_string(i) + "]";
            const nnlab::LayerSpec& s = layers[i];
            const nnlab::LayerInfo& row = *m_rows.at(at);
            Json node{{"type", s.type}, {"options", s.options}, {"in", row.inputShape}, {"out", row.outputShape}};
            if (s.type == "conv2d")
                convs.push_back(convShape(row.inputShape, s.intOption("out_channels"), s.intOption("kernel_size"),
                                          s.intOption("stride"), s.intOption("padding")));
            if (s.type == "residual") {
                node["layers"] = sequence(s.layers, at + ".layers", convs);
                if (auto it = m_shortcuts.find(at); it != m_shortcuts.end()) {
                    const auto& in = it->second->inputShape;
                    const auto& outShape = it->second->outputShape;
                    node["shortcut"] = Json{{"in", in}, {"out", outShape}};
                    if (in.size() == 3)
                        convs.push_back(convShape(in, outShape[0], 1, (in[1] + outShape[1] - 1) / outShape[1], 0));
                }
            }
            out.push_back(std::move(node));
        }
        return out;
    }

private:
    static Json convShape(const nnlab::Shape& in, int64_t out, int64_t k, int64_t stride, int64_t padding)
    {
        return Json{{"in_channels", in[0]}, {"height", in[1]}, {"width", in[2]}, {"out_channels", out},
                    {"kernel", k}, {"stride", stride}, {"padding", padding}};
    }

    std::map<std::string, const nnlab::LayerInfo*> m_rows;
    std::map<std::string, const nnlab::LayerInfo*> m_shortcuts;
};

} // namespace

PreparedJob prepareJob(const Job& job, const std::string& workDir)
{
    const std::string file = std::string(NNLAB_SOURCE_DIR) + "/resources/experiments/" + job.file;
    const nnlab::ParseResult parsed = nnlab::loadExperimentFile(file, job.overrides);
    if (!parsed.ok())
        throw std::runtime_error(file + ": " + parsed.errorText());
    const nnlab::DataBundle data = nnlab::loadData(parsed.spec.data, parsed.spec.isClassification(), parsed.spec.seed);
    // Sizes left to the data (model.input, the last layer's out_features) filled in, so the
    // peer builds the same layers.
    const nnlab::ExperimentSpec spec = nnlab::completeFromData(parsed.spec, data);
    nnlab::Problems problems;
    const nnlab::ModelInfo info = nnlab::inspectModel(spec.model, problems);

    const fs::path folder = fs::path(workDir) / job.key;
    fs::create_directories(folder);
    PreparedJob p;
    p.job = job;
    p.folder = folder.string();
    p.specFile = (folder / "experiment.json").string();
    p.trainSamples = data.train.count();
    p.epochs = spec.training.epochs;
    p.macsPerSample = info.macs;
    p.parameters = info.parameters;
    p.description = data.description;
    const std::string error = nnlab::saveExperimentFile(spec, p.specFile);
    if (!error.empty())
        throw std::runtime_error(error);

    const int64_t batch = spec.training.batchSize;
    const int64_t stepsPerEpoch = (data.train.count() + batch - 1) / batch;
    const int64_t totalSteps = stepsPerEpoch * spec.training.epochs;
    std::vector<double> lr;
    for (int64_t step = 0; step < totalSteps; ++step)
        lr.push_back(nnlab::learningRateAt(spec.schedule, spec.optimizer.lr, step, totalSteps, stepsPerEpoch));
    writeArray(folder / "lr.f64", lr);

    Json convs = Json::array();
    TreeWriter tree(info);
    Json meta;
    meta["experiment"] = Json::parse(nnlab::experimentToJson(spec));
    meta["classification"] = spec.isClassification();
    meta["sample_shape"] = data.train.sampleShape;
    meta["splits"] = {{"train", writeSplit(folder, "train", data.train)},
                      {"validation", writeSplit(folder, "validation", data.validation)},
                      {"test", writeSplit(folder, "test", data.test)}};
    meta["layers"] = tree.sequence(spec.model.layers, "model.layers", convs);
    std::ofstream(folder / "meta.json") << meta.dump(1) << "\n";

    // Distinct conv shapes at the training batch size, for the peak micro-benchmark.
    std::set<std::string> seen;
    p.convShapes = Json::array();
    for (auto& c : convs) {
        c["batch"] = batch;
        if (seen.insert(c.dump()).second)
            p.convShapes.push_back(c);
    }
    return p;
}

} // namespace bench
