#include "uq/monte_carlo.hpp"

#include "core/error.hpp"
#include "core/math.hpp"
#include "train/gaussian_nll.hpp"
#include "train/log_variance_bound.hpp"
#include "uq/log_softmax.hpp"

#include <algorithm>

namespace kbnn {

namespace {
// Evaluation passes use their own range of the pass counter, disjoint from training steps.
constexpr std::uint32_t first_prediction_pass = 1u << 31;

// H[softmax(row)], summed over the classes in order.
template <class Logits>
KOKKOS_INLINE_FUNCTION double row_entropy(const LogSoftmax<Logits>& log_softmax, int classes) {
  double entropy = 0;
  for (int k = 0; k < classes; ++k) {
    const double log_p = log_softmax(k);
    entropy -= math::exp(log_p) * log_p;
  }
  return entropy;
}

// Every row of the logits: put(row, k, log p_k(T), log p_k) for every class, where
// p = softmax(row) is the posterior's pass and p(T) = softmax(row / T) the calibrated
// one (p itself at T = 1), and entropy(row, H[p]) once per row, in either thread shape.
// Log-probabilities, in double, from the row's largest logit: they never underflow, and
// the adding and the storing kernels add math::exp of the same doubles, so the same bits.
// In the elements shape each of a row's threads recomputes the row's log-softmax
// normalisers (the same arithmetic, so the same numbers) and thread 0 of the row its
// entropy. The one place the adding and the storing kernels compute them, so they agree
// bit for bit.
template <class Put, class Entropy>
void softmax_rows(const char* name, const Matrix<const Real>& logits, double temperature,
                  const Put& put, const Entropy& entropy, ThreadShape shape) {
  using Row = LogSoftmax<Matrix<const Real>>;
  const int classes = static_cast<int>(logits.extent(1));
  const double scale = 1.0 / temperature;
  if (shape == ThreadShape::elements) {
    for_each_element(
        name, logits.extent(0), classes,
        KOKKOS_LAMBDA(const std::int64_t b, const int k) {
          const Row posterior(logits, b, classes, 1.0);
          const double log_p = posterior(k);
          put(b, k, scale == 1.0 ? log_p : Row(logits, b, classes, scale)(k), log_p);
          if (k == 0) entropy(b, row_entropy(posterior, classes));
        },
        shape);
    return;
  }
  Kokkos::parallel_for(
      name, Range(0, logits.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
        const Row posterior(logits, b, classes, 1.0);
        if (scale == 1.0) {
          for (int k = 0; k < classes; ++k) {
            const double log_p = posterior(k);
            put(b, k, log_p, log_p);
          }
        } else {
          const Row tempered(logits, b, classes, scale);
          for (int k = 0; k < classes; ++k) put(b, k, tempered(k), posterior(k));
        }
        entropy(b, row_entropy(posterior, classes));
      });
}

// Passes at T != 1 need somewhere to keep the posterior's probabilities apart.
void check_tempered(const McPasses& passes, bool tempered, const char* what) {
  if (passes.temperature != 1 && !tempered)
    throw RuntimeError(concat(what, ": passes at T = ", passes.temperature,
                              " into untempered sums (construct them tempered)"));
}

// order(i) = i. A free function: nvcc rejects an extended lambda in a constructor.
void fill_identity(const View1<std::int64_t>& order) {
  Kokkos::parallel_for("kbnn::mc::iota", Range(0, order.extent(0)),
                       KOKKOS_LAMBDA(const std::int64_t i) { order(i) = i; });
}

// Scratch of the forward passes over a data set: one batch of inputs and labels, and
// the identity order to gather rows by.
struct BatchScratch {
  View2<Real> x;                 // (batch, features)
  View1<std::int32_t> y;         // (batch)
  View1<std::int64_t> identity;  // (data rows)
  BatchScratch(const DeviceDataset& data, std::int64_t batch)
      : x(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::mc::x"), batch,
          data.shape.size()),
        y("kbnn::mc::y", batch),
        identity("kbnn::mc::identity", data.count()) {
    fill_identity(identity);
  }
};

// One forward pass over `rows` of data, in batches of scratch.x's rows from rows.first;
// on_logits(logits, first) gets each batch's logits (batch rows, classes) and the data
// row of the batch's first row.
template <class OnLogits>
void forward_rows(Sequential<Real>& model, const DeviceDataset& data, BatchScratch& scratch,
                  PassContext ctx, const RowRange& rows, OnLogits&& on_logits) {
  const std::int64_t batch = std::int64_t(scratch.x.extent(0));
  const std::int64_t features = std::int64_t(scratch.x.extent(1));
  for (std::int64_t done = 0; done < rows.count; done += batch) {
    const std::int64_t n = std::min(batch, rows.count - done);
    const std::int64_t first = rows.first + done;
    auto xb = as_matrix(scratch.x, n, features);
    gather_batch<Real>(data, scratch.identity, first, xb,
                       Kokkos::subview(scratch.y, Kokkos::make_pair(std::int64_t(0), n)));
    ctx.first_example = rows.global_first + first;
    on_logits(model.forward(xb, ctx), first);
  }
}

// Every pass of `passes` over `rows`: on_logits(logits, first, j) for pass j (sample
// passes.first + j), batch by batch.
template <class OnLogits>
void run_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                const McPasses& passes, OnLogits&& on_logits) {
  const std::int64_t batch = std::max<std::int64_t>(
      1, std::min<std::int64_t>(passes.batch, model.max_batch()));
  BatchScratch scratch(data, batch);
  const double work = double(passes.count) * double(rows.count);  // rows to pass
  for (int j = 0; j < passes.count; ++j) {
    PassContext ctx{passes.seed, first_prediction_pass + std::uint32_t(passes.first + j), 0,
                    passes.sample};
    ctx.backward_follows = false;
    forward_rows(model, data, scratch, ctx, rows,
                 [&](const Matrix<const Real>& logits, std::int64_t first) {
                   on_logits(logits, first, j);
                   const double done = double(j) * double(rows.count) +
                                       double(first - rows.first + std::int64_t(logits.extent(0)));
                   if (passes.progress) passes.progress(done / work);
                 });
  }
}

}  // namespace

