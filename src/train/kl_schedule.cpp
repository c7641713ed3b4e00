#include "train/kl_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace kbnn {

double kl_beta(const TrainConfig& config, double epoch, double total_epochs) {
  if (config.kl_schedule == KlSchedule::linear)
    return config.kl_beta * std::min(1.0, epoch / config.kl_warmup_epochs);
  if (config.kl_schedule == KlSchedule::cyclical) {
    const double period = total_epochs / config.kl_cycles;
    const double tau = std::fmod(epoch, period) / period;  // position in the cycle, [0, 1)
    return config.kl_beta * std::min(1.0, tau / config.kl_ratio);
  }
  return config.kl_beta;
}

}  // namespace kbnn
