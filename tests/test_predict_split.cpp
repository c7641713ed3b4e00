// The Monte-Carlo predictor (uq/monte_carlo.hpp) and `kbnn predict`'s two ways to
// spread it over ranks. The predictive is checked against one computed here from the
// model's logits alone (host softmax in double, passes keyed (seed, 2^31 + s, global
// row) as docs/design.md says); the splits and the two ways to sum must agree bit for
// bit. Run alone (1 rank) and by ctest under mpiexec with 2 and 3 ranks ([mpi]); 37
// rows, batch 8 and S = 5 split unevenly over 2 and 3 ranks, so uneven shards of both
// rows and samples are covered.
#include "catch.hpp"

#include "data/device_dataset.hpp"
#include "model/build_model.hpp"
#include "parallel/communicator.hpp"
#include "small_model.hpp"
#include "uq/evaluate.hpp"
#include "uq/monte_carlo.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace {

using kbnn::test::small_model;
using kbnn::test::synthetic_images;

constexpr int samples = 5, batch = 8, classes = 10;
constexpr std::uint64_t seed = 42;

std::unique_ptr<kbnn::Sequential<kbnn::Real>> model_for(const kbnn::DeviceDataset& rows) {
  auto model = kbnn::build_model<kbnn::Real>(small_model(), rows.shape);
  model->finalize(99, batch);  // the same parameters on every rank: keyed by the seed
  return model;
}

kbnn::Evaluation run(kbnn::PredictSplit split, bool keep_samples, const kbnn::Communicator& comm,
                     double temperature = 1,
                     const std::function<void(double)>& progress = {}) {
  const kbnn::Dataset all = synthetic_images();
  const auto [lo, hi] = kbnn::rows_to_load(all.count, split, comm);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  auto model = model_for(rows);
  kbnn::EvalOptions options;
  options.samples = samples;
  options.batch = batch;
  options.seed = seed;
  options.split = split;
  options.keep_samples = keep_samples;
  options.temperature = temperature;
  options.progress = progress;
  return kbnn::evaluate(*model, rows, lo, all.count, options, comm);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_same_bits(const kbnn::Evaluation& a, const kbnn::Evaluation& b) {
  CHECK(a.first == b.first);
  CHECK(a.rows.count == b.rows.count);
  CHECK(same_bits(a.rows.probs_mean, b.rows.probs_mean));
  CHECK(a.rows.predicted == b.rows.predicted);
  CHECK(a.rows.label == b.rows.label);
  CHECK(same_bits(a.rows.predictive_entropy, b.rows.predictive_entropy));
  CHECK(same_bits(a.rows.aleatoric, b.rows.aleatoric));
  CHECK(same_bits(a.rows.epistemic, b.rows.epistemic));
  CHECK(same_bits(a.metrics.accuracy, b.metrics.accuracy));
  CHECK(same_bits(a.metrics.nll, b.metrics.nll));
  CHECK(same_bits(a.metrics.ece, b.metrics.ece));
  CHECK(same_bits(a.metrics.mean_epistemic, b.metrics.mean_epistemic));
}

// The logits (rows, classes) of pass s over `rows`, whose row 0 is global row lo,
// run by the model directly: keyed (seed, 2^31 + s, global row), in batches from row 0.
std::vector<double> logits_of(kbnn::Sequential<kbnn::Real>& model, const kbnn::DeviceDataset& rows,
                              std::int64_t lo, int s) {
  const std::int64_t n = rows.count(), features = rows.shape.size();
  kbnn::View1<std::int64_t> order("order", n);
  Kokkos::parallel_for(
      "iota", kbnn::Range(0, n), KOKKOS_LAMBDA(const std::int64_t i) { order(i) = i; });
  kbnn::View2<kbnn::Real> x("x", batch, features);
  kbnn::View1<std::int32_t> y("y", batch);
  std::vector<double> out;
  for (std::int64_t first = 0; first < n; first += batch) {
    auto xb = kbnn::as_matrix(x, std::min<std::int64_t>(batch, n - first), features);
    kbnn::gather_batch<kbnn::Real>(rows, order, first, xb, y);
    const kbnn::PassContext ctx{seed, (1u << 31) + std::uint32_t(s), lo + first, true};
    const auto logits = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                            model.forward(xb, ctx));
    out.insert(out.end(), logits.data(), logits.data() + logits.size());
  }
  return out;
}

