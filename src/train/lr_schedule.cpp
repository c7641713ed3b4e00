#include "train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace kbnn {

std::int64_t span_steps(double epochs, std::int64_t steps_per_epoch) {
  if (epochs <= 0) return 0;
  return std::max<std::int64_t>(1, std::llround(epochs * double(steps_per_epoch)));
}

double learning_rate(const TrainConfig& config, BatchMode mode, int ranks, std::int64_t step,
                     std::int64_t steps_per_epoch) {
  const bool scaled = mode == BatchMode::per_rank;
  const double peak = config.lr * (scaled ? ranks : 1);

  double warmup = 1;
  const std::int64_t warmup_steps = span_steps(config.lr_warmup_epochs, steps_per_epoch);
  if (step + 1 < warmup_steps) {
    const double start = scaled ? 1.0 / ranks : 0.0;
    warmup = start + (1 - start) * double(step + 1) / double(warmup_steps);
  }

  double decay = 1;
  const double f = config.lr_decay_factor;
  if (config.lr_schedule == LrSchedule::cosine) {
    const double epochs = config.lr_decay_epochs > 0 ? config.lr_decay_epochs : config.epochs;
    const double progress =
        std::min(1.0, double(step) / double(span_steps(epochs, steps_per_epoch)));
    decay = f + (1 - f) * 0.5 * (1 + std::cos(M_PI * progress));
  } else if (config.lr_schedule == LrSchedule::step) {
    const std::int64_t every = span_steps(config.lr_decay_epochs, steps_per_epoch);
    if (every > 0) decay = std::pow(f, double(step / every));  // the deck requires D > 0
  }
  return peak * warmup * decay;
}

}  // namespace kbnn
