// Ensembles (docs/design.md, "Ensembles"): the three-way split of the mixture's
// uncertainty on hand-made members (uq/ensemble.hpp, in both thread shapes), the ensemble predictor against a
// single model, rank groups (parallel/rank_groups.hpp) and the members' decks
// (app/run_ensemble.hpp). The [mpi] cases run again under mpiexec with 2 and 3 ranks.
#include "catch.hpp"

#include "app/deck.hpp"
#include "app/run_ensemble.hpp"
#include "data/device_dataset.hpp"
#include "model/build_model.hpp"
#include "parallel/rank_groups.hpp"
#include "small_model.hpp"
#include "thread_shapes.hpp"
#include "uq/ensemble.hpp"

#include <cmath>
#include <cstring>
#include <tuple>

namespace {

using kbnn::test::small_model;
using kbnn::test::synthetic_images;

double entropy(const std::vector<double>& p) {
  double h = 0;
  for (const double v : p) h -= v > 0 ? v * std::log(v) : 0;
  return h;
}

// Sums of the passes `p` (passes, rows, 2 classes), as a PredictiveSums on the device.
kbnn::PredictiveSums sums_of(const std::vector<std::vector<std::vector<double>>>& p) {
  const std::int64_t rows = std::int64_t(p[0].size());
  kbnn::PredictiveSums sums(rows, 2);
  auto probs = Kokkos::create_mirror_view(sums.probs);
  auto entropies = Kokkos::create_mirror_view(sums.entropy);
  Kokkos::deep_copy(probs, 0.0);
  Kokkos::deep_copy(entropies, 0.0);
  for (const auto& pass : p)
    for (std::int64_t i = 0; i < rows; ++i) {
      probs(i, 0) += pass[i][0];
      probs(i, 1) += pass[i][1];
      entropies(i) += entropy(pass[i]);
    }
  Kokkos::deep_copy(sums.probs, probs);
  Kokkos::deep_copy(sums.entropy, entropies);
  sums.passes = int(p.size());
  return sums;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

constexpr int samples = 4, batch = 8;

// A model of small_model() on `rows`, and the flat parameters of two initialisations.
struct TwoMembers {
  std::unique_ptr<kbnn::Sequential<kbnn::Real>> model;
  std::vector<std::vector<float>> parameters;
  std::vector<std::uint64_t> seeds = {42, 7};

  explicit TwoMembers(const kbnn::DeviceDataset& rows) {
    for (const std::uint64_t init : {99, 5}) {
      model = kbnn::build_model<kbnn::Real>(small_model(), rows.shape);
      model->finalize(init, batch);
      const auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                         model->parameters().values());
      parameters.emplace_back(v.data(), v.data() + v.size());
    }
  }
  // ready(k): member k's parameters into the model; its seed.
  std::uint64_t ready(int k) {
    const Kokkos::View<const float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>
        host(parameters[k].data(), parameters[k].size());
    Kokkos::deep_copy(model->parameters().values(), host);
    return seeds[k];
  }
};

kbnn::EvalOptions options(kbnn::PredictSplit split, double temperature = 1) {
  kbnn::EvalOptions o;
  o.samples = samples;
  o.batch = batch;
  o.split = split;
  o.keep_samples = true;
  o.temperature = temperature;
  return o;
}

// An ensemble of `members` of TwoMembers (member k: parameters k % 2, seed k % 2) over
// this rank's rows for `split`.
kbnn::EnsembleEvaluation ensemble_run(int members, kbnn::PredictSplit split,
                                      const kbnn::Communicator& comm, bool same_member = false,
                                      double temperature = 1) {
  const kbnn::Dataset all = synthetic_images();
  const auto [lo, hi] = kbnn::rows_to_load(all.count, split, comm);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  TwoMembers two(rows);
  return kbnn::evaluate_ensemble(
      *two.model, members, [&](int k) { return two.ready(same_member ? 0 : k % 2); }, rows, lo,
      all.count, options(split, temperature), comm);
}

}  // namespace