// softmax of one row of logits / temperature, in double.
std::vector<double> softmax(const double* logits, double temperature) {
  const double top = *std::max_element(logits, logits + classes);
  std::vector<double> p(classes);
  double total = 0;
  for (int k = 0; k < classes; ++k) total += p[k] = std::exp((logits[k] - top) / temperature);
  for (double& v : p) v /= total;
  return p;
}

double entropy_of(const std::vector<double>& p) {
  double h = 0;
  for (const double v : p) h -= v * std::log(v);
  return h;
}

// The predictive of this rank's rows [lo, hi) at a temperature from the model's logits
// alone, on the host in double: probs_mean and sample_probs (S, rows, classes) of the
// tempered passes, the entropies of the untempered ones.
struct Reference {
  std::vector<double> probs_mean, entropy, aleatoric, sample_probs;
};

Reference reference(std::int64_t lo, std::int64_t hi, double temperature) {
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(synthetic_images(), lo, hi - lo));
  auto model = model_for(rows);
  const std::int64_t n = hi - lo;
  Reference r{std::vector<double>(n * classes), std::vector<double>(n), std::vector<double>(n), {}};
  std::vector<double> posterior_mean(n * classes);
  for (int s = 0; s < samples; ++s) {
    const std::vector<double> logits = logits_of(*model, rows, lo, s);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::vector<double> p = softmax(&logits[i * classes], temperature);
      const std::vector<double> q = softmax(&logits[i * classes], 1);
      r.sample_probs.insert(r.sample_probs.end(), p.begin(), p.end());
      for (int k = 0; k < classes; ++k) {
        r.probs_mean[i * classes + k] += p[k] / samples;
        posterior_mean[i * classes + k] += q[k] / samples;
      }
      r.aleatoric[i] += entropy_of(q) / samples;
    }
  }
  for (std::int64_t i = 0; i < n; ++i)
    r.entropy[i] = entropy_of(std::vector<double>(&posterior_mean[i * classes],
                                                  &posterior_mean[(i + 1) * classes]));
  return r;
}

}  // namespace

TEST_CASE("The predictive is the mean of softmax(logits / T) over the passes, keyed by sample "
          "and global row; its uncertainty split is the untempered passes'",
          "[mpi][predict]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const double temperature = GENERATE(1.0, 0.4, 2.5);
  INFO("temperature " << temperature);
  const auto e = run(kbnn::PredictSplit::samples, true, comm, temperature);
  const auto [lo, hi] = comm.shard(37);
  REQUIRE(e.first == lo);
  REQUIRE(e.rows.count == hi - lo);
  REQUIRE(e.rows.samples == samples);
  const Reference r = reference(lo, hi, temperature);
  for (std::size_t i = 0; i < r.probs_mean.size(); ++i)
    CHECK(e.rows.probs_mean[i] == Approx(r.probs_mean[i]).epsilon(1e-6).margin(1e-7));
  for (std::size_t i = 0; i < r.sample_probs.size(); ++i)
    CHECK(std::exp(e.sample_log_probs[i]) ==
          Approx(r.sample_probs[i]).epsilon(1e-6).margin(1e-7));
  for (std::int64_t i = 0; i < e.rows.count; ++i) {
    CHECK(e.rows.predictive_entropy[i] == Approx(r.entropy[i]).epsilon(1e-6));
    CHECK(e.rows.aleatoric[i] == Approx(r.aleatoric[i]).epsilon(1e-6));
    CHECK(e.rows.epistemic[i] == Approx(std::max(0.0, r.entropy[i] - r.aleatoric[i])).margin(1e-6));
    CHECK(e.rows.label[i] == (lo + i) % 10);
  }
  // The samples differ (fresh weights per pass), so the check above means something.
  bool samples_differ = false;
  const std::int64_t n = e.rows.count;
  for (std::int64_t i = 0; i < n * classes; ++i)
    samples_differ = samples_differ || r.sample_probs[i] != r.sample_probs[n * classes + i];
  CHECK((n == 0 || samples_differ));
}

