#include "uq/regression_ensemble.hpp"

#include "core/error.hpp"
#include "core/math.hpp"
#include "uq/ensemble.hpp"

#include <tuple>

namespace kbnn {

RegressionEnsembleSums::RegressionEnsembleSums(std::int64_t rows, int targets)
    : mixture(rows, targets),
      within("kbnn::regression_ensemble::within", rows, targets),
      between("kbnn::regression_ensemble::between", rows, targets) {}

void add_member(const RegressionSums& member, RegressionEnsembleSums& ensemble, ThreadShape shape) {
  if (ensemble.members > 0 && member.passes * ensemble.members != ensemble.mixture.passes)
    throw RuntimeError(concat("add_member: a regression member of ", member.passes,
                              " passes after ", ensemble.members, " members of ",
                              ensemble.mixture.passes / ensemble.members));
  const auto part = member.moments;        // (rows, 3T): m_k | M2_k | A_k
  const auto part_density = member.density;
  const auto moments = ensemble.mixture.moments;
  const auto density = ensemble.mixture.density;
  const auto within = ensemble.within;
  const auto between = ensemble.between;
  const int targets = static_cast<int>(within.extent(1));
  const bool first = ensemble.members == 0;
  // Chan et al.'s weights: n_a passes so far, n_b of this member's; k members so far.
  const double n_a = ensemble.mixture.passes, n_b = member.passes, n = n_a + n_b;
  const double share = n_b / n, cross = n_a * n_b / n;
  const double k = ensemble.members, member_cross = k / (k + 1);
  for_each_element(
      "kbnn::regression_ensemble::add_member", within.extent(0), targets,
      KOKKOS_LAMBDA(const std::int64_t i, const int t) {
        const double delta = part(i, t) - moments(i, t);
        moments(i, t) += delta * share;
        moments(i, targets + t) += part(i, targets + t) + delta * delta * cross;
        moments(i, 2 * targets + t) += (part(i, 2 * targets + t) - moments(i, 2 * targets + t)) * share;
        within(i, t) += part(i, targets + t);
        between(i, t) += delta * delta * member_cross;
        if (t > 0) return;
        // log sum over both parts' passes of exp(l): from the larger of their maxima.
        const double m_a = density(i, 0), m_b = part_density(i, 0);
        if (first) {
          density(i, 0) = m_b;
          density(i, 1) = part_density(i, 1);
        } else if (m_b > m_a) {
          density(i, 1) = density(i, 1) * math::exp(m_a - m_b) + part_density(i, 1);
          density(i, 0) = m_b;
        } else {
          density(i, 1) += part_density(i, 1) * math::exp(m_b - m_a);
        }
      },
      shape);
  ensemble.mixture.passes += member.passes;
  ensemble.members += 1;
}

RegressionSplit regression_split(const RegressionEnsembleSums& sums, const Standardization& s) {
  const auto within = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.within);
  const auto between = Kokkos::create_mirror_view_and_copy(HostSpace(), sums.between);
  const std::int64_t rows = std::int64_t(within.extent(0));
  const int targets = static_cast<int>(within.extent(1));
  const double passes = sums.mixture.passes, members = sums.members;
  RegressionSplit split;
  split.within.resize(std::size_t(rows) * targets);
  split.between.resize(split.within.size());
  for (std::int64_t i = 0; i < rows; ++i)
    for (int t = 0; t < targets; ++t) {
      const double scale = target_scale(s, t), square = scale * scale;
      const std::size_t at = std::size_t(i) * targets + t;
      split.within[at] = float(within(i, t) / passes * square);  // (1/K) sum_k M2_k / S
      split.between[at] = float(between(i, t) / members * square);
    }
  return split;
}

RegressionEnsembleEvaluation evaluate_regression_ensemble(
    Sequential<Real>& model, int members, const std::function<std::uint64_t(int)>& ready,
    const DeviceDataset& data, std::int64_t data_first, std::int64_t total,
    const EvalOptions& options, const Standardization& s, const Communicator& comm) {
  const auto [lo, hi] = comm.shard(total);
  RegressionEnsembleSums sums(hi - lo, data.target_dim());
  RegressionEnsembleEvaluation e;
  std::vector<float>& kept = e.mixture.sample_gaussians;  // member after member
  const double seconds = run_members(members, ready, options, [&](const EvalOptions& member) {
    std::vector<float> samples;
    add_member(regression_sums(model, data, data_first, total, member, s, comm, &samples), sums);
    kept.insert(kept.end(), samples.begin(), samples.end());
  });
  e.members = members;
  e.mixture.first = lo;
  e.mixture.total = total;
  e.mixture.rows = finish(sums.mixture, data, lo - data_first, s);
  e.mixture.rows.seconds = seconds;
  e.mixture.metrics = reduced_regression_metrics(e.mixture.rows, comm);
  e.split = regression_split(sums, s);
  std::tie(e.mean_within, e.mean_between) = means_over_ranks(
      e.split.within, e.split.between, double(total) * data.target_dim(), comm);  // every value
  return e;
}

}  // namespace kbnn
