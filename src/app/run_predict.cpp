#include "app/run_predict.hpp"

#include "app/deck.hpp"
#include "app/ensemble_eval.hpp"
#include "app/eval_sets.hpp"
#include "app/git_revision.hpp"
#include "app/output_guard.hpp"
#include "app/regression_report.hpp"
#include "app/trained_run.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "data/device_dataset.hpp"
#include "output/run_file.hpp"
#include "parallel/agree.hpp"
#include "uq/evaluate.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <ostream>


namespace kbnn {

namespace {

std::string default_output(const std::string& model) {
  std::filesystem::path p(model);
  if (p.extension() == ".h5") p.replace_extension();
  return p.string() + ".predict.h5";
}

// What `kbnn predict` reads before it predicts.
struct Inputs {
  TrainedRun run;
  std::string output, ood_set;  // ood_set: "" without [ood]
  Split set;                    // the rows this rank needs (PredictOptions::split)
  Split ood;                    // the OOD set's rows this rank needs, with [ood]
  std::unique_ptr<Sequential<Real>> model;
};

// Everything that can go wrong with the input, agreed over ranks, so a bad option or
// file ends every rank with one message before the first Monte-Carlo pass. Each file is
// read in an agreement of its own (parallel/agree.hpp).
Inputs read_inputs(const PredictOptions& options, const Communicator& comm) {
  Inputs in;
  in.output = options.output.empty() ? default_output(options.model) : options.output;
  agree_or_throw(comm.get(), [&] {
    if (comm.is_root())
      refuse_to_replace("predict", "--output " + in.output, in.output, options.model,
                        {FileKind::predictions});
  });
  agree_or_throw(comm.get(), [&] {
    in.run = read_trained_run(options.model, options.overrides, "predict", comm);
    in.run.config.data.labels_optional = true;  // new data to predict may come without
    in.ood_set = in.run.config.ood.enabled() ? ood_set_name(in.run.config) : "";
    if (in.ood_set == options.set_name)
      throw InputError(concat("predict: the OOD set and --set-name are both '", in.ood_set,
                              "': set --ood.name"));
  });
  agree_or_throw(comm.get(), [&] {
    in.set = load_test_rows(in.run.config, comm, options.split);
    in.model = trained_model(in.run, options.model, in.set);
    apply_standardization(in.set, in.run.checkpoint.standardization);
  });
  if (!in.ood_set.empty())
    agree_or_throw(comm.get(), [&] {
      in.ood = load_ood_rows(in.run.config, comm, options.split, in.set.rows);
      apply_standardization(in.ood, in.run.checkpoint.standardization);
    });
  create_output_parent("predict", in.output, comm);
  return in;
}

RunInfo prediction_info(const PredictOptions& options, const TrainedRun& run) {
  RunInfo info{KBNN_VERSION, git_revision(), ExecSpace::name(), options.model,
               resolved_deck(run.config)};
  info.with_history = false;
  info.class_names = run.checkpoint.class_names;  // the model's classes, as the file has them
  info.description = concat("kbnn predict: Monte-Carlo predictions of the model in ",
                            options.model, " (deck attribute: its resolved deck with this "
                            "prediction's options)");
  return info;
}

void log_metrics(const std::string& set, const Evaluation& e, int samples,
                 const EvalOptions& eval, std::ostream& log) {
  const Metrics& m = e.metrics;
  log << set;
  if (m.labeled == 0)
    log << format(" (%.0f examples without labels, S=%.0f): predictions only; ", double(e.total),
                  samples);
  else
    log << format(" (%.0f examples, S=%.0f): accuracy %.4f  NLL %.4f  Brier %.4f  ECE(15) %.4f; ",
                  double(e.total), samples, m.accuracy, m.nll, m.brier, m.ece);
  log << mean_entropies_text(m) << " nats" << untempered_text(eval) << std::endl;
}

// A model with a Gaussian likelihood, or an ensemble of them: the set's (and the OOD
// set's) regression predictive, in the targets' units; --sample-probabilities keeps every
// pass's Gaussians (an ensemble's: every member's S, member after member).
void predict_regression(const PredictOptions& options, const Inputs& in, const EvalOptions& eval,
                        const DeviceDataset& rows, Communicator& comm, std::ostream& log) {
  const RunConfig& config = in.run.config;
  const Standardization& s = in.run.checkpoint.standardization;
  const int targets = rows.target_dim();
  const int members = std::max<int>(1, int(in.run.members.size()));
  const int passes = eval.samples * members;
  const RegressionEnsembleEvaluation e =
      evaluate_trained_regression(in.run, *in.model, rows, in.set.first, in.set.total,
                                  with_progress(eval, options.set_name, comm, log), comm);
  const RegressionEvaluation& m = e.mixture;
  RunFile file(in.output, comm, prediction_info(options, in.run));
  if (members > 1) file.write_ensemble_attributes(members, 0);
  file.write_standardization(s);
  const std::string label = format(" (%.0f examples, S=%.0f)", double(m.total), double(passes));
  write_regression_evaluation(file, options.set_name, e, true, eval.samples,
                              options.set_name + label, log);
  if (options.sample_probabilities)
    file.write_sample_gaussians(options.set_name, m.sample_gaussians, passes, targets, m.first,
                                m.rows.count, m.total);
  if (config.ood.enabled()) {
    const Split& out = in.ood;
    const RegressionEnsembleEvaluation o =
        evaluate_trained_regression(in.run, *in.model, to_device(out.rows), out.first, out.total,
                                    with_progress(eval, in.ood_set, comm, log), comm);
    write_regression_evaluation(file, in.ood_set, o, true, eval.samples, "OOD set " + in.ood_set,
                                log);
    if (options.sample_probabilities)
      file.write_sample_gaussians(in.ood_set, o.mixture.sample_gaussians, passes, targets,
                                  o.mixture.first, o.mixture.rows.count, o.mixture.total);
    report_regression_ood(file, options.set_name, m, in.ood_set, o.mixture, s, comm, log);
  }
  file.close();
  log << "output: " << in.output << std::endl;
}

}  // namespace

void run_predict(const PredictOptions& options, Communicator& comm, std::ostream& log) {
  const Inputs in = read_inputs(options, comm);
  const RunConfig& config = in.run.config;
  const int members = std::max<int>(1, int(in.run.members.size()));
  log << "kbnn " << KBNN_VERSION << " predict: model " << options.model << " (step "
      << in.run.checkpoint.step << (members > 1 ? concat("; an ensemble of ", members, " members") : "")
      << "), " << comm.size() << " MPI rank(s), ranks split the "
      << word_of(options.split) << ", S = " << config.eval.samples << std::endl;
  log_temperature(in.run, log);
  log_unlabeled(in.ood, log);
  const DeviceDataset in_device = to_device(in.set.rows);

  EvalOptions eval = eval_options(config);
  eval.split = options.split;
  eval.keep_samples = options.sample_probabilities;
  if (config.model.regression()) return predict_regression(options, in, eval, in_device, comm, log);
  const EnsembleEvaluation ensemble =
      evaluate_trained(in.run, *in.model, in_device, in.set.first, in.set.total,
                       with_progress(eval, options.set_name, comm, log), comm);
  const Evaluation& e = ensemble.mixture;

  const int classes = int(in.model->output_shape().size());
  const int passes = eval.samples * members;  // an ensemble's: S of every member
  RunFile file(in.output, comm, prediction_info(options, in.run));
  if (members > 1) file.write_ensemble_attributes(members, 0);
  file.write_standardization(in.run.checkpoint.standardization);
  if (eval.tempered()) file.write_calibration(TemperatureFit{eval.temperature});
  write_evaluation(file, options.set_name, ensemble, eval.samples, true);
  if (options.sample_probabilities)
    file.write_sample_probabilities(options.set_name, probabilities_of(e.sample_log_probs), passes,
                                    classes, e.first, e.rows.count, e.total);
  log_metrics(options.set_name, e, passes, eval, log);
  log_epistemic_split(options.set_name, ensemble, log);

  if (config.ood.enabled()) {
    const Split& out = in.ood;
    const EnsembleEvaluation ood =
        evaluate_trained(in.run, *in.model, to_device(out.rows), out.first, out.total,
                         with_progress(eval, in.ood_set, comm, log), comm);
    const Evaluation& o = ood.mixture;
    file.write_predictions(in.ood_set, o.rows, o.first, o.total);
    if (members > 1) file.write_epistemic_split(in.ood_set, ood.split, o.first, o.total);
    if (options.sample_probabilities)
      file.write_sample_probabilities(in.ood_set, probabilities_of(o.sample_log_probs), passes,
                                      classes, o.first, o.rows.count, o.total);
    log_epistemic_split(in.ood_set, ood, log);
    report_ood(file, options.set_name, e.rows, e.first, e.total, in.ood_set, o.rows, o.first,
               o.total, comm, log);
  }
  file.close();
  log << "output: " << in.output << std::endl;
}

}  // namespace kbnn