TEST_CASE("The three-way split of a hand-made two-member ensemble", "[ensemble]") {
  // Rows: 0 members disagree and each is unsure; 1 members agree and are certain of their
  // own answer; 2 each member is certain (its passes agree) but they disagree.
  const std::vector<std::vector<std::vector<double>>> a = {
      {{0.9, 0.1}, {0.6, 0.4}, {0.99, 0.01}}, {{0.7, 0.3}, {0.6, 0.4}, {0.99, 0.01}}};
  const std::vector<std::vector<std::vector<double>>> b = {
      {{0.2, 0.8}, {0.6, 0.4}, {0.01, 0.99}}, {{0.4, 0.6}, {0.6, 0.4}, {0.01, 0.99}}};
  kbnn::EnsembleSums sums(3, 2);
  const auto [within, between] = same_in_both_shapes([&](kbnn::ThreadShape shape) {
    sums = kbnn::EnsembleSums(3, 2);
    kbnn::add_member(sums_of(a), sums, shape);
    kbnn::add_member(sums_of(b), sums, shape);
    REQUIRE(sums.members == 2);
    REQUIRE(sums.mixture.passes == 4);
    const kbnn::EpistemicSplit split = kbnn::epistemic_split(sums);
    return std::make_tuple(split.within, split.between);
  });
  REQUIRE(within.size() == 3);

  for (int i = 0; i < 3; ++i) {
    // By the definitions, passes and members named one by one.
    const std::vector<double> mean_a = {(a[0][i][0] + a[1][i][0]) / 2, (a[0][i][1] + a[1][i][1]) / 2};
    const std::vector<double> mean_b = {(b[0][i][0] + b[1][i][0]) / 2, (b[0][i][1] + b[1][i][1]) / 2};
    const std::vector<double> mixture = {(mean_a[0] + mean_b[0]) / 2, (mean_a[1] + mean_b[1]) / 2};
    const double aleatoric =
        (entropy(a[0][i]) + entropy(a[1][i]) + entropy(b[0][i]) + entropy(b[1][i])) / 4;
    const double mi_a = entropy(mean_a) - (entropy(a[0][i]) + entropy(a[1][i])) / 2;
    const double mi_b = entropy(mean_b) - (entropy(b[0][i]) + entropy(b[1][i])) / 2;
    CHECK(within[i] == Approx((mi_a + mi_b) / 2).margin(1e-7));
    CHECK(between[i] ==
          Approx(entropy(mixture) - (entropy(mean_a) + entropy(mean_b)) / 2).margin(1e-7));
    CHECK(within[i] + between[i] ==
          Approx(entropy(mixture) - aleatoric).margin(1e-6));
  }
  CHECK(within[0] > 0.01);
  CHECK(between[0] > 0.1);
  CHECK(within[1] == Approx(0).margin(1e-7));   // certain members ...
  CHECK(between[1] == Approx(0).margin(1e-7));  // ... that agree
  CHECK(within[2] == Approx(0).margin(1e-7));
  // ln 2 - H(0.99, 0.01): all of row 2's uncertainty is the members' disagreement.
  CHECK(between[2] == Approx(0.6931471806 - 0.0560013121).margin(1e-7));

  const kbnn::PredictiveSums three_passes = sums_of({a[0], a[1], a[0]});
  CHECK_THROWS_WITH(kbnn::add_member(three_passes, sums), Catch::Contains("3 passes"));
}

TEST_CASE("An ensemble of one member predicts what the model alone does, bit for bit",
          "[mpi][ensemble]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const kbnn::Dataset all = synthetic_images();
  const auto [lo, hi] = comm.shard(all.count);
  const kbnn::DeviceDataset rows = kbnn::to_device(kbnn::slice(all, lo, hi - lo));
  TwoMembers two(rows);
  two.ready(1);
  kbnn::EvalOptions o = options(kbnn::PredictSplit::examples);
  o.seed = two.seeds[1];
  const kbnn::Evaluation alone = kbnn::evaluate(*two.model, rows, lo, all.count, o, comm);
  const kbnn::EnsembleEvaluation one = kbnn::evaluate_ensemble(
      *two.model, 1, [&](int) { return two.ready(1); }, rows, lo, all.count, o, comm);
  CHECK(same_bits(one.mixture.rows.probs_mean, alone.rows.probs_mean));
  CHECK(same_bits(one.mixture.rows.aleatoric, alone.rows.aleatoric));
  CHECK(same_bits(one.mixture.rows.epistemic, alone.rows.epistemic));
  CHECK(same_bits(one.mixture.sample_log_probs, alone.sample_log_probs));
  CHECK(one.mixture.metrics.nll == alone.metrics.nll);
  // One member: all of the mutual information is within it.
  CHECK(same_bits(one.split.within, alone.rows.epistemic));
  CHECK(one.mean_between == 0);
}

TEST_CASE("Two copies of one member never disagree; two members do", "[mpi][ensemble]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto twice = ensemble_run(2, kbnn::PredictSplit::examples, comm, true);
  const auto alone = ensemble_run(1, kbnn::PredictSplit::examples, comm);
  CHECK(same_bits(twice.mixture.rows.probs_mean, alone.mixture.rows.probs_mean));
  CHECK(same_bits(twice.split.within, alone.mixture.rows.epistemic));
  CHECK(twice.mean_between == 0);
  CHECK(twice.mixture.rows.samples == 2 * samples);

  const auto two = ensemble_run(2, kbnn::PredictSplit::examples, comm);
  CHECK(two.mean_between > 1e-4);  // untrained members: small sigma, but other means
  CHECK(two.mean_within > 1e-6);
  CHECK(two.mixture.metrics.mean_epistemic ==
        Approx(two.mean_within + two.mean_between).epsilon(1e-5));
  // The mixture's samples are member 0's S passes, then member 1's.
  const std::vector<double>& passes = two.mixture.sample_log_probs;
  REQUIRE(passes.size() == std::size_t(2 * samples * two.mixture.rows.count * 10));
  const std::size_t per_member = passes.size() / 2;
  CHECK(same_bits(std::vector<double>(passes.begin(), passes.begin() + per_member),
                  alone.mixture.sample_log_probs));
}

