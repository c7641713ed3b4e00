// The predictive of an ensemble of K regression models (docs/design.md, "Ensembles"):
// the equal mixture of the K*S Gaussians of the members' S passes each. Per row and
// target, with member k's mean m_k, aleatoric variance A_k and epistemic variance E_k
// (uq/regression_predictive.hpp):
//   mean             m = (1/K) sum_k m_k
//   aleatoric        A = (1/K) sum_k A_k
//   within-member    W = (1/K) sum_k E_k             the members' own epistemic variance
//   between-member   B = (1/K) sum_k (m_k - m)^2     the members disagree
//   variance         A + W + B                       (the law of total variance: exact
//                                                     for the K*S passes pooled)
//   log p(y|x) = log (1/K) sum_k p_k(y|x)            (a log-sum-exp over the members)
// Each member's passes go into a RegressionSums of their own (uq/monte_carlo.hpp), which
// add_member pools into the mixture's by the parallel update of Chan, Golub and LeVeque
// (the mean, the sum of squared deviations and the mean variance of the union of two
// sets from each set's) and a merged log-sum-exp of the densities: the mixture's sums
// are those of the K*S passes taken as one set, in double, and finish() makes the
// mixture's predictions as for one model. Two more per-row sums give W and B.
#pragma once

#include "core/thread_shape.hpp"
#include "uq/evaluate.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace kbnn {

// Sums over the members added so far, on the device, in the network's units.
struct RegressionEnsembleSums {
  RegressionSums mixture;  // the K*S passes pooled: moments (rows, 3T), density (rows, 2)
  View2<double> within;    // (rows, T): sum_k M2_k, each member's sum over its passes of
                           // (mu_s - m_k)^2
  View2<double> between;   // (rows, T): sum_k (m_k - m)^2 (Welford over the members' means)
  int members = 0;
  RegressionEnsembleSums(std::int64_t rows, int targets);  // zero sums
};

// Adds one member's sums (all of its passes) into the ensemble's. Every member must
// bring the same number of passes. One thread per (row, target), or per row with the
// targets in order (ThreadShape): the same numbers; the row's density is merged once,
// by its target 0. The first member's sums are copied exactly, so that one member
// predicts what the model alone does, bit for bit.
void add_member(const RegressionSums& member, RegressionEnsembleSums& ensemble,
                ThreadShape shape = native_shape);

// W and B per (row, target), in the targets' units squared (s undoes any
// standardization); W + B is the mixture's epistemic variance to rounding.
struct RegressionSplit {
  std::vector<float> within;   // (rows, T)
  std::vector<float> between;  // (rows, T)
};
RegressionSplit regression_split(const RegressionEnsembleSums& sums, const Standardization& s);

// An ensemble's evaluation on one data set: the mixture as a RegressionEvaluation (rows,
// metrics over K*S passes; with keep_samples every member's S passes' Gaussians,
// member-major: (K*S, rows, 2T)) and the split, per (row, target) and its means over all
// rows and targets of all ranks.
struct RegressionEnsembleEvaluation {
  RegressionEvaluation mixture;
  RegressionSplit split;  // this rank's rows
  double mean_within = 0, mean_between = 0;
  int members = 0;
};

// Collective. For k = 0, ..., members - 1 in order, on every rank: ready(k) puts member
// k's parameters into `model` and returns its seed, the key of its noise; then its S
// passes run as evaluate_regression()'s would (options.split) and add into the
// ensemble's sums. `data` and `s` as for evaluate_regression().
RegressionEnsembleEvaluation evaluate_regression_ensemble(
    Sequential<Real>& model, int members, const std::function<std::uint64_t(int)>& ready,
    const DeviceDataset& data, std::int64_t data_first, std::int64_t total,
    const EvalOptions& options, const Standardization& s, const Communicator& comm);

}  // namespace kbnn
