// The run file's regression groups (docs/output.md, "Regression"): RunFile methods kept
// apart from the classification writers of output/run_file.cpp. Collective.
#include "output/run_file.hpp"

#include "h5/attribute.hpp"
#include "h5/rows.hpp"
#include "output/prediction_shares.hpp"
#include "output/run_file_groups.hpp"

#include <array>
#include <cstdio>

namespace kbnn {

void RunFile::write_regression_predictions(const std::string& set,
                                           const RegressionPredictions& local,
                                           std::int64_t first_row, std::int64_t total) {
  const h5::QuietErrors quiet;
  detail::check_name(path_, "prediction set", set);
  const std::string where = concat(path_, ": /predictions/", set);
  const std::int64_t targets = check_prediction_shares(
      comm_.allgather(share_of(local, first_row, total)), where);
  const h5::Group g = detail::new_prediction_set(
      file_, set, where,
      concat("regression predictions on data set '", set, "': one row per example, in the "
             "data set's order; the mixture of ", local.samples, " Monte-Carlo passes' "
             "Gaussians, in the targets' units"),
      local.samples);
  const hsize_t first = hsize_t(first_row), count = hsize_t(local.count);
  const auto column = [&](const char* name, const auto& values, std::vector<hsize_t> dims,
                          const char* units, const char* description) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    const std::string what = concat(where, "/", name);
    const h5::DataSet d = h5::create_dataset<T>(g, name, dims, what);
    h5::describe(d, units, description);
    h5::write_rows(d, values.data(), first, count, what);
  };
  const std::vector<hsize_t> table = {hsize_t(total), hsize_t(targets)};
  column("mean", local.mean, table, "target units", "predictive mean (1/S) sum_s mu_s, (examples, targets)");
  column("std", local.std, table, "target units",
         "predictive standard deviation sqrt(aleatoric_variance + epistemic_variance)");
  column("aleatoric_variance", local.aleatoric, table, "target units squared",
         "mean of the passes' noise variances (1/S) sum_s sigma_s^2: noise in the data");
  column("epistemic_variance", local.epistemic, table, "target units squared",
         "variance of the passes' means (1/S) sum_s (mu_s - mean)^2: uncertainty about the weights");
  column("target", local.target, table, "target units", "the observed target");
  column("nll", local.nll, {hsize_t(total)}, "nats",
         "-log p(y|x) of the predictive mixture (1/S) sum_s prod_t N(y_t; mu_s,t, sigma_s,t^2), "
         "as a density in the targets' units");
}

void RunFile::write_regression_metrics(const std::string& set, const RegressionMetrics& m,
                                       int samples) {
  const h5::QuietErrors quiet;
  detail::check_name(path_, "metrics set", set);
  const std::string where = concat(path_, ": /metrics/", set);
  const h5::Group metrics = detail::metrics_group(file_);
  if (h5::exists(metrics, set)) throw RuntimeError(concat(where, ": already written"));
  const h5::Group g = h5::create_group(metrics, set);
  h5::describe(
      g, "",
      "regression, in the targets' units: rmse of the predictive mean; nll (nats/example): "
      "mean -log of the density of the observed targets under the predictive mixture "
      "(1/S) sum_s prod_t N(y_t; mu_s,t, sigma_s,t^2); coverage_<p> and width_<p>: the "
      "fraction of targets inside, and the mean width of, the central p % interval mean +- "
      "z std (the Gaussian with the mixture's mean and variance); mean_std, "
      "mean_aleatoric_variance, mean_epistemic_variance; calibration_error: mean over the "
      "levels of |coverage - level|; samples (MC passes); datasets interval_*: the "
      "calibration curve at levels 0.05 .. 0.95");
  h5::write_attribute(g, "rmse", m.rmse);
  h5::write_attribute(g, "nll", m.nll);
  for (const int percent : {50, 90, 95}) {
    h5::write_attribute(g, concat("coverage_", percent), m.coverage_at(percent / 100.0));
    h5::write_attribute(g, concat("width_", percent), m.width_at(percent / 100.0));
  }
  h5::write_attribute(g, "mean_std", m.mean_std);
  h5::write_attribute(g, "mean_aleatoric_variance", m.mean_aleatoric);
  h5::write_attribute(g, "mean_epistemic_variance", m.mean_epistemic);
  h5::write_attribute(g, "calibration_error", m.calibration_error);
  if (samples > 0) h5::write_attribute(g, "samples", std::int32_t(samples));
  const auto column = [&](const char* name, const auto& values, const char* units,
                          const char* description) {
    h5::write_column(g, name, values, comm_.is_root(), units, description,
                     concat(where, "/", name));
  };
  column("interval_level", interval_level_values(), "1",
         "expected coverage p of the central intervals mean +- Phi^-1((1 + p) / 2) std");
  column("interval_coverage", m.coverage, "1",
         "observed coverage: the fraction of targets inside the level's interval");
  column("interval_width", m.width, "target units", "mean width of the level's interval");
}