PredictiveSums::PredictiveSums(std::int64_t rows, int classes, bool tempered)
    : probs("kbnn::mc::prob_sum", rows, classes),
      posterior(tempered ? View2<double>("kbnn::mc::posterior_sum", rows, classes) : probs),
      entropy("kbnn::mc::entropy_sum", rows),
      tempered(tempered) {}

PassResults::PassResults(std::int64_t rows, int passes, int classes, bool tempered)
    : log_probs(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::mc::pass_log_probs"), rows,
                passes, classes),
      log_posterior(tempered ? LogProbs(Kokkos::view_alloc(Kokkos::WithoutInitializing,
                                                           "kbnn::mc::pass_log_posterior"),
                                        rows, passes, classes)
                             : log_probs),
      entropy(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::mc::pass_entropy"), rows,
              passes),
      tempered(tempered) {}

void add_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                const McPasses& passes, PredictiveSums& sums) {
  check_tempered(passes, sums.tempered, "add_passes");
  const auto prob_sum = sums.probs;
  const auto posterior_sum = sums.posterior;
  const auto entropy_sum = sums.entropy;
  const bool tempered = sums.tempered;
  const auto add_batch = [&](const Matrix<const Real>& logits, std::int64_t first, int) {
    softmax_rows(
        "kbnn::mc::add_pass", logits, passes.temperature,
        KOKKOS_LAMBDA(const std::int64_t b, const int k, const double log_p_t, const double log_p) {
          prob_sum(first + b, k) += math::exp(log_p_t);
          if (tempered) posterior_sum(first + b, k) += math::exp(log_p);
        },
        KOKKOS_LAMBDA(const std::int64_t b, const double h) { entropy_sum(first + b) += h; },
        passes.shape);
  };
  run_passes(model, data, rows, passes, add_batch);
  sums.passes += passes.count;
}

