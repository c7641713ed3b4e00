#include "uq/regression_predictive.hpp"

#include "train/log_variance_bound.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kbnn {

std::array<double, interval_levels> interval_level_values() {
  std::array<double, interval_levels> levels{};
  for (int k = 0; k < interval_levels; ++k) levels[k] = 0.05 * (k + 1);
  return levels;
}

std::array<double, interval_levels> interval_z_values() {
  // Phi^-1((1 + p) / 2) for p = 0.05, ..., 0.95 (Python's statistics.NormalDist).
  return {0.06270677794321383, 0.12566134685507413, 0.18911842627279238, 0.2533471031357998,
          0.31863936396437514, 0.3853204664075676,  0.4537621901698796,  0.5244005127080407,
          0.5977601260424784,  0.6744897501960817,  0.7554150263604693,  0.8416212335729144,
          0.9345892910734798,  1.0364333894937894,  1.1503493803760079,  1.2815515655446008,
          1.439531470938456,   1.6448536269514715,  1.9599639845400536};
}

namespace {
int nearest_level(double level) {
  return std::clamp(int(std::lround(level / 0.05)) - 1, 0, interval_levels - 1);
}
}  // namespace

double RegressionMetrics::coverage_at(double level) const { return coverage[nearest_level(level)]; }
double RegressionMetrics::width_at(double level) const { return width[nearest_level(level)]; }

RegressionPredictions regression_predictions_from_sums(const double* moments, const double* density,
                                                       const float* targets, std::int64_t n,
                                                       int target_dim, int samples,
                                                       const Standardization& s) {
  RegressionPredictions out;
  out.count = n;
  out.targets = target_dim;
  out.samples = samples;
  const std::size_t values = std::size_t(n) * target_dim;
  for (auto* v : {&out.mean, &out.std, &out.aleatoric, &out.epistemic, &out.target}) v->resize(values);
  out.nll.resize(std::size_t(n));
  double log_scale = 0;  // sum_t log std_t: the density in the targets' units
  for (int t = 0; t < target_dim; ++t) log_scale += std::log(target_scale(s, t));
  const double linear_variance = std::exp(log_variance_linear);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* m = moments + i * 3 * target_dim;
    bool bounded = false;
    for (int t = 0; t < target_dim; ++t) {
      const std::size_t at = std::size_t(i) * target_dim + t;
      const double scale = target_scale(s, t), square = scale * scale;
      const double epistemic = m[target_dim + t] / samples * square;
      const double aleatoric = m[2 * target_dim + t] * square;
      out.mean[at] = float(target_value(s, t, m[t]));
      out.target[at] = float(target_value(s, t, targets[at]));
      out.aleatoric[at] = float(aleatoric);
      out.epistemic[at] = float(epistemic);
      out.std[at] = float(std::sqrt(aleatoric + epistemic));
      bounded = bounded || m[2 * target_dim + t] > linear_variance;
    }
    out.bounded += bounded ? 1 : 0;
    // log (1/S) sum_s exp(l_s) = m + log(sum_s exp(l_s - m)) - log S.
    const double log_p = density[2 * i] + std::log(density[2 * i + 1]) - std::log(double(samples));
    out.nll[i] = log_scale - log_p;
  }
  return out;
}

// Layout of the sums: the scalars of Sum, then per level the fields of LevelSum.
namespace {
enum Sum { n_rows, n_values, n_labeled, n_labeled_values, sum_squared_error, sum_nll, sum_std,
           sum_aleatoric, sum_epistemic, n_bounded, n_scalars };
enum LevelSum { level_covered, level_width, level_fields };

template <class Sums>
auto& level_sum(Sums& sums, int level, LevelSum field) {
  return sums[n_scalars + level_fields * level + field];
}
}  // namespace

std::vector<double> regression_metric_sums(const RegressionPredictions& p) {
  std::vector<double> s(n_scalars + level_fields * interval_levels, 0.0);
  const auto z = interval_z_values();
  s[n_rows] = double(p.count);
  s[n_bounded] = double(p.bounded);
  for (std::int64_t i = 0; i < p.count; ++i) {
    // A row without targets (NaN) has only its uncertainty to add.
    const bool labeled = !std::isnan(p.target[std::size_t(i) * p.targets]);
    if (labeled) {
      s[n_labeled] += 1;
      s[sum_nll] += p.nll[i];
    }
    for (std::size_t v = std::size_t(i) * p.targets; v < std::size_t(i + 1) * p.targets; ++v) {
      const double error = double(p.target[v]) - p.mean[v], std = p.std[v];
      s[n_values] += 1;
      s[sum_std] += std;
      s[sum_aleatoric] += p.aleatoric[v];
      s[sum_epistemic] += p.epistemic[v];
      if (!labeled) continue;
      s[n_labeled_values] += 1;
      s[sum_squared_error] += error * error;
      for (int k = 0; k < interval_levels; ++k) {
        level_sum(s, k, level_covered) += std::abs(error) <= z[k] * std ? 1 : 0;
        level_sum(s, k, level_width) += 2 * z[k] * std;
      }
    }
  }
  return s;
}

RegressionMetrics regression_metrics_from_sums(const std::vector<double>& s) {
  RegressionMetrics m;
  const double values = s[n_values], labeled_values = s[n_labeled_values];
  m.labeled = s[n_labeled];
  m.bounded = s[n_bounded];
  if (s[n_rows] == 0 || values == 0) return m;
  m.mean_std = s[sum_std] / values;
  m.mean_aleatoric = s[sum_aleatoric] / values;
  m.mean_epistemic = s[sum_epistemic] / values;
  if (labeled_values == 0) {
    constexpr double none = std::numeric_limits<double>::quiet_NaN();
    m.rmse = m.nll = m.calibration_error = none;
    m.coverage.fill(none);
    m.width.fill(none);
    return m;
  }
  m.rmse = std::sqrt(s[sum_squared_error] / labeled_values);
  m.nll = s[sum_nll] / m.labeled;
  const auto levels = interval_level_values();
  for (int k = 0; k < interval_levels; ++k) {
    m.coverage[k] = level_sum(s, k, level_covered) / labeled_values;
    m.width[k] = level_sum(s, k, level_width) / labeled_values;
    m.calibration_error += std::abs(m.coverage[k] - levels[k]) / interval_levels;
  }
  return m;
}

}  // namespace kbnn
