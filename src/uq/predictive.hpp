// The Monte-Carlo predictive and its uncertainty, from sums over the passes
// (uq/monte_carlo.hpp makes them; docs/design.md, "Prediction"):
//   p(y|x) ~ (1/S) sum_s softmax(f(x; w_s) / T),  w_s ~ q(w), fresh weights and signs per pass
// and the uncertainty of the posterior, from its own passes p_s = softmax(f(x; w_s))
// (the same at T = 1; a temperature calibrates the probabilities, not the split):
//   predictive entropy  H[pbar], pbar = (1/S) sum_s p_s  (total uncertainty)
//   aleatoric           (1/S) sum_s H[p_s]  (expected entropy: noise in the data)
//   epistemic           H[pbar] - aleatoric (mutual information: what more data would fix)
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace kbnn {

// Expected calibration error and the reliability diagram use 15 equal-width confidence
// bins: bin b holds the examples whose confidence (the largest predictive probability)
// lies in (b/15, (b+1)/15]; bin 0 also holds confidence 0.
constexpr int calibration_bins = 15;
// The bins' edges: 0, 1/15, ..., 1.
std::array<double, calibration_bins + 1> calibration_bin_edges();

struct Predictions {
  std::int64_t count = 0;
  int classes = 0;
  std::vector<float> probs_mean;          // (count, classes): (1/S) sum_s p_s(T)
  std::vector<std::int32_t> predicted;    // (count): arg-max of probs_mean
  std::vector<std::int32_t> label;        // (count)
  std::vector<float> predictive_entropy;  // (count), nats: H[pbar], untempered
  std::vector<float> aleatoric;           // (count), nats
  std::vector<float> epistemic;           // (count), nats
  // (count), nats: -log p(y|x) of the label from the double sums, so a probability
  // below float's range (sharp passes, a small T) keeps its value; NaN without a label.
  std::vector<double> label_nll;
  double seconds = 0;                     // wall time of the S passes
  int samples = 0;
};

// Over the rows with labels (accuracy to ECE; NaN when none has one) and over all rows
// (the entropies).
struct Metrics {
  double labeled = 0;  // rows with a label
  double accuracy = 0;
  double nll = 0;    // mean -log p(y|x) of the predictive mean (Predictions::label_nll)
  double brier = 0;  // mean sum_k (p_k - onehot_k)^2
  double ece = 0;    // expected calibration error, 15 equal-width confidence bins
  double mean_entropy = 0, mean_aleatoric = 0, mean_epistemic = 0;
  // The reliability diagram, per calibration bin (ECE = sum_b count_b / n *
  // |accuracy_b - confidence_b|). Empty bins have confidence and accuracy NaN.
  std::array<double, calibration_bins> bin_count{};       // examples in the bin
  std::array<double, calibration_bins> bin_confidence{};  // mean confidence in the bin
  std::array<double, calibration_bins> bin_accuracy{};    // fraction classified right
};

// H[p] in nats of p = prob_sum / samples, one row of `classes` sums (0 log 0 = 0), in
// double: the predictive entropy of predictions_from_sums.
double entropy_of_mean(const double* prob_sum, int classes, int samples);

// Per-row predictions from the sums over `samples` passes, on the host: prob_sum
// (count, classes) = sum_s p_s(T), posterior_sum (count, classes) = sum_s p_s (prob_sum
// itself when untempered), entropy_sum (count) = sum_s H[p_s].
Predictions predictions_from_sums(const double* prob_sum, const double* posterior_sum,
                                  const double* entropy_sum, const std::int32_t* labels,
                                  std::int64_t count, int classes, int samples);

// Metrics are built from sums, so that ranks holding different rows can add theirs
// (Communicator::allreduce_sum) before metrics_from_sums. The sums include each
// calibration bin's count, hits and confidence, so the bins reduce with the rest. Rows
// labelled -1 (a set without labels) add only to the entropies.
std::vector<double> metric_sums(const Predictions& predictions);
Metrics metrics_from_sums(const std::vector<double>& sums);

}  // namespace kbnn
