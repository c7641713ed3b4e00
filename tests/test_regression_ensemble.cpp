// Ensembles of regression models (uq/regression_ensemble.hpp; docs/design.md,
// "Ensembles"): hand-set members' passes pooled in both thread shapes against the
// brute-force mixture over all K*S passes, computed here in long double in the targets'
// units; one member against the model alone, bit for bit; both prediction splits alike,
// and the mixture recomputed from every member's per-pass Gaussians. The [mpi] cases run
// again under mpiexec with 2 and 3 ranks.
#include "catch.hpp"

#include "app/deck.hpp"
#include "data/device_dataset.hpp"
#include "model/build_model.hpp"
#include "thread_shapes.hpp"
#include "uq/regression_ensemble.hpp"

#include <cmath>
#include <cstring>
#include <memory>
#include <tuple>
#include <vector>

namespace {

constexpr long double pi = 3.141592653589793238462643383279503L;

long double normal_density(long double y, long double mean, long double variance) {
  return std::exp(-(y - mean) * (y - mean) / (2 * variance)) / std::sqrt(2 * pi * variance);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

constexpr int kRows = 2, kTargets = 2, kPasses = 3, kMembers = 3;
// The network's numbers (standardized units) of member k, row i, pass j: T means, then T
// log-variances. Members 0 and 1 have the same mean of row 0's first target; member 2 is
// sure of itself and far from the others: in row 0 far from
// the targets too, in row 1 right at them, where its density is the largest (the
// merged log-sum-exp's other branch).
const double kOut[kMembers][kRows][kPasses][4] = {
    {{{0.5, -1.0, -0.2, 0.3}, {0.9, -0.4, 0.1, -0.5}, {0.1, -0.7, -1.0, 0.0}},
     {{-1.5, 2.0, 0.4, 0.4}, {-1.1, 2.6, 0.6, -0.2}, {-2.0, 1.8, 0.2, 0.1}}},
    {{{0.4, -0.9, -0.3, 0.2}, {0.8, -0.6, 0.0, -0.4}, {0.3, -0.8, -0.8, 0.1}},
     {{-0.2, 1.0, -0.5, 0.3}, {0.1, 1.4, -0.2, 0.0}, {-0.4, 0.7, -0.9, 0.2}}},
    {{{2.5, 1.0, -2.0, -1.0}, {2.2, 1.3, -1.5, -1.2}, {2.9, 0.8, -1.8, -0.9}},
     {{-1.2, 2.2, -3.0, -2.5}, {-1.25, 2.15, -2.8, -2.6}, {-1.18, 2.25, -3.1, -2.4}}}};
const float kY[kRows][kTargets] = {{0.7f, -0.9f}, {-1.2f, 2.2f}};

kbnn::Standardization standardization() {
  kbnn::Standardization s;
  s.target_mean = {10.0, -1.0};
  s.target_std = {2.0, 0.5};
  return s;
}

kbnn::DeviceDataset two_rows() {
  kbnn::Dataset d;
  d.count = kRows;
  d.height = d.width = d.channels = 1;
  d.float_features = true;
  d.values = {0, 0};
  d.target_dim = kTargets;
  d.targets = {kY[0][0], kY[0][1], kY[1][0], kY[1][1]};
  return kbnn::to_device(d);
}

// Member k's sums, its passes added as a single model's are.
kbnn::RegressionSums member_sums(int k, const kbnn::DeviceDataset& data) {
  kbnn::PassOutputs outputs("outputs", kRows, kPasses, 2 * kTargets);
  auto host = Kokkos::create_mirror_view(outputs);
  for (int i = 0; i < kRows; ++i)
    for (int j = 0; j < kPasses; ++j)
      for (int c = 0; c < 2 * kTargets; ++c) host(i, j, c) = kOut[k][i][j][c];
  Kokkos::deep_copy(outputs, host);
  kbnn::RegressionSums sums(kRows, kTargets);
  kbnn::add_stored(outputs, data, 0, sums);
  return sums;
}

// What the brute force says of one row and target over members [0, members), in the
// targets' units.
struct Expected {
  long double mean = 0, aleatoric = 0, epistemic = 0, within = 0, between = 0;
};

Expected expected(int members, int i, int t, const kbnn::Standardization& s) {
  const long double scale = s.target_std[t], shift = s.target_mean[t];
  const auto mu = [&](int k, int j) { return kOut[k][i][j][t] * scale + shift; };
  Expected e;
  std::vector<long double> member_mean(members, 0);
  for (int k = 0; k < members; ++k)
    for (int j = 0; j < kPasses; ++j) {
      member_mean[k] += mu(k, j) / kPasses;
      e.mean += mu(k, j) / (members * kPasses);
      e.aleatoric += std::exp((long double)kOut[k][i][j][kTargets + t]) * scale * scale /
                     (members * kPasses);
    }
  for (int k = 0; k < members; ++k) {
    for (int j = 0; j < kPasses; ++j) {
      e.epistemic += (mu(k, j) - e.mean) * (mu(k, j) - e.mean) / (members * kPasses);
      e.within += (mu(k, j) - member_mean[k]) * (mu(k, j) - member_mean[k]) / (members * kPasses);
    }
    e.between += (member_mean[k] - e.mean) * (member_mean[k] - e.mean) / members;
  }
  return e;
}

// -log (1/K) sum_k (1/S) sum_s prod_t N(y_t; mu_kst, sigma_kst^2), targets' units.
long double expected_nll(int members, int i, const kbnn::Standardization& s) {
  long double mixture = 0;
  for (int k = 0; k < members; ++k)
    for (int j = 0; j < kPasses; ++j) {
      long double product = 1;
      for (int t = 0; t < kTargets; ++t) {
        const long double scale = s.target_std[t], shift = s.target_mean[t];
        product *= normal_density(kY[i][t] * scale + shift, kOut[k][i][j][t] * scale + shift,
                                  std::exp((long double)kOut[k][i][j][kTargets + t]) * scale * scale);
      }
      mixture += product / (members * kPasses);
    }
  return -std::log(mixture);
}

}  // namespace

TEST_CASE("Regression ensembles of two and three hand-set members: the mixture of all K*S "
          "passes, its variance split A + W + B",
          "[ensemble][uq]") {
  const kbnn::DeviceDataset data = two_rows();
  const kbnn::Standardization s = standardization();
  for (const int members : {2, 3}) {
    INFO(members << " members");
    kbnn::RegressionEnsembleSums sums(kRows, kTargets);
    const auto [predictions, within, between] = same_in_both_shapes([&](kbnn::ThreadShape shape) {
      sums = kbnn::RegressionEnsembleSums(kRows, kTargets);
      for (int k = 0; k < members; ++k) kbnn::add_member(member_sums(k, data), sums, shape);
      const kbnn::RegressionPredictions r = kbnn::finish(sums.mixture, data, 0, s);
      const kbnn::RegressionSplit split = kbnn::regression_split(sums, s);
      return std::make_tuple(std::make_tuple(r.mean, r.std, r.aleatoric, r.epistemic, r.nll),
                             split.within, split.between);
    });
    const auto& [mean, sd, aleatoric, epistemic, nll] = predictions;
    REQUIRE(sums.members == members);
    REQUIRE(sums.mixture.passes == members * kPasses);
    for (int i = 0; i < kRows; ++i) {
      CHECK(nll[i] == Approx(double(expected_nll(members, i, s))).epsilon(1e-12));
      for (int t = 0; t < kTargets; ++t) {
        INFO("row " << i << ", target " << t);
        const Expected e = expected(members, i, t, s);
        const int at = i * kTargets + t;
        CHECK(mean[at] == Approx(double(e.mean)).epsilon(1e-6));
        CHECK(aleatoric[at] == Approx(double(e.aleatoric)).epsilon(1e-6));
        CHECK(epistemic[at] == Approx(double(e.epistemic)).epsilon(1e-6));
        CHECK(sd[at] == Approx(double(std::sqrt(e.aleatoric + e.epistemic))).epsilon(1e-6));
        CHECK(within[at] == Approx(double(e.within)).epsilon(1e-6).margin(1e-12));
        CHECK(between[at] == Approx(double(e.between)).epsilon(1e-6).margin(1e-12));
        CHECK(within[at] + between[at] == Approx(epistemic[at]).epsilon(1e-6));
      }
    }
    // Members 0 and 1 agree on the mean of row 0's first target (0.5); they disagree in
    // row 1, where most of the epistemic variance is between them.
    if (members == 2) CHECK(between[0] == 0);
    CHECK(between[2] > 3 * within[2]);
  }
  kbnn::RegressionEnsembleSums sums(kRows, kTargets);
  kbnn::add_member(member_sums(0, data), sums);
  kbnn::RegressionSums two_passes(kRows, kTargets);
  two_passes.passes = 2;
  CHECK_THROWS_WITH(kbnn::add_member(two_passes, sums), Catch::Contains("2 passes after 1 members of 3"));
}

namespace {

constexpr int kSamples = 4, kBatch = 8, kFeatures = 3;

// 29 rows of 3 features and 2 targets (a smooth function of the features).
kbnn::Dataset regression_rows() {
  kbnn::Dataset d;
  d.source = "synthetic regression";
  d.count = 29;
  d.height = d.width = 1;
  d.channels = kFeatures;
  d.float_features = true;
  d.target_dim = kTargets;
  for (std::int64_t i = 0; i < d.count; ++i) {
    const float x[kFeatures] = {std::sin(0.3f * i), std::cos(0.7f * i), 0.1f * (i % 7) - 0.3f};
    d.values.insert(d.values.end(), x, x + kFeatures);
    d.targets.push_back(x[0] + 0.5f * x[1]);
    d.targets.push_back(x[2] * x[2] - 0.2f);
  }
  return d;
}

// A heteroscedastic Flipout MLP and the flat parameters of three initialisations.
struct RegressionMembers {
  std::unique_ptr<kbnn::Sequential<kbnn::Real>> model;
  std::vector<std::vector<float>> parameters;
  std::vector<std::uint64_t> seeds = {42, 7, 1234};

