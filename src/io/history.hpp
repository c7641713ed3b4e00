// One row of the training history: what is logged every log_every steps, printed on
// rank 0 and appended to the /history datasets of the output file.
#pragma once

#include <cstdint>

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

}  // namespace kbnn
