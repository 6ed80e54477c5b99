// The seam between compressRun (compress.cpp) and each method's own code: pruning
// (prune*.cpp) and quantization (quantize*.cpp) turn the parent into a Compressed, which
// compressRun saves, measures, fine-tunes when asked, and records. Internal (LibTorch types).
#pragma once

#include "measure.h"
#include "train_hooks.h"

#include "nnlab/compress.h"
#include "nnlab/trained_model.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nnlab::compress {

struct MethodContext {
    const TrainedWeights& parent;        // spec completed, float weights by state-dict name
    const MeasureData& data;             // the parent's data, normalized as in training
    const CompressRequest& request;
    std::string databasePath;
    TrainControl& control;
    const CompressProgressFn& progress;
};

// A compressed model, ready to be saved, measured and recorded.
struct Compressed {
    ExperimentSpec spec;                  // the result run's experiment (a pruned model's own)
    nlohmann::json options = nlohmann::json::object();   // settings and the method's report
    std::string suffix;                   // the model file's ending: ".int8.safetensors"
    std::function<void(const std::string& path)> save;                    // atomic
    std::function<MeasurableModel(const std::string& path)> measurable;   // the saved file's model
    // Fine-tuning (pruning with finetuneEpochs > 0): training starts from `weights` on `spec`,
    // with `trainHooks` (masks held, the AGP ramp), and `finish` makes the final model of
    // the fine-tuned weights.
    bool finetune = false;
    int64_t finetuneEpochs = 0;
    std::vector<NamedTensor> weights;
    std::vector<std::shared_ptr<detail::TrainHook>> trainHooks;
    std::function<Compressed(const std::vector<NamedTensor>& tuned)> finish;
};

Compressed quantizeParent(const MethodContext& context);   // compress_methods.cpp
Compressed pruneParent(const MethodContext& context);      // compress_methods.cpp

// A float model of `spec` with `tensors` measured like a result, its size that of the float
// safetensors file `export` would write (saved to a temporary file beside the store).
ModelMeasurement measureFloatWeights(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors,
                                     const ModelInterface& interface, const MeasureData& data,
                                     const MeasureOptions& options, const std::string& databasePath,
                                     const CompressProgressFn& progress = {}, TrainControl* control = nullptr);

} // namespace nnlab::compress
