// The training loop (DESIGN.md, "Data flow of one training step"): gather the batch,
// forward, softmax cross-entropy, backward, KL gradient, one optimizer kernel; a
// history row and a progress line every log_every steps.
#pragma once

#include "app/deck.hpp"
#include "io/device_dataset.hpp"
#include "model/sequential.hpp"
#include "train/optimizer.hpp"

#include <iosfwd>
#include <memory>
#include <vector>

namespace kbnn {

// One logged step: the /history datasets of the output file.
struct HistoryRow {
  std::int64_t step = 0;
  double epoch = 0;            // fractional: 1.5 = half-way through the second epoch
  double loss = 0;             // negative ELBO per example: nll + beta * KL / N_train
  double nll = 0;              // mean over the examples since the last row
  double kl = 0;               // KL(q || p), summed over all weights, at this step
  double beta = 0;
  double lr = 0;
  double train_accuracy = 0;   // since the last row
  double seconds = 0;          // wall time since training started
  double images_per_second = 0;  // since the last row
};

class Trainer {
 public:
  Trainer(const RunConfig& config, Sequential<Real>& model, const DeviceDataset& train,
          std::ostream& log);

  // Trains for config.train.epochs (or max_steps) and returns the logged history.
  std::vector<HistoryRow> run();

  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // Global batch rows that this rank computes; single-rank for now.
  double training_seconds() const { return training_seconds_; }
  std::int64_t images_trained() const { return images_trained_; }

 private:
  const RunConfig& config_;
  Sequential<Real>& model_;
  const DeviceDataset& train_;
  std::ostream& log_;
  std::unique_ptr<Optimizer<Real>> optimizer_;
  std::int64_t steps_per_epoch_;
  double training_seconds_ = 0;
  std::int64_t images_trained_ = 0;
};

std::unique_ptr<Optimizer<Real>> make_optimizer(const TrainConfig& config, std::size_t size);

}  // namespace kbnn