TEST_CASE("An ensemble predicts the same bits with ranks splitting examples or samples",
          "[mpi][ensemble]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto by_rows = ensemble_run(3, kbnn::PredictSplit::examples, comm);
  const auto by_samples = ensemble_run(3, kbnn::PredictSplit::samples, comm);
  CHECK(same_bits(by_rows.mixture.rows.probs_mean, by_samples.mixture.rows.probs_mean));
  CHECK(same_bits(by_rows.mixture.rows.epistemic, by_samples.mixture.rows.epistemic));
  CHECK(same_bits(by_rows.split.within, by_samples.split.within));
  CHECK(same_bits(by_rows.split.between, by_samples.split.between));
  CHECK(same_bits(by_rows.mixture.sample_log_probs, by_samples.mixture.sample_log_probs));
  CHECK(by_rows.mean_within == by_samples.mean_within);
}

TEST_CASE("A tempered ensemble: calibrated probabilities, the untempered three-way split",
          "[mpi][ensemble]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto split = GENERATE(kbnn::PredictSplit::examples, kbnn::PredictSplit::samples);
  const auto untempered = ensemble_run(2, split, comm);
  const auto tempered = ensemble_run(2, split, comm, false, 0.5);
  const auto& t = tempered.mixture.rows;
  const auto& u = untempered.mixture.rows;
  CHECK(same_bits(t.predictive_entropy, u.predictive_entropy));
  CHECK(same_bits(t.aleatoric, u.aleatoric));
  CHECK(same_bits(t.epistemic, u.epistemic));
  CHECK(same_bits(tempered.split.within, untempered.split.within));
  CHECK(same_bits(tempered.split.between, untempered.split.between));
  CHECK(tempered.mixture.metrics.nll != untempered.mixture.metrics.nll);
  if (t.count > 0) CHECK_FALSE(same_bits(t.probs_mean, u.probs_mean));

  kbnn::EnsembleSums plain(2, 10);
  CHECK_THROWS_WITH(kbnn::add_member(kbnn::PredictiveSums(2, 10, true), plain),
                    Catch::Contains("untempered ensemble sums"));
}

TEST_CASE("Rank groups: contiguous, sized within one, each with its own communicator",
          "[mpi][ensemble]") {
  CHECK(kbnn::group_count(5, 0, 2) == 2);
  CHECK(kbnn::group_count(3, 0, 8) == 3);
  CHECK(kbnn::group_count(5, 1, 4) == 1);
  CHECK(kbnn::group_of_rank(0, 5, 2) == 0);
  CHECK(kbnn::group_of_rank(1, 5, 2) == 0);
  CHECK(kbnn::group_of_rank(2, 5, 2) == 1);  // shard(5, 0, 2) = [0, 2)
  CHECK(kbnn::members_of_group(0, 2, 5) == std::vector<int>{0, 2, 4});
  CHECK(kbnn::members_of_group(1, 2, 5) == std::vector<int>{1, 3});
  CHECK(kbnn::members_of_group(2, 3, 2).empty());

  const kbnn::Communicator world(MPI_COMM_WORLD);
  for (int groups = 1; groups <= world.size(); ++groups) {
    const kbnn::RankGroups split(world, groups);
    const kbnn::Communicator group(split.comm());
    const auto [lo, hi] = kbnn::shard(world.size(), split.group(), groups);
    CHECK(group.size() == hi - lo);
    CHECK(group.rank() == world.rank() - lo);
    // A sum within the group sees its ranks only.
    CHECK(group.allreduce_sum(double(world.rank())) == double((lo + hi - 1) * (hi - lo)) / 2);
  }
}

TEST_CASE("Member k's deck: seed member_seed(seed, k), its own files, one model", "[ensemble]") {
  kbnn::RunConfig config;
  config.deck_path = "input/x.cfg";
  config.output.dir = "runs";
  config.train.seed = 42;
  config.parallel.ensemble = 3;
  config.model.layers = {kbnn::parse_layer("flatten"),
                         kbnn::parse_layer("dense out=10 estimator=flipout")};
  CHECK(kbnn::member_seed(42, 0) == 42);
  CHECK(kbnn::member_seed(42, 2) == 42 + 2 * 0x9E3779B97F4A7C15ull);
  CHECK(kbnn::member_seed(~std::uint64_t(0), 1) == 0x9E3779B97F4A7C15ull - 1);  // mod 2^64
  const kbnn::RunConfig m = kbnn::member_config(config, 2);
  CHECK(m.train.seed == kbnn::member_seed(42, 2));
  CHECK(m.output.dir == "runs/x.members");
  CHECK(m.output.name == "member_2");
  CHECK(m.parallel.ensemble == 1);
  // A member's deck is a single model's: no ensemble options listed; the ensemble's are.
  CHECK(kbnn::resolved_deck(m).find("ensemble") == std::string::npos);
  const std::string deck = kbnn::resolved_deck(config);
  CHECK(deck.find("ensemble = 3\n") != std::string::npos);
  CHECK(kbnn::parse_deck_text(deck, "resolved").parallel.ensemble == 3);
  CHECK(kbnn::member_config(config, 0).train.seed == 42);
}