  RegressionMembers() {
    kbnn::ModelConfig config;
    config.likelihood = kbnn::Likelihood::gaussian_heteroscedastic;
    for (const char* line : {"dense out=8 estimator=flipout", "relu", "dense out=4 estimator=flipout"})
      config.layers.push_back(kbnn::parse_layer(line));
    for (const std::uint64_t init : {99, 5, 17}) {
      model = kbnn::build_model<kbnn::Real>(config, kbnn::Shape{1, 1, kFeatures});
      model->finalize(init, kBatch);
      const auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                         model->parameters().values());
      parameters.emplace_back(v.data(), v.data() + v.size());
    }
  }
  std::uint64_t ready(int k) {  // member k's parameters into the model; its seed
    const Kokkos::View<const float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>
        host(parameters[k].data(), parameters[k].size());
    Kokkos::deep_copy(model->parameters().values(), host);
    return seeds[k];
  }
};

kbnn::EvalOptions regression_options(kbnn::PredictSplit split) {
  kbnn::EvalOptions o;
  o.samples = kSamples;
  o.batch = kBatch;
  o.split = split;
  o.keep_samples = true;
  return o;
}

// The first `members` of RegressionMembers over this rank's rows for `split`.
kbnn::RegressionEnsembleEvaluation regression_ensemble(int members, kbnn::PredictSplit split,
                                                       const kbnn::Communicator& comm) {
  const kbnn::Dataset all = regression_rows();
  const auto [lo, hi] = kbnn::rows_to_load(all.count, split, comm);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  RegressionMembers m;
  return kbnn::evaluate_regression_ensemble(*m.model, members, [&](int k) { return m.ready(k); },
                                            rows, lo, all.count, regression_options(split),
                                            standardization(), comm);
}

}  // namespace

