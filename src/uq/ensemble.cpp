#include "uq/ensemble.hpp"

#include "core/error.hpp"
#include "core/math.hpp"

#include <algorithm>
#include <tuple>

namespace kbnn {

EnsembleSums::EnsembleSums(std::int64_t rows, int classes, bool tempered)
    : mixture(rows, classes, tempered), member_entropy("kbnn::ensemble::member_entropy", rows) {}

void add_member(const PredictiveSums& member, EnsembleSums& ensemble, ThreadShape shape) {
  if (ensemble.members > 0 && member.passes * ensemble.members != ensemble.mixture.passes)
    throw RuntimeError(concat("add_member: a member of ", member.passes, " passes after ",
                              ensemble.members, " members of ",
                              ensemble.mixture.passes / ensemble.members));
  if (member.tempered && !ensemble.mixture.tempered)
    throw RuntimeError("add_member: a tempered member into untempered ensemble sums");
  const auto probs = member.probs;
  const auto posterior = member.posterior;
  const auto entropy = member.entropy;
  const auto mix_probs = ensemble.mixture.probs;
  const auto mix_posterior = ensemble.mixture.posterior;
  const auto mix_entropy = ensemble.mixture.entropy;
  const auto member_entropy = ensemble.member_entropy;
  const bool tempered = ensemble.mixture.tempered;
  const double passes = member.passes;
  const int classes = static_cast<int>(probs.extent(1));
  for_each_element(
      "kbnn::ensemble::add_member", probs.extent(0), classes,
      KOKKOS_LAMBDA(const std::int64_t i, const int k) {
        mix_probs(i, k) += probs(i, k);
        if (tempered) mix_posterior(i, k) += posterior(i, k);
        if (k > 0) return;
        double h = 0;  // H[pbar_k]
        for (int c = 0; c < classes; ++c) {
          const double p = posterior(i, c) / passes;
          if (p > 0) h -= p * math::log(p);
        }
        mix_entropy(i) += entropy(i);
        member_entropy(i) += h;
      },
      shape);
  ensemble.mixture.passes += member.passes;
  ensemble.members += 1;
}

EpistemicSplit epistemic_split(const EnsembleSums& sums) {
  const auto probs = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.mixture.posterior);
  const auto entropy = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.mixture.entropy);
  const auto member_entropy = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.member_entropy);
  const std::int64_t rows = std::int64_t(probs.extent(0));
  const int classes = static_cast<int>(probs.extent(1));
  const int passes = sums.mixture.passes;
  EpistemicSplit split;
  split.within.resize(rows);
  split.between.resize(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    const double aleatoric = entropy(i) / passes;
    const double members_mean = member_entropy(i) / sums.members;  // (1/K) sum_k H[pbar_k]
    const double total = entropy_of_mean(&probs(i, 0), classes, passes);
    split.within[i] = float(std::max(0.0, members_mean - aleatoric));
    split.between[i] = float(std::max(0.0, total - members_mean));
  }
  return split;
}

double run_members(int members, const std::function<std::uint64_t(int)>& ready,
                   const EvalOptions& options, const std::function<void(const EvalOptions&)>& add) {
  double seconds = 0;
  for (int k = 0; k < members; ++k) {
    EvalOptions member = options;
    member.seed = ready(k);
    if (options.progress)  // member k is the k-th of `members` parts of the work
      member.progress = [&](double f) { options.progress((k + f) / members); };
    Kokkos::Timer clock;  // the passes, not ready()'s reading
    add(member);
    ExecSpace().fence();
    seconds += clock.seconds();
  }
  return seconds;
}

std::pair<double, double> means_over_ranks(const std::vector<float>& a,
                                           const std::vector<float>& b, double count,
                                           const Communicator& comm) {
  double sums[2] = {0, 0};
  for (const float v : a) sums[0] += v;
  for (const float v : b) sums[1] += v;
  comm.allreduce_sum(sums, 2);
  if (count <= 0) return {0, 0};
  return {sums[0] / count, sums[1] / count};
}

EnsembleEvaluation evaluate_ensemble(Sequential<Real>& model, int members,
                                     const std::function<std::uint64_t(int)>& ready,
                                     const DeviceDataset& data, std::int64_t data_first,
                                     std::int64_t total, const EvalOptions& options,
                                     const Communicator& comm) {
  const int classes = static_cast<int>(model.output_shape().size());
  const auto [lo, hi] = comm.shard(total);
  EnsembleSums sums(hi - lo, classes, options.tempered());
  EnsembleEvaluation e;
  std::vector<double>& kept = e.mixture.sample_log_probs;  // member after member
  const double seconds = run_members(members, ready, options, [&](const EvalOptions& member) {
    std::vector<double> samples;
    add_member(predictive_sums(model, data, data_first, total, member, comm, &samples), sums);
    kept.insert(kept.end(), samples.begin(), samples.end());
  });
  e.members = members;
  e.mixture.first = lo;
  e.mixture.total = total;
  e.mixture.rows = finish(sums.mixture, data, lo - data_first);
  e.mixture.rows.seconds = seconds;
  e.mixture.metrics = reduced_metrics(e.mixture.rows, comm);
  e.split = epistemic_split(sums);
  std::tie(e.mean_within, e.mean_between) =
      means_over_ranks(e.split.within, e.split.between, double(total), comm);
  return e;
}

}  // namespace kbnn
