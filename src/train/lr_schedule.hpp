// The learning rate of each optimizer step. Step t (0-based, the step about to be
// taken) of a run with S steps per epoch and E = train.epochs epochs uses
//
//   lr_t = peak * warmup(t) * decay(t),   peak = train.lr (times the ranks in per_rank mode)
//
// where a span of e epochs is n(e) = max(1, round(e * S)) steps, and
//   warmup(t) = s0 + (1 - s0) * (t + 1) / n(lr_warmup_epochs)   while t + 1 < that, else 1;
//               s0 = 1 / ranks in per_rank mode (Goyal et al. 2017: from the one-rank
//               rate train.lr up to train.lr * ranks; nothing to do on one rank), else 0
//               (from peak / n up to peak). lr_warmup_epochs = 0: no warm-up.
//   decay(t)  = constant: 1
//               cosine:   f + (1 - f) * (1 + cos(pi * min(1, t / n(D)))) / 2, from 1 down
//                         to f over D epochs, then f (D = lr_decay_epochs, 0 = E)
//               step:     f ^ floor(t / n(D)): times f every D epochs (D > 0)
//               with f = lr_decay_factor.
// Both are per step and measured from step 0, so the rate does not jump at an epoch's
// end unless a step decay falls there. train.max_steps cuts a run short without
// compressing the schedule (so an interrupted run and its restart agree).
#pragma once

#include "core/run_config.hpp"

#include <cstdint>

namespace kbnn {

double learning_rate(const TrainConfig& config, BatchMode mode, int ranks, std::int64_t step,
                     std::int64_t steps_per_epoch);

// n(e) above: the steps of a span of `epochs` epochs (0 for 0).
std::int64_t span_steps(double epochs, std::int64_t steps_per_epoch);

}  // namespace kbnn
