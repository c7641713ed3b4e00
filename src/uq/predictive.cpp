#include "uq/predictive.hpp"

#include "core/math.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace kbnn {

namespace {
// Evaluation passes use their own range of the pass counter, disjoint from training steps.
constexpr std::uint32_t first_prediction_pass = 1u << 31;

// log softmax of row b of the logits, in double, from the largest logit.
template <class Logits>
struct LogSoftmax {
  const Logits& logits;
  std::int64_t b;
  double top = 0, log_total = 0;
  KOKKOS_INLINE_FUNCTION LogSoftmax(const Logits& l, std::int64_t row, int classes)
      : logits(l), b(row) {
    top = logits(b, 0);
    for (int k = 1; k < classes; ++k) top = logits(b, k) > top ? double(logits(b, k)) : top;
    double total = 0;
    for (int k = 0; k < classes; ++k) total += math::exp(double(logits(b, k)) - top);
    log_total = math::log(total);
  }
  KOKKOS_INLINE_FUNCTION double operator()(int k) const {
    return double(logits(b, k)) - top - log_total;
  }
};

// order(i) = i. A free function: nvcc rejects an extended lambda in a constructor.
void fill_identity(const View1<std::int64_t>& order) {
  Kokkos::parallel_for("kbnn::predict::iota", Range(0, order.extent(0)),
                       KOKKOS_LAMBDA(const std::int64_t i) { order(i) = i; });
}

// Scratch of the forward passes over a data set: one batch of inputs and labels, and
// the identity order to gather rows by.
struct BatchScratch {
  View2<Real> x;                 // (batch, features)
  View1<std::int32_t> y;         // (batch)
  View1<std::int64_t> identity;  // (data rows)
  BatchScratch(const DeviceDataset& data, std::int64_t batch)
      : x(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::predict::x"), batch,
          data.shape.size()),
        y("kbnn::predict::y", batch),
        identity("kbnn::predict::identity", data.count()) {
    fill_identity(identity);
  }
};

// One forward pass (`pass`) over rows [first_row, first_row + n) of `data`, in batches
// of scratch.x's rows starting at first_row; on_logits(logits, offset) gets each
// batch's logits (rows, classes) and the batch's first row, relative to first_row.
template <class OnLogits>
void forward_rows(Sequential<Real>& model, const DeviceDataset& data, BatchScratch& scratch,
                  const PassContext& pass, std::int64_t global_first, std::int64_t first_row,
                  std::int64_t n, OnLogits&& on_logits) {
  const std::int64_t batch = std::int64_t(scratch.x.extent(0));
  const std::int64_t features = std::int64_t(scratch.x.extent(1));
  for (std::int64_t first = 0; first < n; first += batch) {
    const std::int64_t rows = std::min(batch, n - first);
    auto xb = as_matrix(scratch.x, rows, features);
    gather_batch<Real>(data, scratch.identity, first_row + first, xb,
                       Kokkos::subview(scratch.y, Kokkos::make_pair(std::int64_t(0), rows)));
    PassContext ctx = pass;
    ctx.first_example = global_first + first_row + first;
    on_logits(model.forward(xb, ctx), first);
  }
}

// Adds softmax(logits) and its entropy to rows [first, first + logits rows) of the sums.
void accumulate_sample(const Matrix<const Real>& logits, std::int64_t first,
                       const View2<double>& prob_sum, const View1<double>& entropy_sum) {
  const int classes = static_cast<int>(logits.extent(1));
  Kokkos::parallel_for(
      "kbnn::predict::accumulate", Range(0, logits.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
        const LogSoftmax<Matrix<const Real>> log_softmax(logits, b, classes);
        double entropy = 0;
        for (int k = 0; k < classes; ++k) {
          const double log_p = log_softmax(k);
          const double p = math::exp(log_p);
          prob_sum(first + b, k) += p;
          entropy -= p * log_p;
        }
        entropy_sum(first + b) += entropy;
      });
}

// Stores softmax(logits) and its entropy as sample s of rows [first, first + rows).
void store_sample(const Matrix<const Real>& logits, std::int64_t first, int s,
                  const Kokkos::View<double***, Kokkos::LayoutRight, MemSpace>& probs,
                  const View2<double>& entropies) {
  const int classes = static_cast<int>(logits.extent(1));
  Kokkos::parallel_for(
      "kbnn::predict_samples::store", Range(0, logits.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t b) {
        const LogSoftmax<Matrix<const Real>> log_softmax(logits, b, classes);
        double entropy = 0;
        for (int k = 0; k < classes; ++k) {
          const double log_p = log_softmax(k);
          const double p = math::exp(log_p);
          probs(s, first + b, k) = p;
          entropy -= p * log_p;
        }
        entropies(s, first + b) = entropy;
      });
}

std::int64_t clamp_batch(const Sequential<Real>& model, std::int64_t batch) {
  return std::max<std::int64_t>(1, std::min<std::int64_t>(batch, model.max_batch()));
}

}  // namespace