void store_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                  const McPasses& passes, const PassResults& results) {
  check_tempered(passes, results.tempered, "store_passes");
  const auto log_probs = results.log_probs;
  const auto log_posterior = results.log_posterior;
  const auto entropy = results.entropy;
  const bool tempered = results.tempered;
  const auto store_batch = [&](const Matrix<const Real>& logits, std::int64_t first, int j) {
    softmax_rows(
        "kbnn::mc::store_pass", logits, passes.temperature,
        KOKKOS_LAMBDA(const std::int64_t b, const int k, const double log_p_t, const double log_p) {
          log_probs(first + b, j, k) = log_p_t;
          if (tempered) log_posterior(first + b, j, k) = log_p;
        },
        KOKKOS_LAMBDA(const std::int64_t b, const double h) { entropy(first + b, j) = h; },
        passes.shape);
  };
  run_passes(model, data, rows, passes, store_batch);
}

void add_stored(const PassResults& results, PredictiveSums& sums, ThreadShape shape) {
  if (results.tempered && !sums.tempered)
    throw RuntimeError("add_stored: tempered passes into untempered sums");
  const auto log_probs = results.log_probs;
  const auto log_posterior = results.log_posterior;
  const auto entropy = results.entropy;
  const auto prob_sum = sums.probs;
  const auto posterior_sum = sums.posterior;
  const auto entropy_sum = sums.entropy;
  const bool tempered = sums.tempered;
  const int passes = static_cast<int>(log_probs.extent(1));
  for_each_element(
      "kbnn::mc::add_stored", log_probs.extent(0), static_cast<int>(log_probs.extent(2)),
      KOKKOS_LAMBDA(const std::int64_t i, const int k) {
        for (int j = 0; j < passes; ++j) prob_sum(i, k) += math::exp(log_probs(i, j, k));
        if (tempered)
          for (int j = 0; j < passes; ++j) posterior_sum(i, k) += math::exp(log_posterior(i, j, k));
        if (k == 0)
          for (int j = 0; j < passes; ++j) entropy_sum(i) += entropy(i, j);
      },
      shape);
  sums.passes += passes;
}

Predictions finish(const PredictiveSums& sums, const DeviceDataset& data, std::int64_t first_row) {
  const std::int64_t n = std::int64_t(sums.probs.extent(0));
  const int classes = static_cast<int>(sums.probs.extent(1));
  const auto probs = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.probs);
  const auto posterior =
      sums.tempered ? Kokkos::create_mirror_view_and_copy(HostSpace(), sums.posterior) : probs;
  const auto entropy = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.entropy);
  const auto labels = Kokkos::create_mirror_view_and_copy(
      HostSpace(), Kokkos::subview(data.labels, Kokkos::make_pair(first_row, first_row + n)));
  return predictions_from_sums(probs.data(), posterior.data(), entropy.data(), labels.data(), n,
                               classes, sums.passes);
}

std::vector<double> sample_log_probabilities(const PassResults& results) {
  const auto log_p = Kokkos::create_mirror_view_and_copy(HostSpace(), results.log_probs);
  const std::size_t rows = log_p.extent(0), passes = log_p.extent(1), classes = log_p.extent(2);
  std::vector<double> out(log_p.size());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < passes; ++j)
      for (std::size_t k = 0; k < classes; ++k) out[(j * rows + i) * classes + k] = log_p(i, j, k);
  return out;
}

std::vector<float> probabilities_of(const std::vector<double>& log_probs) {
  std::vector<float> p(log_probs.size());
  for (std::size_t e = 0; e < p.size(); ++e) p[e] = float(std::exp(log_probs[e]));
  return p;
}

// ---- regression

namespace {

// Pass n (1 for the first) of row `row` into the sums: out(k) is the network's row
// (T means, then T log-variances), y(t) the row's targets. The one place both the adding
// and the stored paths update the sums, so they agree bit for bit.
template <class Out, class Targets>
KOKKOS_INLINE_FUNCTION void add_gaussian_pass(const Out& out, const Targets& y, int targets, int n,
                                              const View2<double>& moments,
                                              const View2<double>& density, std::int64_t row) {
  double log_density = 0;
  for (int t = 0; t < targets; ++t) {
    const double mu = out(t), s = bounded_log_variance(out(targets + t));
    const double variance = math::exp(s);
    const double delta = mu - moments(row, t);
    moments(row, t) += delta / n;
    moments(row, targets + t) += delta * (mu - moments(row, t));
    moments(row, 2 * targets + t) += (variance - moments(row, 2 * targets + t)) / n;
    const double r = double(y(t)) - mu;
    log_density -= half_log_two_pi + 0.5 * s + 0.5 * r * r / variance;
  }
  // log-sum-exp from the largest term so far.
  if (n == 1) {
    density(row, 0) = log_density;
    density(row, 1) = 1;
  } else if (log_density > density(row, 0)) {
    density(row, 1) = density(row, 1) * math::exp(density(row, 0) - log_density) + 1;
    density(row, 0) = log_density;
  } else {
    density(row, 1) += math::exp(log_density - density(row, 0));
  }
}

}  // namespace