TEST_CASE("Ranks splitting the samples predict the same bits as ranks splitting the examples",
          "[mpi][predict]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const double temperature = GENERATE(1.0, 0.4);
  INFO("temperature " << temperature);
  const auto by_rows = run(kbnn::PredictSplit::examples, true, comm, temperature);
  const auto by_samples = run(kbnn::PredictSplit::samples, true, comm, temperature);
  check_same_bits(by_rows, by_samples);
  CHECK(same_bits(by_rows.sample_log_probs, by_samples.sample_log_probs));
  const auto scores_rows = kbnn::gather_ood_scores(by_rows.rows, 37, comm);
  const auto scores_samples = kbnn::gather_ood_scores(by_samples.rows, 37, comm);
  for (const kbnn::OodScore score : kbnn::ood_scores) {
    REQUIRE(scores_rows[score].size() == 37);
    CHECK(same_bits(scores_rows[score], scores_samples[score]));
  }
  // Passes added as they are made, with no per-sample copy kept: the same bits again.
  const auto added = run(kbnn::PredictSplit::examples, false, comm, temperature);
  CHECK(added.sample_log_probs.empty());
  check_same_bits(added, by_rows);
}

TEST_CASE("A temperature calibrates the probabilities and leaves the uncertainty split and its "
          "OOD scores as they are at T = 1, bit for bit",
          "[mpi][predict]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto split = GENERATE(kbnn::PredictSplit::examples, kbnn::PredictSplit::samples);
  const bool keep_samples = GENERATE(false, true);
  INFO("split " << kbnn::word_of(split) << ", keep_samples " << keep_samples);
  const auto untempered = run(split, keep_samples, comm, 1);
  const auto tempered = run(split, keep_samples, comm, 0.4);
  CHECK(same_bits(tempered.rows.predictive_entropy, untempered.rows.predictive_entropy));
  CHECK(same_bits(tempered.rows.aleatoric, untempered.rows.aleatoric));
  CHECK(same_bits(tempered.rows.epistemic, untempered.rows.epistemic));
  CHECK(same_bits(tempered.metrics.mean_epistemic, untempered.metrics.mean_epistemic));
  CHECK(same_bits(tempered.metrics.mean_entropy, untempered.metrics.mean_entropy));
  const auto scores_t = kbnn::gather_ood_scores(tempered.rows, 37, comm);
  const auto scores_1 = kbnn::gather_ood_scores(untempered.rows, 37, comm);
  CHECK(same_bits(scores_t[kbnn::OodScore::entropy], scores_1[kbnn::OodScore::entropy]));
  CHECK(same_bits(scores_t[kbnn::OodScore::mutual_information],
                  scores_1[kbnn::OodScore::mutual_information]));
  // ... while the probabilities, and all that is read from them, are T's.
  CHECK_FALSE(same_bits(scores_t[kbnn::OodScore::max_probability],
                        scores_1[kbnn::OodScore::max_probability]));
  CHECK(tempered.metrics.nll != untempered.metrics.nll);
  CHECK(tempered.metrics.ece != untempered.metrics.ece);
  if (tempered.rows.count > 0)
    CHECK_FALSE(same_bits(tempered.rows.probs_mean, untempered.rows.probs_mean));
}

