#include "app/regression_report.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "train/log_variance_bound.hpp"
#include "uq/regression_ood.hpp"

#include <ostream>

namespace kbnn {

std::string regression_metrics_text(const RegressionMetrics& m) {
  return format("RMSE %.5g  NLL %.4f  coverage 50/90/95%% %.3f/%.3f/%.3f  width 95%% %.5g  "
                "calibration error %.3f",
                m.rmse, m.nll, m.coverage_at(0.5), m.coverage_at(0.9), m.coverage_at(0.95),
                m.width_at(0.95), m.calibration_error);
}

void write_regression_set(RunFile& file, const std::string& name, const RegressionEvaluation& e,
                          bool write_predictions, int samples, const std::string& label,
                          std::ostream& log) {
  if (write_predictions) file.write_regression_predictions(name, e.rows, e.first, e.total);
  const RegressionMetrics& m = e.metrics;
  if (m.labeled == 0) {  // a set without targets: nothing to score the predictions by
    log << label << ": no targets, predictions only" << std::endl;
  } else {
    file.write_regression_metrics(name, m, samples);
    log << label << ": " << regression_metrics_text(m) << std::endl;
  }
  log << label
      << format(" uncertainty (target units, mean): std %.5g; variance = aleatoric %.5g + "
                "epistemic %.5g",
                m.mean_std, m.mean_aleatoric, m.mean_epistemic)
      << std::endl;
  if (m.bounded > 0)
    log << "warning: " << label
        << format(": %.0f of %.0f rows have a variance past e^%.0f in the network's units, "
                  "where their log-variance bends towards its bound of %.0f "
                  "(docs/design.md, \"Regression\"): such rows lie far from the training data, "
                  "and their variance says only that; targets in their own units want "
                  "data.standardize = true",
                  m.bounded, double(e.total), log_variance_linear,
                  log_variance_linear + log_variance_bend)
        << std::endl;
}

void write_regression_evaluation(RunFile& file, const std::string& name,
                                 const RegressionEnsembleEvaluation& e, bool write_predictions,
                                 int samples, const std::string& label, std::ostream& log) {
  const RegressionEvaluation& m = e.mixture;
  write_regression_set(file, name, m, write_predictions, samples * e.members, label, log);
  if (e.members <= 1) return;
  if (write_predictions) file.write_regression_epistemic_split(name, e.split, m.first, m.total);
  if (m.metrics.labeled > 0)
    file.write_ensemble_metrics(name, e.members, e.mean_within, e.mean_between);
  log << label
      << format(" epistemic variance (target units, mean over the %.0f members' mixture): "
                "%.5g = within-member %.5g + between-member %.5g",
                double(e.members), m.metrics.mean_epistemic, e.mean_within, e.mean_between)
      << std::endl;
}

void report_regression_ood(RunFile& file, const std::string& in_set, const RegressionEvaluation& in,
                           const std::string& out_set, const RegressionEvaluation& out,
                           const Standardization& s, const Communicator& comm, std::ostream& log) {
  if (in_set == out_set)
    throw InputError(concat("the OOD set and the in-distribution set are both named '", in_set,
                            "': set ood.name"));
  const RegressionOodScores in_scores = regression_ood_scores_of(in.rows, s);
  const RegressionOodScores out_scores = regression_ood_scores_of(out.rows, s);
  const RegressionOodMetrics m =
      regression_ood_metrics(gather_regression_ood_scores(in_scores, in.total, comm),
                             gather_regression_ood_scores(out_scores, out.total, comm));
  file.write_regression_ood_scores(in_set, in_scores, in.first, in.total);
  file.write_regression_ood_scores(out_set, out_scores, out.first, out.total);
  file.write_regression_ood_metrics(in_set, out_set, m);
  log << "OOD: " << out_set << " (" << out.total << ") against " << in_set << " (" << in.total
      << "):";
  for (const RegressionOodScore score : regression_ood_scores) {
    const OodSeparation& sep = m.by_score[std::size_t(score)];
    log << (score == regression_ood_scores.front() ? " " : "; ") << ood_score_name(score)
        << format(" AUROC %.4f AUPR-out %.4f AUPR-in %.4f", sep.auroc, sep.aupr_out, sep.aupr_in);
  }
  log << std::endl;
}

}  // namespace kbnn