Predictions predict(Sequential<Real>& model, const DeviceDataset& data, std::int64_t global_first,
                    int samples, std::int64_t batch, std::uint64_t seed, bool sample) {
  const std::int64_t n = data.count();
  const int classes = static_cast<int>(model.output_shape().size());
  BatchScratch scratch(data, clamp_batch(model, batch));
  View2<double> prob_sum("kbnn::predict::prob_sum", n, classes);  // (n, classes)
  View1<double> entropy_sum("kbnn::predict::entropy_sum", n);     // (n): sum_s H[p_s]

  Kokkos::Timer clock;
  for (int s = 0; s < samples; ++s) {
    PassContext pass{seed, first_prediction_pass + std::uint32_t(s), 0, sample};
    pass.backward_follows = false;
    forward_rows(model, data, scratch, pass, global_first, 0, n,
                 [&](const Matrix<const Real>& logits, std::int64_t first) {
                   accumulate_sample(logits, first, prob_sum, entropy_sum);
                 });
  }
  Kokkos::fence();
  const double seconds = clock.seconds();

  const auto probs = Kokkos::create_mirror_view_and_copy(HostSpace(), prob_sum);
  const auto entropies = Kokkos::create_mirror_view_and_copy(HostSpace(), entropy_sum);
  const auto labels = Kokkos::create_mirror_view_and_copy(HostSpace(), data.labels);
  Predictions out =
      predictions_from_sums(probs.data(), entropies.data(), labels.data(), n, classes, samples);
  out.seconds = seconds;
  return out;
}

void predict_samples(Sequential<Real>& model, const DeviceDataset& data, std::int64_t global_first,
                     std::int64_t first_row, int first_sample, std::int64_t batch,
                     std::uint64_t seed,
                     const Kokkos::View<double***, Kokkos::LayoutRight, MemSpace>& probs,
                     const View2<double>& entropies) {
  const int samples = static_cast<int>(probs.extent(0));
  const std::int64_t n = static_cast<std::int64_t>(probs.extent(1));
  BatchScratch scratch(data, clamp_batch(model, batch));
  for (int s = 0; s < samples; ++s) {
    PassContext pass{seed, first_prediction_pass + std::uint32_t(first_sample + s), 0, true};
    pass.backward_follows = false;
    forward_rows(model, data, scratch, pass, global_first, first_row, n,
                 [&](const Matrix<const Real>& logits, std::int64_t first) {
                   store_sample(logits, first, s, probs, entropies);
                 });
  }
  Kokkos::fence();
}

Predictions predictions_from_sums(const double* prob_sum, const double* entropy_sum,
                                  const std::int32_t* labels, std::int64_t n, int classes,
                                  int samples) {
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
  for (std::int64_t i = 0; i < n; ++i) {
    const double* probs = prob_sum + i * classes;
    double entropy = 0;
    int best = 0;
    for (int k = 0; k < classes; ++k) {
      const double p = probs[k] / samples;
      out.probs_mean[i * classes + k] = float(p);
      if (p > 0) entropy -= p * std::log(p);
      if (p > probs[best] / samples) best = k;
    }
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

// Layout of the sums: n, correct, nll, brier, entropy, aleatoric, epistemic, then per
// calibration bin: count, correct, confidence.
namespace {
enum Sum { n_rows, n_correct, sum_nll, sum_brier, sum_entropy, sum_aleatoric, sum_epistemic, n_scalars };
}  // namespace

std::vector<double> metric_sums(const Predictions& pr) {
  std::vector<double> s(n_scalars + 3 * calibration_bins, 0.0);
  double* bins = s.data() + n_scalars;
  for (std::int64_t i = 0; i < pr.count; ++i) {
    const float* p = &pr.probs_mean[i * pr.classes];
    const int y = pr.label[i];
    const bool hit = pr.predicted[i] == y;
    s[n_rows] += 1;
    s[n_correct] += hit;
    s[sum_nll] -= std::log(std::max(double(p[y]), 1e-300));
    for (int k = 0; k < pr.classes; ++k) {
      const double diff = p[k] - (k == y ? 1.0 : 0.0);
      s[sum_brier] += diff * diff;
    }
    s[sum_entropy] += pr.predictive_entropy[i];
    s[sum_aleatoric] += pr.aleatoric[i];
    s[sum_epistemic] += pr.epistemic[i];
    // Equal-width confidence bins on (0, 1], as the peer and Guo et al. 2017.
    const double confidence = p[pr.predicted[i]];
    const int bin = std::clamp(int(std::ceil(confidence * calibration_bins)) - 1, 0,
                               calibration_bins - 1);
    bins[3 * bin] += 1;
    bins[3 * bin + 1] += hit;
    bins[3 * bin + 2] += confidence;
  }
  return s;
}

Metrics metrics_from_sums(const std::vector<double>& s) {
  Metrics m;
  const double n = s[n_rows];
  const double* bins = s.data() + n_scalars;
  for (int b = 0; b < calibration_bins; ++b) {
    const double count = bins[3 * b];
    constexpr double empty = std::numeric_limits<double>::quiet_NaN();
    m.bin_count[b] = count;
    m.bin_accuracy[b] = count > 0 ? bins[3 * b + 1] / count : empty;
    m.bin_confidence[b] = count > 0 ? bins[3 * b + 2] / count : empty;
  }
  if (n == 0) return m;
  m.accuracy = s[n_correct] / n;
  m.nll = s[sum_nll] / n;
  m.brier = s[sum_brier] / n;
  m.mean_entropy = s[sum_entropy] / n;
  m.mean_aleatoric = s[sum_aleatoric] / n;
  m.mean_epistemic = s[sum_epistemic] / n;
  for (int b = 0; b < calibration_bins; ++b) m.ece += std::abs(bins[3 * b + 1] - bins[3 * b + 2]) / n;
  return m;
}

}  // namespace kbnn