TEST_CASE("Passes add into the same sums in any grouping, stored or not, in either thread shape",
          "[predict]") {
  const kbnn::DeviceDataset rows = kbnn::to_device(synthetic_images());
  auto model = model_for(rows);
  const kbnn::RowRange all{0, 0, rows.count()};
  const auto passes = [](int first, int count, kbnn::ThreadShape shape) {
    kbnn::McPasses p;
    p.seed = seed;
    p.first = first;
    p.count = count;
    p.batch = batch;
    p.shape = shape;
    return p;
  };
  const double temperature = GENERATE(1.0, 0.4);
  const bool tempered = temperature != 1;
  INFO("temperature " << temperature);
  const auto at = [&](kbnn::McPasses p) {
    p.temperature = temperature;
    return p;
  };
  const auto rows_shape = kbnn::ThreadShape::rows;
  kbnn::PredictiveSums at_once(rows.count(), classes, tempered);
  kbnn::add_passes(*model, rows, all, at(passes(0, samples, rows_shape)), at_once);
  const kbnn::Predictions a = kbnn::finish(at_once, rows, 0);
  CHECK(a.samples == samples);
  const auto same = [&](const kbnn::Predictions& b) {
    CHECK(b.samples == samples);
    CHECK(same_bits(a.probs_mean, b.probs_mean));
    CHECK(same_bits(a.predictive_entropy, b.predictive_entropy));
    CHECK(same_bits(a.aleatoric, b.aleatoric));
    CHECK(same_bits(a.epistemic, b.epistemic));
  };
  for (const auto shape : {kbnn::ThreadShape::rows, kbnn::ThreadShape::elements}) {
    INFO((shape == rows_shape ? "rows" : "elements") << " shape");
    kbnn::PredictiveSums in_parts(rows.count(), classes, tempered);
    kbnn::PredictiveSums stored(rows.count(), classes, tempered);
    kbnn::add_passes(*model, rows, all, at(passes(0, 2, shape)), in_parts);
    kbnn::add_passes(*model, rows, all, at(passes(2, samples - 2, shape)), in_parts);
    const kbnn::PassResults first_two(rows.count(), 2, classes, tempered);
    const kbnn::PassResults rest(rows.count(), samples - 2, classes, tempered);
    kbnn::store_passes(*model, rows, all, at(passes(0, 2, shape)), first_two);
    kbnn::store_passes(*model, rows, all, at(passes(2, samples - 2, shape)), rest);
    kbnn::add_stored(first_two, stored, shape);
    kbnn::add_stored(rest, stored, shape);
    same(kbnn::finish(in_parts, rows, 0));
    same(kbnn::finish(stored, rows, 0));
  }
  if (tempered) {  // tempered passes have nowhere to keep the posterior's probabilities
    kbnn::PredictiveSums plain(rows.count(), classes);
    CHECK_THROWS_WITH(kbnn::add_passes(*model, rows, all, at(passes(0, 1, rows_shape)), plain),
                      Catch::Contains("untempered sums"));
    const kbnn::PassResults one(rows.count(), 1, classes);
    CHECK_THROWS_WITH(kbnn::store_passes(*model, rows, all, at(passes(0, 1, rows_shape)), one),
                      Catch::Contains("untempered sums"));
    const kbnn::PassResults stored_one(rows.count(), 1, classes, true);
    CHECK_THROWS_WITH(kbnn::add_stored(stored_one, plain), Catch::Contains("untempered sums"));
  }
  // finish() reads the labels of the rows it is given.
  const kbnn::Predictions tail = kbnn::finish(kbnn::PredictiveSums(3, classes), rows, 34);
  CHECK(tail.label == std::vector<std::int32_t>{4, 5, 6});
}

TEST_CASE("evaluate() reports its progress as rising fractions up to 1, in either split",
          "[predict][mpi]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  for (auto split : {kbnn::PredictSplit::examples, kbnn::PredictSplit::samples}) {
    for (bool keep : {false, true}) {
      DYNAMIC_SECTION("split " << int(split) << ", samples kept " << keep) {
        std::vector<double> fractions;
        run(split, keep, comm, 1, [&](double f) { fractions.push_back(f); });
        INFO(fractions.size() << " reports");
        // 37 rows in batches of 8 on up to 3 ranks: several batches per pass, 5 passes.
        REQUIRE(fractions.size() >= std::size_t(samples));
        CHECK(fractions.front() > 0);
        for (std::size_t i = 1; i < fractions.size(); ++i) CHECK(fractions[i] > fractions[i - 1]);
        CHECK(fractions.back() == Approx(1.0).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("evaluate() refuses rows that do not match its split", "[predict]") {
  const kbnn::Communicator comm(MPI_COMM_SELF);
  const kbnn::Dataset all = synthetic_images();
  const kbnn::DeviceDataset part = kbnn::to_device(kbnn::slice(all, 0, 10));
  auto model = model_for(part);
  kbnn::EvalOptions options;
  options.split = kbnn::PredictSplit::samples;
  REQUIRE_THROWS_WITH(
      kbnn::evaluate(*model, part, 0, all.count, options, comm),
      kbnn::test::contains("split samples needs rows [0, 37) on rank 0, got [0, 10)"));
}
