// beta_t, the weight of the KL term in the negative ELBO, as a function of training
// progress measured in (fractional) epochs:
//   constant:  beta = kl_beta
//   linear:    beta = kl_beta * min(1, epoch / kl_warmup_epochs)      (Bowman et al. 2015)
//   cyclical:  the run is cut into kl_cycles cycles; within each, beta rises linearly
//              over the first fraction kl_ratio, then stays at kl_beta (Liu et al. 2019)
#pragma once

#include "core/run_config.hpp"

namespace kbnn {

double kl_beta(const TrainConfig& config, double epoch, double total_epochs);

}  // namespace kbnn