TEST_CASE("A regression ensemble of one member predicts what the model alone does, bit for bit",
          "[mpi][ensemble]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const kbnn::Dataset all = regression_rows();
  const auto [lo, hi] = comm.shard(all.count);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  RegressionMembers m;
  kbnn::EvalOptions o = regression_options(kbnn::PredictSplit::examples);
  o.seed = m.ready(1);
  const kbnn::RegressionEvaluation alone =
      kbnn::evaluate_regression(*m.model, rows, lo, all.count, o, standardization(), comm);
  const kbnn::RegressionEnsembleEvaluation one = kbnn::evaluate_regression_ensemble(
      *m.model, 1, [&](int) { return m.ready(1); }, rows, lo, all.count, o, standardization(), comm);
  const kbnn::RegressionPredictions &a = alone.rows, &e = one.mixture.rows;
  CHECK(same_bits(e.mean, a.mean));
  CHECK(same_bits(e.std, a.std));
  CHECK(same_bits(e.aleatoric, a.aleatoric));
  CHECK(same_bits(e.epistemic, a.epistemic));
  CHECK(same_bits(e.nll, a.nll));
  CHECK(same_bits(one.mixture.sample_gaussians, alone.sample_gaussians));
  CHECK(one.mixture.metrics.nll == alone.metrics.nll);
  CHECK(one.mixture.metrics.rmse == alone.metrics.rmse);
  // One member: all of the epistemic variance is within it.
  CHECK(same_bits(one.split.within, a.epistemic));
  CHECK(one.mean_between == 0);
}

