#include "uq/predictive.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace kbnn {

double entropy_of_mean(const double* prob_sum, int classes, int samples) {
  double entropy = 0;
  for (int k = 0; k < classes; ++k) {
    const double p = prob_sum[k] / samples;
    if (p > 0) entropy -= p * std::log(p);
  }
  return entropy;
}

Predictions predictions_from_sums(const double* prob_sum, const double* posterior_sum,
                                  const double* entropy_sum, const std::int32_t* labels,
                                  std::int64_t n, int classes, int samples) {
  Predictions out;
  out.samples = samples;
  out.count = n;
  out.classes = classes;
  out.probs_mean.resize(n * classes);
  out.predicted.resize(n);
  out.label.assign(labels, labels + n);
  out.predictive_entropy.resize(n);
  out.aleatoric.resize(n);
  out.epistemic.resize(n);
  out.label_nll.resize(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* probs = prob_sum + i * classes;
    const std::int32_t y = labels[i];
    out.label_nll[i] = y < 0 ? std::numeric_limits<double>::quiet_NaN()
                             : -std::log(std::max(probs[y] / samples, 1e-300));
    int best = 0;
    for (int k = 0; k < classes; ++k) {
      const double p = probs[k] / samples;
      out.probs_mean[i * classes + k] = float(p);
      if (p > probs[best] / samples) best = k;
    }
    const double entropy = entropy_of_mean(posterior_sum + i * classes, classes, samples);
    const double aleatoric = entropy_sum[i] / samples;
    out.predicted[i] = best;
    out.predictive_entropy[i] = float(entropy);
    out.aleatoric[i] = float(aleatoric);
    // Mutual information is >= 0; rounding can make the difference slightly negative.
    out.epistemic[i] = float(std::max(0.0, entropy - aleatoric));
  }
  return out;
}

std::array<double, calibration_bins + 1> calibration_bin_edges() {
  std::array<double, calibration_bins + 1> edges{};
  for (int b = 0; b <= calibration_bins; ++b) edges[b] = double(b) / calibration_bins;
  return edges;
}

// Layout of the sums: the scalars of Sum, then per calibration bin the fields of BinSum.
namespace {
enum Sum {
  n_rows, n_labeled, n_correct, sum_nll, sum_brier, sum_entropy, sum_aleatoric, sum_epistemic,
  n_scalars
};
enum BinSum { bin_rows, bin_correct, bin_confidence, bin_fields };

template <class Sums>
auto& bin_sum(Sums& sums, int bin, BinSum field) {
  return sums[n_scalars + bin_fields * bin + field];
}
}  // namespace

std::vector<double> metric_sums(const Predictions& pr) {
  if (std::int64_t(pr.label_nll.size()) != pr.count)
    throw RuntimeError(concat("metric_sums: ", pr.label_nll.size(), " label NLLs for ",
                              pr.count, " rows"));
  std::vector<double> s(n_scalars + bin_fields * calibration_bins, 0.0);
  for (std::int64_t i = 0; i < pr.count; ++i) {
    const float* p = &pr.probs_mean[i * pr.classes];
    s[n_rows] += 1;
    s[sum_entropy] += pr.predictive_entropy[i];
    s[sum_aleatoric] += pr.aleatoric[i];
    s[sum_epistemic] += pr.epistemic[i];
    const int y = pr.label[i];
    if (y < 0) continue;  // an unlabeled row: no metric that needs the label
    const bool hit = pr.predicted[i] == y;
    s[n_labeled] += 1;
    s[n_correct] += hit;
    s[sum_nll] += pr.label_nll[i];
    for (int k = 0; k < pr.classes; ++k) {
      const double diff = p[k] - (k == y ? 1.0 : 0.0);
      s[sum_brier] += diff * diff;
    }
    // Equal-width confidence bins on (0, 1], as the peer and Guo et al. 2017.
    const double confidence = p[pr.predicted[i]];
    const int bin = std::clamp(int(std::ceil(confidence * calibration_bins)) - 1, 0,
                               calibration_bins - 1);
    bin_sum(s, bin, bin_rows) += 1;
    bin_sum(s, bin, bin_correct) += hit;
    bin_sum(s, bin, bin_confidence) += confidence;
  }
  return s;
}

Metrics metrics_from_sums(const std::vector<double>& s) {
  Metrics m;
  const double n = s[n_rows];
  for (int b = 0; b < calibration_bins; ++b) {
    const double count = bin_sum(s, b, bin_rows);
    constexpr double empty = std::numeric_limits<double>::quiet_NaN();
    m.bin_count[b] = count;
    m.bin_accuracy[b] = count > 0 ? bin_sum(s, b, bin_correct) / count : empty;
    m.bin_confidence[b] = count > 0 ? bin_sum(s, b, bin_confidence) / count : empty;
  }
  m.labeled = s[n_labeled];
  if (n == 0) return m;
  m.mean_entropy = s[sum_entropy] / n;
  m.mean_aleatoric = s[sum_aleatoric] / n;
  m.mean_epistemic = s[sum_epistemic] / n;
  const double labeled = s[n_labeled];
  if (labeled == 0) {
    m.accuracy = m.nll = m.brier = m.ece = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  m.accuracy = s[n_correct] / labeled;
  m.nll = s[sum_nll] / labeled;
  m.brier = s[sum_brier] / labeled;
  for (int b = 0; b < calibration_bins; ++b)
    m.ece += std::abs(bin_sum(s, b, bin_correct) - bin_sum(s, b, bin_confidence)) / labeled;
  return m;
}

}  // namespace kbnn
