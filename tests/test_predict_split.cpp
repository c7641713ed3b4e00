// `kbnn predict`'s two ways to spread over ranks give the same bits: ranks split the
// examples, or ranks split the Monte-Carlo samples and exchange them. Run alone
// (1 rank) and by ctest under mpiexec with 2 and 3 ranks ([mpi]); 37 rows, batch 8
// and S = 5 split unevenly over 2 and 3 ranks, so uneven shards of both rows and
// samples are covered.
#include "catch.hpp"

#include "data/device_dataset.hpp"
#include "model/build_model.hpp"
#include "parallel/communicator.hpp"
#include "small_model.hpp"
#include "uq/evaluate.hpp"

#include <cstring>

namespace {

using kbnn::test::small_model;
using kbnn::test::synthetic_images;

kbnn::Evaluation run(kbnn::PredictSplit split, bool keep_samples, const kbnn::Communicator& comm) {
  const kbnn::Dataset all = synthetic_images();
  const auto [lo, hi] = kbnn::rows_to_load(all.count, split, comm);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  auto model = kbnn::build_model<kbnn::Real>(small_model(), rows.shape);
  model->finalize(99, 8);  // the same parameters on every rank: keyed by the seed
  kbnn::EvalOptions options;
  options.samples = 5;
  options.batch = 8;
  options.seed = 42;
  options.split = split;
  options.keep_samples = keep_samples;
  return kbnn::evaluate(*model, rows, lo, all.count, options, comm);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("Ranks splitting the samples predict the same bits as ranks splitting the examples",
          "[mpi][predict]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto by_rows = run(kbnn::PredictSplit::examples, true, comm);
  const auto by_samples = run(kbnn::PredictSplit::samples, true, comm);
  const auto [lo, hi] = comm.shard(37);
  REQUIRE(by_rows.first == lo);
  REQUIRE(by_samples.first == lo);
  REQUIRE(by_rows.rows.count == hi - lo);
  REQUIRE(by_samples.rows.count == hi - lo);
  CHECK(same_bits(by_rows.rows.probs_mean, by_samples.rows.probs_mean));
  CHECK(by_rows.rows.predicted == by_samples.rows.predicted);
  CHECK(by_rows.rows.label == by_samples.rows.label);
  CHECK(same_bits(by_rows.rows.predictive_entropy, by_samples.rows.predictive_entropy));
  CHECK(same_bits(by_rows.rows.aleatoric, by_samples.rows.aleatoric));
  CHECK(same_bits(by_rows.rows.epistemic, by_samples.rows.epistemic));
  CHECK(same_bits(by_rows.sample_probs, by_samples.sample_probs));
  CHECK(same_bits(by_rows.metrics.accuracy, by_samples.metrics.accuracy));
  CHECK(same_bits(by_rows.metrics.nll, by_samples.metrics.nll));
  CHECK(same_bits(by_rows.metrics.ece, by_samples.metrics.ece));
  CHECK(same_bits(by_rows.metrics.mean_epistemic, by_samples.metrics.mean_epistemic));
  const auto scores_rows = kbnn::gather_ood_scores(by_rows.rows, 37, comm);
  const auto scores_samples = kbnn::gather_ood_scores(by_samples.rows, 37, comm);
  for (std::size_t i = 0; i < scores_rows.size(); ++i) {
    REQUIRE(scores_rows[i].size() == 37);
    CHECK(same_bits(scores_rows[i], scores_samples[i]));
  }
  // Per-sample probabilities are not all alike (the samples differ) and average to
  // the predictive mean.
  const auto& s = by_samples.sample_probs;
  const std::int64_t n = by_samples.rows.count, classes = 10;
  REQUIRE(std::int64_t(s.size()) == 5 * n * classes);
  bool samples_differ = false;
  for (std::int64_t i = 0; i < n * classes; ++i) {
    double mean = 0;
    for (int k = 0; k < 5; ++k) mean += s[k * n * classes + i];
    CHECK(mean / 5 == Approx(by_samples.rows.probs_mean[i]).epsilon(1e-5));
    samples_differ = samples_differ || s[i] != s[n * classes + i];
  }
  CHECK((n == 0 || samples_differ));
}

TEST_CASE("evaluate() with ranks splitting the examples is predict() on each shard",
          "[mpi][predict]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto e = run(kbnn::PredictSplit::examples, false, comm);
  CHECK(e.sample_probs.empty());
  const kbnn::Dataset all = synthetic_images();
  const auto [lo, hi] = comm.shard(all.count);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  auto model = kbnn::build_model<kbnn::Real>(small_model(), rows.shape);
  model->finalize(99, 8);
  const kbnn::Predictions p = kbnn::predict(*model, rows, lo, 5, 8, 42);
  CHECK(same_bits(p.probs_mean, e.rows.probs_mean));
  CHECK(same_bits(p.epistemic, e.rows.epistemic));
  CHECK(same_bits(p.aleatoric, e.rows.aleatoric));
}

TEST_CASE("evaluate() refuses rows that do not match its split", "[predict]") {
  const kbnn::Communicator comm(MPI_COMM_SELF);
  const kbnn::Dataset all = synthetic_images();
  const kbnn::DeviceDataset part = kbnn::to_device(kbnn::slice(all, 0, 10));
  auto model = kbnn::build_model<kbnn::Real>(small_model(), part.shape);
  model->finalize(99, 8);
  kbnn::EvalOptions options;
  options.split = kbnn::PredictSplit::samples;
  REQUIRE_THROWS_WITH(kbnn::evaluate(*model, part, 0, all.count, options, comm),
                      kbnn::test::contains("split samples needs rows [0, 37) on rank 0, got [0, 10)"));
}
