// Int8 against float on a stored run (not a test: prints a table). One thread, median of
// `calls` timed forward passes after warm-up, at batch 1 and 64, on real test images.
//   test_quantize_bench DB RUN [OUT_DIR] [calls]
// OUT_DIR (optional) receives what tests/compress/test_quantize_peer.py needs to measure PyTorch's
// eager int8 on the same model and data: float.safetensors, test_x.f32, test_y.i64, train_x.f32.
#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "builder.h"
#include "quantize.h"
#include "session.h"
#include "weights_io.h"

#include "nnlab/data.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace nnlab;
using namespace nnlab::detail;

namespace {

double medianMs(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& x, int calls)
{
    for (int i = 0; i < 10; ++i)
        f(x);
    std::vector<double> ms;
    for (int i = 0; i < calls; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f(x);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

void writeRaw(const std::string& path, const torch::Tensor& t)
{
    const torch::Tensor c = t.contiguous();
    std::ofstream(path, std::ios::binary).write(static_cast<const char*>(c.data_ptr()), std::streamsize(c.nbytes()));
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DB RUN [OUT_DIR] [calls]\n", argv[0]);
        return 2;
    }
    const std::string outDir = argc > 3 ? argv[3] : "";
    const int calls = argc > 4 ? std::atoi(argv[4]) : 100;
    auto store = RunStore::open(argv[1]);
    if (!store.ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[1], store.error.message.c_str());
        return 2;
    }
    const TrainedWeights weights = loadTrainedWeights(*store.value, argv[2]);
    const ExperimentSpec& spec = weights.spec;
    const DataBundle data = loadData(spec.data, true, spec.seed);
    const TensorSet train = toTensors(data.train, true, torch::kCPU);
    const TensorSet val = toTensors(data.validation, true, torch::kCPU);
    const TensorSet test = toTensors(data.test, true, torch::kCPU);
    torch::set_num_threads(1);

    torch::nn::Sequential net = buildModel(spec.model);
    loadWeightsInto(*net, weights.tensors);
    net->eval();
    auto floatForward = [&](const torch::Tensor& x) {
        c10::InferenceMode inference;
        return net->forward(x);
    };
    auto accuracy = [&](const std::function<torch::Tensor(const torch::Tensor&)>& f) {
        int64_t right = 0;
        for (int64_t i = 0; i < test.count; i += 256) {
            const int64_t end = std::min(test.count, i + 256);
            right += f(test.x.slice(0, i, end)).argmax(1).eq(test.y.slice(0, i, end)).sum().item<int64_t>();
        }
        return 100.0 * double(right) / double(test.count);
    };
    const torch::Tensor b1 = test.x.slice(0, 0, 1).contiguous(), b64 = test.x.slice(0, 0, 64).contiguous();
    const std::string dir = outDir.empty() ? std::filesystem::temp_directory_path().string() : outDir;
    std::filesystem::create_directories(dir);
    const std::string floatFile = dir + "/float.safetensors";
    writeSafetensors(floatFile, weights.tensors, {{"format", "nnlab.safetensors/1"}, {"experiment", experimentToJson(spec)}});
    const double floatBytes = double(std::filesystem::file_size(floatFile));
    if (!outDir.empty()) {
        writeRaw(dir + "/test_x.f32", test.x);
        writeRaw(dir + "/test_y.i64", test.y);
        writeRaw(dir + "/train_x.f32", train.x.slice(0, 0, 1000));
    }

    std::printf("run %s, %lld test images, 1 thread, median of %d calls\n", weights.runId.c_str(), (long long)test.count, calls);
    std::printf("%-34s %9s %10s %8s %10s %10s\n", "model", "test acc", "bytes", "smaller", "b1 ms", "b64 ms");
    const double floatB1 = medianMs(floatForward, b1, calls), floatB64 = medianMs(floatForward, b64, calls);
    std::printf("%-34s %8.2f%% %10.0f %7.2fx %10.4f %10.4f\n", "float (nnlab)", accuracy(floatForward), floatBytes, 1.0,
                floatB1, floatB64);

    // Per stage at batch 1 and 64: nnlab's float modules, then the int8 model's steps.
    {
        QuantizeOptions o;
        o.fastestPerLayer = false;
        const QuantizedModel q = quantizeModel(spec, weights.tensors, o, {train.x, val.x, val.y});
        for (const torch::Tensor& input : {b1, b64}) {
            std::printf("batch %lld per stage (ms):\n  float:", (long long)input.size(0));
            torch::Tensor x = input;
            for (size_t i = 0; i < net->size(); ++i) {
                const torch::Tensor in = x;
                std::function<torch::Tensor(const torch::Tensor&)> f = [&](const torch::Tensor& t) {
                    c10::InferenceMode m;
                    return (net->begin() + i)->forward(t);
                };
                std::printf(" %s %.4f", net->named_children()[i].key().c_str(), medianMs(f, in, calls));
                x = f(in);
            }
            std::printf("\n  int8: ");
            x = input;
            for (size_t i = 0; i < q.stageNames().size(); ++i) {
                const torch::Tensor in = x;
                std::function<torch::Tensor(const torch::Tensor&)> f = [&](const torch::Tensor& t) { return q.forwardStage(i, t); };
                std::printf(" %s %.4f", q.stageNames()[i].c_str(), medianMs(f, in, calls));
                x = f(in);
            }
            std::printf("\n");
        }
    }

    struct Variant {
        const char* label;
        QuantizeMode mode;
        bool perChannel;
        bool fastest;
    };
    for (const Variant& v : {Variant{"int8 static per-tensor", QuantizeMode::Static, false, false},
                             Variant{"int8 static per-tensor, fastest", QuantizeMode::Static, false, true},
                             Variant{"int8 static per-channel, fastest", QuantizeMode::Static, true, true},
                             Variant{"int8 dynamic (linear)", QuantizeMode::Dynamic, false, false}}) {
        QuantizeOptions o;
        o.mode = v.mode;
        o.perChannel = v.perChannel;
        o.fastestPerLayer = v.fastest;
        QuantizeExtras extras;
        extras.timingCalls = 30;
        const QuantizedModel q = quantizeModel(spec, weights.tensors, o, {train.x, val.x, val.y}, extras);
        const std::string file = dir + "/int8.safetensors";
        q.save(file);
        const double bytes = double(std::filesystem::file_size(file));
        auto f = [&](const torch::Tensor& x) { return q.forward(x); };
        std::printf("%-34s %8.2f%% %10.0f %7.2fx %10.4f %10.4f\n", v.label, accuracy(f), bytes, floatBytes / bytes,
                    medianMs(f, b1, calls), medianMs(f, b64, calls));
        if (v.fastest)
            std::printf("%s", q.report().text().c_str());
    }
    return 0;
}
