// The top-level help of nnlab-cli, shown by both of its programs (engine_forward.h).
#pragma once

namespace nnlab::cli {

inline constexpr const char* kHelp = R"(Usage: nnlab-cli COMMAND [options]

Commands:
  train [EXPERIMENT.json]   train an experiment (default: the Fashion-MNIST CNN) and record the run
  validate EXPERIMENT.json  check an experiment; print layer shapes, parameters and MACs
  lr-find [EXPERIMENT.json] find a learning rate: the range test's curve and suggestions
  check [EXPERIMENT.json]   the recipe pre-flight: initial loss, overfit one batch, gradient flow, ...
  sweep EXPERIMENT.json     a hyperparameter sweep: grid or random, pruned by ASHA, locally or on Slurm
  runs ...                  list, show, export, diff, delete, resume and import stored runs
  serve RUN                 serve a trained run over HTTP: batching, Prometheus metrics, drift monitors
  export RUN --format F     write a run's model as safetensors, ONNX or PyTorch code
  predict RUN INPUT         class probabilities for images, IDX, CIFAR, CSV or JSON lines
  evaluate MODEL [EXP.json] loss and accuracy of a run's or a safetensors file's weights
  compress RUN ...          prune (structured or not) or quantize to int8 a trained run; a new, measured run
  distill --teacher RUN S.json  train a student experiment on a stored run's soft targets
  sensitivity RUN           each layer's accuracy drop under pruning (and int8): a heat map table
  compare RUN...            accuracy, size on disk and measured latency of runs: the Pareto table
  lab run LAB.json | new    run a teaching lab's steps and check its observations; write a template
  version                   print the nnlab and LibTorch versions

'nnlab-cli COMMAND --help' describes each command.
)";

} // namespace nnlab::cli
