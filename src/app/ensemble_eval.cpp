#include "app/ensemble_eval.hpp"

#include "app/eval_sets.hpp"
#include "core/format.hpp"
#include "output/checkpoint_file.hpp"
#include "uq/temperature.hpp"

#include <ostream>

namespace kbnn {

EnsembleEvaluation evaluate_one(Sequential<Real>& model, const DeviceDataset& data,
                                std::int64_t data_first, std::int64_t total,
                                const EvalOptions& options, const Communicator& comm) {
  EnsembleEvaluation one;
  one.mixture = evaluate(model, data, data_first, total, options, comm);
  one.members = 1;
  return one;
}

namespace {

// An ensemble evaluation's ready(k): member k's checkpoint read and loaded into `model`;
// its seed.
std::function<std::uint64_t(int)> member_loader(const TrainedRun& run, Sequential<Real>& model,
                                                const Communicator& comm) {
  return [&run, &model, &comm](int k) {
    const CheckpointSource& source = run.members[k];
    const Checkpoint c = read_checkpoint(source.path, comm, source.group);
    load_parameters(c, concat(source.path, ": /", source.group), model.parameters());
    return c.seed;
  };
}

}  // namespace

EnsembleEvaluation evaluate_trained(const TrainedRun& run, Sequential<Real>& model,
                                    const DeviceDataset& data, std::int64_t data_first,
                                    std::int64_t total, const EvalOptions& options,
                                    const Communicator& comm) {
  if (run.members.empty()) return evaluate_one(model, data, data_first, total, options, comm);
  return evaluate_ensemble(model, int(run.members.size()), member_loader(run, model, comm), data,
                           data_first, total, options, comm);
}

RegressionEnsembleEvaluation evaluate_trained_regression(const TrainedRun& run,
                                                         Sequential<Real>& model,
                                                         const DeviceDataset& data,
                                                         std::int64_t data_first,
                                                         std::int64_t total,
                                                         const EvalOptions& options,
                                                         const Communicator& comm) {
  const Standardization& s = run.checkpoint.standardization;
  if (!run.members.empty())
    return evaluate_regression_ensemble(model, int(run.members.size()),
                                        member_loader(run, model, comm), data, data_first, total,
                                        options, s, comm);
  RegressionEnsembleEvaluation one;
  one.mixture = evaluate_regression(model, data, data_first, total, options, s, comm);
  one.members = 1;
  return one;
}

void write_evaluation(RunFile& file, const std::string& set, const EnsembleEvaluation& e,
                      int samples, bool with_predictions) {
  const Evaluation& m = e.mixture;
  const bool ensemble = e.members > 1;
  if (with_predictions) {
    file.write_predictions(set, m.rows, m.first, m.total);
    if (ensemble) file.write_epistemic_split(set, e.split, m.first, m.total);
  }
  if (m.metrics.labeled == 0) return;  // a set without labels has no metrics
  file.write_metrics(set, m.metrics, ensemble ? samples * e.members : samples);
  if (ensemble) file.write_ensemble_metrics(set, e.members, e.mean_within, e.mean_between);
}

EvalOptions final_eval_options(const RunConfig& config,
                               const std::function<EnsembleEvaluation(const EvalOptions&)>& held_out,
                               RunFile& file, const Communicator& comm, std::ostream& log) {
  EvalOptions options = eval_options(config);
  if (!config.eval.temperature.fit) {
    if (options.tempered()) file.write_calibration(TemperatureFit{options.temperature});
    return options;
  }
  Kokkos::Timer clock;
  EvalOptions kept = options;
  kept.keep_samples = true;
  const EnsembleEvaluation e = held_out(kept);
  const Evaluation& m = e.mixture;
  const int passes = options.samples * e.members;
  const TemperatureFit fit = fit_temperature(
      TemperedPasses(m.sample_log_probs, passes, m.rows.classes, m.rows.label), comm);
  file.write_calibration(fit);
  log << format("temperature: T = %.4f fitted to the %.0f validation examples (%.0f passes "
                "each): their NLL %.4f at T = 1, %.4f at T (%.1f s)",
                fit.temperature, double(fit.examples), double(passes), fit.nll_untempered,
                fit.nll, clock.seconds())
      << std::endl;
  if (fit.at_limit) log << temperature_limit_warning(fit) << std::endl;
  options.temperature = fit.temperature;
  return options;
}

std::string temperature_limit_warning(const TemperatureFit& fit) {
  const bool low = fit.temperature < 1;
  return format("warning: temperature: T = %.4f is the ", fit.temperature) +
         (low ? "lower" : "upper") +
         " end of the range searched, [1/20, 20]: the validation NLL still falls " +
         (low ? "below" : "above") +
         format(" it, so T is no minimum: too few validation rows (%.0f), ", double(fit.examples)) +
         "or a model far from calibrated (" + (low ? "underconfident" : "overconfident") +
         format("). The run goes on at T = %.4f; give more validation rows "
                "(data.validation_fraction) or set eval.temperature to a number",
                fit.temperature);
}

std::string temperature_text(const EvalOptions& options) {
  return options.tempered() ? format(", T=%.4f", options.temperature) : std::string();
}

std::string mean_entropies_text(const Metrics& m) {
  return format("entropy %.4f = aleatoric %.4f + epistemic %.4f", m.mean_entropy,
                m.mean_aleatoric, m.mean_epistemic);
}

std::string untempered_text(const EvalOptions& options) {
  return options.tempered() ? " (untempered passes)" : std::string();
}

void log_epistemic_split(const std::string& set, const EnsembleEvaluation& e, std::ostream& log) {
  if (e.members <= 1) return;
  log << set
      << format(" uncertainty (nats, mean over the %.0f members' mixture): epistemic %.4f = "
                "within-member %.4f + between-member %.4f",
                double(e.members), e.mixture.metrics.mean_epistemic, e.mean_within, e.mean_between)
      << std::endl;
}

}  // namespace kbnn
