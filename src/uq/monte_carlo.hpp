// The Monte-Carlo predictor that `kbnn train`, `kbnn predict` and `kbnn prune` share
// (docs/design.md, "Prediction"). Pass s draws fresh weights w_s ~ q(w) and signs,
// runs the model forward, and gives every row p_s = softmax(f(x; w_s)) and its entropy
// H[p_s], in double; at a temperature T != 1 also the calibrated pass
// p_s(T) = softmax(f(x; w_s) / T), which the predictive's probabilities average, while
// the entropies (the uncertainty split) stay those of the posterior's own p_s. Passes
// either add straight into per-row sums on the device
//   PredictiveSums:  sum_s p_s(T), sum_s p_s (rows, classes) and sum_s H[p_s] (rows)
// or are stored one by one (PassResults) to be moved between ranks or written out,
// and added later in pass order, which gives the same bits. Any number of passes, of
// any model, add into the same sums; finish() then turns the sums into Predictions.
#pragma once

#include "core/thread_shape.hpp"
#include "data/device_dataset.hpp"
#include "data/standardize.hpp"
#include "model/sequential.hpp"
#include "uq/predictive.hpp"
#include "uq/regression_predictive.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace kbnn {

// Which passes: samples [first, first + count), pass s keyed by (seed, 2^31 + s,
// global row), over batches of `batch` rows (capped at the model's reserved rows).
struct McPasses {
  std::uint64_t seed = 0;
  int first = 0;
  int count = 0;
  std::int64_t batch = 1000;
  bool sample = true;  // false: the posterior-mean network (no noise)
  double temperature = 1;  // p_s = softmax(logits / T) (eval.temperature; 1 leaves the bits)
  ThreadShape shape = native_shape;  // of the kernels that sum or store the passes
  std::function<void(double)> progress;  // if set: the fraction done, after every batch
};

// Rows [first, first + count) of a data set on the device whose row 0 is row
// `global_first` of the whole set: noise is keyed by the global row, so how rows are
// spread over ranks changes nothing. Batches start at `first`.
struct RowRange {
  std::int64_t global_first = 0;
  std::int64_t first = 0;
  std::int64_t count = 0;
};

// Per-row sums over the passes added so far, on the device. Untempered sums hold
// p_s(1) = p_s once: posterior is probs (the same View).
struct PredictiveSums {
  View2<double> probs;      // (rows, classes): sum_s p_s(T), the predictive
  View2<double> posterior;  // (rows, classes): sum_s p_s, the uncertainty split's
  View1<double> entropy;    // (rows): sum_s H[p_s]
  bool tempered = false;    // for passes at T != 1 (posterior apart from probs)
  int passes = 0;           // how many passes the sums hold
  PredictiveSums(std::int64_t rows, int classes, bool tempered = false);  // zero sums
};

// Passes kept apart, on the device, pass j of a block being sample first + j: their
// log-probabilities, which never underflow (a temperature fit reads them; the sums add
// their exp, which is what add_passes adds).
struct PassResults {
  using LogProbs = Kokkos::View<double***, Kokkos::LayoutRight, MemSpace>;
  LogProbs log_probs;      // (rows, passes, classes): log p_s(T)
  LogProbs log_posterior;  // (rows, passes, classes): log p_s (log_probs itself when untempered)
  View2<double> entropy;   // (rows, passes): H[p_s]
  bool tempered = false;
  PassResults(std::int64_t rows, int passes, int classes, bool tempered = false);  // uninitialised
};

// Runs `passes` over `rows` of data and adds each into rows [rows.first, rows.first +
// rows.count) of sums (indexed like data's rows). Passes at T != 1 need tempered sums
// (RuntimeError otherwise), and so do store_passes' results.
void add_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                const McPasses& passes, PredictiveSums& sums);

// The same passes, stored: results(rows.first + i, j, :) = log p_{passes.first + j} of
// row rows.first + i (results indexed like data's rows).
void store_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                  const McPasses& passes, const PassResults& results);

// Adds every pass of `results` into the same rows of sums, in pass order: bit for bit
// what add_passes would have added, in either thread shape (the same numbers).
void add_stored(const PassResults& results, PredictiveSums& sums,
                ThreadShape shape = native_shape);

// The per-row predictions of the sums (on the host), with the labels of data's rows
// [first_row, first_row + sums' rows).
Predictions finish(const PredictiveSums& sums, const DeviceDataset& data, std::int64_t first_row);

// The stored log-probabilities log p_s(T) on the host, as (passes, rows, classes): the
// layout of /predictions/<set>/probs_samples, which holds probabilities_of them.
std::vector<double> sample_log_probabilities(const PassResults& results);
std::vector<float> probabilities_of(const std::vector<double>& log_probs);  // exp, as floats

// ---- Regression (uq/regression_predictive.hpp): the network's rows hold T means and
// then T log-variances; pass s adds N(mu_s, sigma_s^2) of every target into running
// per-row sums, in pass order: Welford's mean and squared deviations of mu_s, the mean
// of sigma_s^2, and a running log-sum-exp of the log-density of the row's targets.

struct RegressionSums {
  View2<double> moments;  // (rows, 3T): mean of mu_s | sum_s (mu_s - mean)^2 | mean of sigma_s^2
  View2<double> density;  // (rows, 2): m = max_s l_s, sum_s exp(l_s - m); l_s = log N(y; mu_s, sigma_s^2)
  int passes = 0;
  RegressionSums(std::int64_t rows, int targets);  // zero sums
};

// Passes kept apart: outputs(i, j, :) is pass j's row i, means then log-variances.
using PassOutputs = Kokkos::View<double***, Kokkos::LayoutRight, MemSpace>;  // (rows, passes, 2T)

// The regression counterparts of add_passes, store_passes, add_stored and finish above,
// indexed alike; add_stored reads the targets of data rows [first_row, first_row + rows).
void add_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                const McPasses& passes, RegressionSums& sums);
void store_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                  const McPasses& passes, const PassOutputs& outputs);
void add_stored(const PassOutputs& outputs, const DeviceDataset& data, std::int64_t first_row,
                RegressionSums& sums);
// The predictions in the targets' units (s undoes the standardization, if any).
RegressionPredictions finish(const RegressionSums& sums, const DeviceDataset& data,
                             std::int64_t first_row, const Standardization& s);
// Every pass's Gaussians on the host in the targets' units, (passes, rows, 2T) floats:
// each target's mean, then each target's variance.
std::vector<float> sample_gaussians(const PassOutputs& outputs, const Standardization& s);

}  // namespace kbnn
