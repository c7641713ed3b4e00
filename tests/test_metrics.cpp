// Metrics from per-row predictions (uq/predictive.hpp): hand-computed values, and rows
// without a label (-1: new data, an OOD set without labels), which count in the mean
// entropies only.
#include "catch.hpp"

#include "uq/predictive.hpp"

#include <cmath>

namespace {

// Two classes; row i predicts probs[i] for class 0, with entropies e[i] (made up: the
// metrics only average them).
kbnn::Predictions rows(const std::vector<float>& p0, const std::vector<std::int32_t>& labels) {
  kbnn::Predictions p;
  p.count = std::int64_t(p0.size());
  p.classes = 2;
  for (std::size_t i = 0; i < p0.size(); ++i) {
    p.probs_mean.push_back(p0[i]);
    p.probs_mean.push_back(1 - p0[i]);
    p.predicted.push_back(p0[i] >= 0.5f ? 0 : 1);
    p.label.push_back(labels[i]);
    const float p_label = labels[i] == 0 ? p0[i] : 1 - p0[i];
    p.label_nll.push_back(labels[i] < 0 ? std::nan("") : -std::log(double(p_label)));
    p.predictive_entropy.push_back(0.5f + float(i));
    p.aleatoric.push_back(0.25f + float(i));
    p.epistemic.push_back(0.25f);
  }
  return p;
}

kbnn::Metrics metrics(const kbnn::Predictions& p) {
  return kbnn::metrics_from_sums(kbnn::metric_sums(p));
}

}  // namespace

TEST_CASE("Metrics of labeled rows by hand", "[metrics]") {
  // Row 0: p(y) = 0.75, right; row 1: p(y) = 0.25 (label 0, predicted 1), wrong.
  const kbnn::Metrics m = metrics(rows({0.75f, 0.25f}, {0, 0}));
  CHECK(m.labeled == 2);
  CHECK(m.accuracy == 0.5);
  CHECK(m.nll == Approx(-(std::log(0.75) + std::log(0.25)) / 2).epsilon(1e-7));
  CHECK(m.brier == Approx((2 * 0.0625 + 2 * 0.5625) / 2).epsilon(1e-7));
  // Both rows have confidence 0.75 (bin 11 of 15): accuracy 0.5 there, ECE 0.25.
  CHECK(m.ece == Approx(0.25).epsilon(1e-7));
  CHECK(m.mean_entropy == Approx(1.0).epsilon(1e-7));
}

TEST_CASE("Rows without labels add to the entropies only", "[metrics]") {
  const kbnn::Metrics labeled = metrics(rows({0.75f, 0.25f}, {0, 0}));
  const kbnn::Metrics mixed = metrics(rows({0.75f, 0.25f, 0.9f, 0.6f}, {0, 0, -1, -1}));
  CHECK(mixed.labeled == 2);
  CHECK(mixed.accuracy == labeled.accuracy);
  CHECK(mixed.nll == labeled.nll);
  CHECK(mixed.brier == labeled.brier);
  CHECK(mixed.ece == labeled.ece);
  CHECK(mixed.bin_count == labeled.bin_count);
  CHECK(mixed.mean_entropy == Approx((0.5 + 1.5 + 2.5 + 3.5) / 4).epsilon(1e-7));
  CHECK(mixed.mean_aleatoric == Approx((0.25 + 1.25 + 2.25 + 3.25) / 4).epsilon(1e-7));

  const kbnn::Metrics none = metrics(rows({0.75f, 0.25f}, {-1, -1}));
  CHECK(none.labeled == 0);
  CHECK(std::isnan(none.accuracy));
  CHECK(std::isnan(none.nll));
  CHECK(std::isnan(none.ece));
  CHECK(none.mean_entropy == Approx(1.0).epsilon(1e-7));
  CHECK(none.mean_epistemic == Approx(0.25).epsilon(1e-7));
}

TEST_CASE("NLL of a label below float's range: -log p(y|x) from the double sums", "[metrics]") {
  // Sharp passes (or a small temperature) give the label p = 1e-50 in double; probs_mean,
  // float, holds 0 there, whose floor 1e-300 would have made the NLL 690.8.
  const int samples = 4;
  const std::vector<double> prob_sum = {samples * (1 - 1e-50), samples * 1e-50,   // row 0: y = 1
                                        samples * 0.25, samples * 0.75};          // row 1: y = 1
  const std::vector<double> entropy_sum = {0, 0};
  const std::vector<std::int32_t> labels = {1, 1};
  const kbnn::Predictions p = kbnn::predictions_from_sums(
      prob_sum.data(), prob_sum.data(), entropy_sum.data(), labels.data(), 2, 2, samples);
  CHECK(p.probs_mean[1] == 0.0f);  // the float column: underflowed
  CHECK(p.label_nll[0] == Approx(50 * std::log(10.0)).epsilon(1e-12));
  const kbnn::Metrics m = metrics(p);
  CHECK(m.nll == Approx((50 * std::log(10.0) - std::log(0.75)) / 2).epsilon(1e-12));
}
