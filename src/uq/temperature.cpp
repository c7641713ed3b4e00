#include "uq/temperature.hpp"

#include "core/error.hpp"
#include "uq/log_softmax.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace kbnn {

TemperedPasses::TemperedPasses(const std::vector<double>& log_probs, int passes, int classes,
                               std::vector<std::int32_t> labels)
    : log_probs_(log_probs.size()), labels_(std::move(labels)), passes_(passes), classes_(classes) {
  const std::int64_t n = rows();
  if (std::int64_t(log_probs.size()) != std::int64_t(passes) * n * classes)
    throw RuntimeError(concat("tempered passes: ", log_probs.size(), " log-probabilities for ",
                              passes, " passes x ", n, " rows x ", classes, " classes"));
  // (passes, rows, classes) -> (rows, passes, classes): a row's passes side by side.
  for (int s = 0; s < passes; ++s)
    for (std::int64_t i = 0; i < n; ++i)
      for (int k = 0; k < classes; ++k)
        log_probs_[(i * passes + s) * classes + k] = log_probs[(s * n + i) * classes + k];
}

namespace {
// Row r of a row-major (rows, cols) array, as LogSoftmax reads logits.
struct RowMajor {
  const double* values;
  int cols;
  KOKKOS_INLINE_FUNCTION double operator()(std::int64_t r, int k) const {
    return values[r * cols + k];
  }
};
}  // namespace

double TemperedPasses::nll_sum(double temperature) const {
  const RowMajor passes{log_probs_.data(), classes_};  // row i * passes_ + s: pass s of row i
  double sum = 0;
  for (std::int64_t i = 0; i < rows(); ++i) {
    // sum over passes of softmax(log p / T)[y]: a term can underflow only below
    // exp(-745), where the row's mean is below the cap of 1e-300 anyway.
    double p_label = 0;
    for (int s = 0; s < passes_; ++s) {
      const LogSoftmax<RowMajor> tempered(passes, i * passes_ + s, classes_, 1.0 / temperature);
      p_label += std::exp(tempered(labels_[i]));
    }
    sum -= std::log(std::max(p_label / passes_, 1e-300));
  }
  return sum;
}

TemperatureFit fit_temperature(const TemperedPasses& rows, const Communicator& comm) {
  TemperatureFit fit;
  fit.passes = rows.passes();
  fit.examples = std::int64_t(comm.allreduce_sum(double(rows.rows())));
  if (fit.examples == 0) throw RuntimeError("fitting a temperature: no held-out examples");
  const double n = double(fit.examples);
  // The mean NLL at T = exp(u): one allreduce, the same sum on every rank.
  const auto nll = [&](double u) { return comm.allreduce_sum(rows.nll_sum(std::exp(u))) / n; };

  // A grid first (the mixture's NLL need not be convex in T), then the golden section
  // inside the best point's neighbours.
  const double lo = std::log(min_temperature), hi = std::log(max_temperature);
  constexpr int grid = 24;
  const double step = (hi - lo) / grid;
  int best = 0;
  double best_nll = nll(lo);
  for (int g = 1; g <= grid; ++g)
    if (const double v = nll(lo + g * step); v < best_nll) best = g, best_nll = v;
  double a = std::max(lo, lo + (best - 1) * step), b = std::min(hi, lo + (best + 1) * step);
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double c = b - golden * (b - a), d = a + golden * (b - a);
  double fc = nll(c), fd = nll(d);
  while (b - a > 1e-6) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - golden * (b - a), fc = nll(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + golden * (b - a), fd = nll(d);
    }
  }
  const double middle = (a + b) / 2, middle_nll = nll(middle);
  // Never worse than the grid's best point, which also wins a tie: on a plateau of equal
  // NLLs (exactly 0 where every row's label has probability 1 in double) the golden
  // section ends wherever rounding takes it, and a point of the plateau is no more a
  // minimum than the grid's. Rank 0's choice and its NLL everywhere, whatever the
  // reductions' rounding (no rank-dependent branch around a collective).
  double chosen[2] = {middle, middle_nll};
  if (best_nll <= middle_nll) chosen[0] = lo + best * step, chosen[1] = best_nll;
  comm.broadcast(chosen, 2);
  fit.temperature = std::exp(chosen[0]);
  // The golden section ends within 1e-6 of an end whose side the NLL keeps falling to.
  fit.at_limit = chosen[0] - lo < 1e-6 || hi - chosen[0] < 1e-6;
  fit.nll = chosen[1];
  fit.nll_untempered = nll(0);
  return fit;
}

}  // namespace kbnn
