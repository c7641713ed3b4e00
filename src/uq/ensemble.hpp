// The predictive distribution of an ensemble of K independently trained members
// (docs/design.md, "Ensembles"): the mixture over members x samples,
//   p(y|x) = pbar = (1/K) sum_k pbar_k,   pbar_k = (1/S) sum_s p_{k,s},
// and its uncertainty split three ways per example:
//   aleatoric        A = (1/KS) sum_{k,s} H[p_{k,s}]         expected entropy
//   within-member    W = (1/K) sum_k H[pbar_k] - A            the mean of the members'
//                                                             mutual information
//   between-member   B = H[pbar] - (1/K) sum_k H[pbar_k]      the members disagree
// so H[pbar] = A + W + B, and W + B is the mixture's mutual information (epistemic).
// At a temperature T the predictive averages the tempered passes p_{k,s}(T) and the
// split stays that of the untempered p_{k,s} (uq/predictive.hpp).
// Every member's passes go into one PredictiveSums (uq/monte_carlo.hpp), so the mixture's
// Predictions come from the same finish() as a single model's; one more per-row sum,
// sum_k H[pbar_k], gives the split.
#pragma once

#include "core/thread_shape.hpp"
#include "uq/evaluate.hpp"

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace kbnn {

// Sums over the members added so far, on the device.
struct EnsembleSums {
  PredictiveSums mixture;        // sum_{k,s} p_{k,s}(T) and p_{k,s} (rows, classes),
                                 // sum_{k,s} H[p_{k,s}] (rows)
  View1<double> member_entropy;  // (rows): sum_k H[pbar_k]
  int members = 0;
  EnsembleSums(std::int64_t rows, int classes, bool tempered = false);  // zero sums
};

// Adds one member's sums (all of its passes) into the ensemble's: its probabilities and
// entropies into the mixture, its predictive entropy H[pbar_k] into member_entropy.
// Every member must bring the same number of passes, and tempered members need
// tempered ensemble sums. Either thread shape gives the same numbers (in the elements
// shape thread 0 of a row sums the row's entropies).
void add_member(const PredictiveSums& member, EnsembleSums& ensemble,
                ThreadShape shape = native_shape);

// The split of the mixture's mutual information, per row (nats), each >= 0 (rounding
// can leave W + B an ulp from Predictions::epistemic).
struct EpistemicSplit {
  std::vector<float> within;   // W
  std::vector<float> between;  // B
};

// Per-row W and B of the sums' rows (on the host).
EpistemicSplit epistemic_split(const EnsembleSums& sums);

// An ensemble's evaluation on one data set: the mixture as an Evaluation (rows, metrics;
// with keep_samples every member's S passes, member-major: (K*S, rows, classes)) and
// the split, per row and its means over all rows of all ranks.
struct EnsembleEvaluation {
  Evaluation mixture;
  EpistemicSplit split;  // this rank's rows
  double mean_within = 0, mean_between = 0;
  int members = 0;
};

// Collective. For k = 0, ..., members - 1 in order, on every rank: ready(k) puts member
// k's parameters into `model` (it may be collective) and returns its seed, the key of
// its noise; then its S passes run as evaluate()'s would (options.split), and add into
// the ensemble's sums. `data` as for evaluate().
EnsembleEvaluation evaluate_ensemble(Sequential<Real>& model, int members,
                                     const std::function<std::uint64_t(int)>& ready,
                                     const DeviceDataset& data, std::int64_t data_first,
                                     std::int64_t total, const EvalOptions& options,
                                     const Communicator& comm);

// What the evaluations of both likelihoods' ensembles share (uq/regression_ensemble.hpp).
// For k = 0, ..., members - 1 in order: ready(k) loads member k and returns its seed;
// then add(member) runs its passes with `options` keyed by that seed, their progress
// scaled to the member's share of the work. Returns the seconds of the passes (fenced),
// not of ready()'s reading.
double run_members(int members, const std::function<std::uint64_t(int)>& ready,
                   const EvalOptions& options, const std::function<void(const EvalOptions&)>& add);

// Collective: the means over `count` values of every rank's values of two quantities
// (0 for no values).
std::pair<double, double> means_over_ranks(const std::vector<float>& a,
                                           const std::vector<float>& b, double count,
                                           const Communicator& comm);

}  // namespace kbnn