void RunFile::write_regression_ood_scores(const std::string& set, const RegressionOodScores& local,
                                          std::int64_t first_row, std::int64_t total) {
  const h5::QuietErrors quiet;
  std::vector<detail::ScoreColumn> columns;
  for (const RegressionOodScore score : regression_ood_scores)
    columns.push_back({ood_score_name(score), ood_score_units(score), ood_score_description(score),
                       &local[std::size_t(score)]});
  detail::write_score_columns(file_, path_, set, columns, first_row, total);
}

void RunFile::write_regression_ood_metrics(const std::string& in_set, const std::string& out_set,
                                           const RegressionOodMetrics& m) {
  const h5::QuietErrors quiet;
  std::vector<detail::ScoreSeparation> scores;
  for (const RegressionOodScore score : regression_ood_scores)
    scores.push_back({ood_score_name(score), m.by_score[std::size_t(score)]});
  detail::write_separations(
      file_, path_, in_set, out_set,
      concat("how well each regression OOD score (predictive_std, epistemic_std; see "
             "/predictions/<set>/ood_scores) tells set '", out_set, "' (positives) from set '",
             in_set, "': auroc_<score> (ties count 1/2), aupr_out_<score>, aupr_in_<score>"),
      m.in_count, m.out_count, scores);
}

void RunFile::write_regression_epistemic_split(const std::string& set,
                                               const RegressionSplit& local,
                                               std::int64_t first_row, std::int64_t total) {
  const h5::QuietErrors quiet;
  detail::check_name(path_, "prediction set", set);
  const std::string where = concat(path_, ": /predictions/", set);
  if (!h5::exists(file_, "predictions/" + set + "/mean"))
    throw RuntimeError(concat(where, ": write_regression_epistemic_split before "
                              "write_regression_predictions"));
  const h5::Group g = h5::open_group(file_, "predictions/" + set);
  const std::vector<hsize_t> table = h5::dataset_shape(g, "mean", where + "/mean");
  const std::size_t targets = std::size_t(table[1]);
  const std::int64_t count = std::int64_t(local.within.size() / targets);
  if (local.within.size() != local.between.size() || local.within.size() % targets != 0 ||
      first_row < 0 || first_row + count > total || hsize_t(total) != table[0])
    throw RuntimeError(concat(where, ": a split of ", local.within.size(), " and ",
                              local.between.size(), " values from row ", first_row,
                              " does not fit in ", total, " rows of ", targets, " targets"));
  const auto column = [&](const char* name, const std::vector<float>& values,
                          const char* description) {
    const std::string what = concat(where, "/", name);
    const h5::DataSet d = h5::create_dataset<float>(g, name, table, what);
    h5::describe(d, "target units squared", description);
    h5::write_rows(d, values.data(), hsize_t(first_row), hsize_t(count), what);
  };
  column("epistemic_within", local.within,
         "within-member epistemic variance: the mean over members of each member's variance "
         "of its passes' means, (1/K) sum_k E_k");
  column("epistemic_between", local.between,
         "between-member epistemic variance: the members disagree, (1/K) sum_k (m_k - mean)^2 "
         "of the members' means m_k; epistemic_variance = epistemic_within + "
         "epistemic_between");
}

void RunFile::write_sample_gaussians(const std::string& set, const std::vector<float>& local,
                                     int samples, int targets, std::int64_t first_row,
                                     std::int64_t count, std::int64_t total) {
  const h5::QuietErrors quiet;
  detail::check_name(path_, "prediction set", set);
  const std::string what = concat(path_, ": /predictions/", set, "/gaussian_samples");
  if (std::int64_t(local.size()) != std::int64_t(samples) * count * 2 * targets)
    throw RuntimeError(concat(what, ": ", local.size(), " values for ", samples, " samples x ",
                              count, " rows x ", 2 * targets, " numbers"));
  const h5::Group predictions = detail::predictions_group(file_);
  const h5::Group g = detail::open_or_create_group(predictions, set, concat("data set '", set, "'"));
  const std::vector<hsize_t> dims = {hsize_t(samples), hsize_t(total), hsize_t(2 * targets)};
  const h5::DataSet d = h5::create_dataset<float>(g, "gaussian_samples", dims, what);
  h5::describe(d, "target units", "every Monte-Carlo pass's Gaussian per target, (samples, "
                                  "examples, 2 x targets): the means mu_s, then the variances "
                                  "sigma_s^2 (target units squared)");
  h5::write_slab(d, local.data(), 1, hsize_t(first_row), hsize_t(count), what);
}

}  // namespace kbnn
