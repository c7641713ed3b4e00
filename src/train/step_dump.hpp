// The step dump (deck: debug.dump_steps, debug.dump_file): for the first N training
// steps, every number a reference implementation needs to replay them, in one HDF5
// file. tests/scripts/torch_replay.py replays it in PyTorch and compares step by step.
//
//   /                          seed, n_train, global_batch, lr, prior_sigma, adam_*,
//                              ranks, steps (how many /steps/<k> there are), deck,
//                              kbnn_version (older dumps lack it: kbnn info tells them
//                              by this layout)
//   /initial/<block>/mu, rho   a Gaussian block of the store ("conv2d_0/kernel"), or
//   /initial/<block>/value     a point block ("conv2d_0/bias"); shapes as the store's
//   /steps/<k>/                k = the optimizer step (0-based); attributes loss (the
//                              global-batch mean NLL + beta * KL / n_train, KL of the
//                              parameters before the step), nll, kl, beta
//     batch                    (rows) the global example indices of the step's batch
//     batch_rank               (rows) the rank that computed each row (with shuffle =
//                              local, each rank's rows come from its own partition)
//     layers/<layer>/eps       the weight noise, the kernel's shape; bias_eps too when
//                              biases are Bayesian
//     layers/<layer>/sign_in   (rows, in_channels) Flipout's S; sign_out (rows, out) R
//     layers/<pool>/argmax     (rows, OH*OW*C) where each max-pooling window's maximum
//                              was, as an index into the layer's NHWC input row: a
//                              replay follows it rather than resolving near-ties itself
//     gradients/<block>/...    the gradient the optimizer took (data term, summed over
//                              ranks, plus beta * dKL / n_train), per block as /initial
//     parameters/<block>/...   the parameters after the step
//
// Rank 0 writes the file alone (HDF5's serial driver); the other ranks send it their
// rows of the batch, the signs and the argmax. Everything else is the same on every
// rank. Off, it costs nothing: the trainer holds no StepDump.
#pragma once

#include "core/types.hpp"
#include "model/sequential.hpp"
#include "parallel/communicator.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace kbnn {

// What the dump records about a run, besides the model's numbers.
struct StepDumpRun {
  std::uint64_t seed = 0;
  std::int64_t n_train = 0;
  std::int64_t global_batch = 0;
  double lr = 0, prior_sigma = 1;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  std::string deck;  // the resolved deck: the model's layer lines for the replay
  // The global index of this rank's training row 0: 0 when every rank holds every row
  // (shuffle = global), the first row of its partition with shuffle = local.
  std::int64_t first_row = 0;
};

class StepDump {
 public:
  // Creates `path` (on rank 0; every rank throws if that fails) and writes the run's
  // attributes and the model's current parameters as /initial.
  StepDump(const std::string& path, std::int64_t steps, const StepDumpRun& run,
           Sequential<Real>& model, Communicator& comm);
  ~StepDump();
  StepDump(const StepDump&) = delete;
  StepDump& operator=(const StepDump&) = delete;

  bool wants(std::int64_t step) const { return step < steps_; }

  // After the step's gradient is complete, before the optimizer step: the batch (this
  // rank computed rows [lo, hi) of the step's `rows`, its training rows at positions
  // [position, position + hi - lo) of its `order`), each layer's noise and signs, the
  // pooling argmax, the loss and the gradients. `nll_sum` is this rank's.
  void record_gradients(std::int64_t step, const View1<std::int64_t>& order,
                        std::int64_t position, std::int64_t rows, std::int64_t lo,
                        std::int64_t hi, double nll_sum, double beta);
  // After the optimizer step: the parameters.
  void record_parameters(std::int64_t step);

 private:
  struct File;
  std::int64_t steps_;
  double prior_sigma_;
  std::int64_t n_train_;
  std::int64_t first_row_;
  Sequential<Real>& model_;
  Communicator& comm_;
  std::unique_ptr<File> file_;  // rank 0 only
};

}  // namespace kbnn