TEST_CASE("A regression ensemble: both splits give the same bits, and the mixture follows "
          "from every member's per-pass Gaussians",
          "[mpi][ensemble]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto by_rows = regression_ensemble(kMembers, kbnn::PredictSplit::examples, comm);
  const auto by_samples = regression_ensemble(kMembers, kbnn::PredictSplit::samples, comm);
  const kbnn::RegressionPredictions &a = by_rows.mixture.rows, &b = by_samples.mixture.rows;
  CHECK(same_bits(a.mean, b.mean));
  CHECK(same_bits(a.epistemic, b.epistemic));
  CHECK(same_bits(a.nll, b.nll));
  CHECK(same_bits(by_rows.split.within, by_samples.split.within));
  CHECK(same_bits(by_rows.split.between, by_samples.split.between));
  CHECK(same_bits(by_rows.mixture.sample_gaussians, by_samples.mixture.sample_gaussians));
  CHECK(by_rows.mean_between == by_samples.mean_between);
  CHECK(a.samples == kMembers * kSamples);
  CHECK(by_rows.mean_between > 0);
  CHECK(by_rows.mixture.metrics.mean_epistemic ==
        Approx(by_rows.mean_within + by_rows.mean_between).epsilon(1e-5));

  // (K*S, rows, 2T), member-major: each member's S passes' means, then variances.
  const std::vector<float>& g = by_rows.mixture.sample_gaussians;
  const std::size_t rows = std::size_t(a.count), passes = kMembers * kSamples;
  REQUIRE(g.size() == passes * rows * 2 * kTargets);
  for (std::size_t i = 0; i < rows; ++i)
    for (int t = 0; t < kTargets; ++t) {
      const auto mu = [&](std::size_t p) { return double(g[(p * rows + i) * 2 * kTargets + t]); };
      double mean = 0, aleatoric = 0, epistemic = 0, between = 0;
      for (std::size_t p = 0; p < passes; ++p) {
        mean += mu(p) / passes;
        aleatoric += double(g[(p * rows + i) * 2 * kTargets + kTargets + t]) / passes;
      }
      for (std::size_t p = 0; p < passes; ++p) epistemic += (mu(p) - mean) * (mu(p) - mean) / passes;
      for (int k = 0; k < kMembers; ++k) {
        double member = 0;
        for (int j = 0; j < kSamples; ++j) member += mu(k * kSamples + j) / kSamples;
        between += (member - mean) * (member - mean) / kMembers;
      }
      const std::size_t at = i * kTargets + t;
      INFO("row " << i << ", target " << t);
      CHECK(a.mean[at] == Approx(mean).epsilon(1e-5));
      CHECK(a.aleatoric[at] == Approx(aleatoric).epsilon(1e-5));
      CHECK(a.epistemic[at] == Approx(epistemic).epsilon(1e-4).margin(1e-6));
      CHECK(by_rows.split.between[at] == Approx(between).epsilon(1e-4).margin(1e-6));
    }
}