RegressionSums::RegressionSums(std::int64_t rows, int targets)
    : moments("kbnn::mc::moments", rows, 3 * targets), density("kbnn::mc::density", rows, 2) {}

void add_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                const McPasses& passes, RegressionSums& sums) {
  const auto moments = sums.moments;
  const auto density = sums.density;
  const auto targets = data.targets;
  const int width = data.target_dim(), done = sums.passes;
  const auto add_batch = [&](const Matrix<const Real>& out, std::int64_t first, int j) {
    Kokkos::parallel_for(
        "kbnn::mc::add_gaussian_pass", Range(0, out.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
          const std::int64_t row = first + b;
          add_gaussian_pass([&](int k) { return double(out(b, k)); },
                            [&](int t) { return targets(row, t); }, width, done + j + 1, moments,
                            density, row);
        });
  };
  run_passes(model, data, rows, passes, add_batch);
  sums.passes += passes.count;
}

void store_passes(Sequential<Real>& model, const DeviceDataset& data, const RowRange& rows,
                  const McPasses& passes, const PassOutputs& outputs) {
  const auto store_batch = [&](const Matrix<const Real>& out, std::int64_t first, int j) {
    for_each_element(
        "kbnn::mc::store_outputs", out.extent(0), static_cast<int>(out.extent(1)),
        KOKKOS_LAMBDA(const std::int64_t b, const int k) {
          outputs(first + b, j, k) = double(out(b, k));
        },
        passes.shape);
  };
  run_passes(model, data, rows, passes, store_batch);
}

void add_stored(const PassOutputs& outputs, const DeviceDataset& data, std::int64_t first_row,
                RegressionSums& sums) {
  const auto moments = sums.moments;
  const auto density = sums.density;
  const auto targets = data.targets;
  const int width = data.target_dim(), done = sums.passes;
  const int passes = static_cast<int>(outputs.extent(1));
  Kokkos::parallel_for(
      "kbnn::mc::add_stored_gaussians", Range(0, outputs.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) {
        for (int j = 0; j < passes; ++j)
          add_gaussian_pass([&](int k) { return outputs(i, j, k); },
                            [&](int t) { return targets(first_row + i, t); }, width,
                            done + j + 1, moments, density, i);
      });
  sums.passes += passes;
}

RegressionPredictions finish(const RegressionSums& sums, const DeviceDataset& data,
                             std::int64_t first_row, const Standardization& s) {
  const std::int64_t n = std::int64_t(sums.moments.extent(0));
  const auto moments = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.moments);
  const auto density = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.density);
  const auto targets = Kokkos::create_mirror_view_and_copy(
      HostSpace(), Kokkos::subview(data.targets, Kokkos::make_pair(first_row, first_row + n),
                                   Kokkos::ALL()));
  return regression_predictions_from_sums(moments.data(), density.data(), targets.data(), n,
                                          data.target_dim(), sums.passes, s);
}

std::vector<float> sample_gaussians(const PassOutputs& outputs, const Standardization& s) {
  const auto o = Kokkos::create_mirror_view_and_copy(HostSpace(), outputs);
  const std::size_t rows = o.extent(0), passes = o.extent(1), width = o.extent(2);
  const int targets = int(width / 2);
  std::vector<float> out(o.size());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < passes; ++j)
      for (int t = 0; t < targets; ++t) {
        const double scale = target_scale(s, t);
        float* row = &out[(j * rows + i) * width];
        row[t] = float(target_value(s, t, o(i, j, t)));
        const double s_t = bounded_log_variance(o(i, j, targets + t));
        row[targets + t] = float(std::exp(s_t) * scale * scale);
      }
  return out;
}

}  // namespace kbnn
