// Temperature scaling of the Monte-Carlo predictive (Guo et al. 2017, "On calibration
// of modern neural networks"; for ensembles "pool, then calibrate": Rahaman & Thiery
// 2021). Every pass s of every member k is tempered alike,
//   p_{k,s}(T) = softmax(z_{k,s} / T) = softmax(log p_{k,s} / T),
// and one T > 0 is chosen to minimise the NLL of the predictive (the mixture of all
// passes) on held-out examples. T scales logits only, so the predicted class of each
// pass stays the same; the mixture's may change (rarely). T > 1 softens an overconfident
// predictive, T < 1 sharpens an underconfident one (an ensemble's average often is).
#pragma once

#include "parallel/communicator.hpp"

#include <cstdint>
#include <vector>

namespace kbnn {

// The range fit_temperature searches: T in [1/20, 20].
constexpr double min_temperature = 1.0 / 20, max_temperature = 20;

struct TemperatureFit {
  double temperature = 1;
  // T lies at a limit of the range: the NLL still falls beyond it, so T is no minimum.
  bool at_limit = false;
  double nll_untempered = 0;  // mean NLL of the held-out examples at T = 1
  double nll = 0;             // at the fitted T
  std::int64_t examples = 0;  // held-out examples over all ranks
  int passes = 0;             // Monte-Carlo passes per example (an ensemble's: all members')
};

// This rank's rows of the passes' log-probabilities, kept for tempering. They come in
// double, as the passes computed them from the logits: a float probability underflows
// to 0 (or loses digits as a subnormal) once a class trails the top logit by more than
// about 87, and its log would then weigh the class as trailing by far more.
class TemperedPasses {
 public:
  // log_probs: (passes, rows, classes) as Evaluation::sample_log_probs; labels: (rows).
  TemperedPasses(const std::vector<double>& log_probs, int passes, int classes,
                 std::vector<std::int32_t> labels);
  // sum over this rank's rows of -log p(y|x; T), p the mean of the tempered passes,
  // each term capped as metrics_from_sums caps it (-log max(p, 1e-300)).
  double nll_sum(double temperature) const;
  std::int64_t rows() const { return std::int64_t(labels_.size()); }
  int passes() const { return passes_; }

 private:
  std::vector<double> log_probs_;  // (rows, passes, classes)
  std::vector<std::int32_t> labels_;
  int passes_, classes_;
};

// Collective: the T in [min_temperature, max_temperature] that minimises the mean NLL
// over every rank's rows (a grid in log T, then golden-section search to 1e-6 in log T),
// the same on every rank; at_limit when it is one of the range's ends.
TemperatureFit fit_temperature(const TemperedPasses& rows, const Communicator& comm);

}  // namespace kbnn
