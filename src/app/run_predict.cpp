#include "app/run_predict.hpp"

#include "app/deck.hpp"
#include "app/eval_sets.hpp"
#include "app/trained_run.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "data/device_dataset.hpp"
#include "output/run_file.hpp"
#include "parallel/agree.hpp"
#include "uq/evaluate.hpp"

#include <filesystem>
#include <memory>
#include <ostream>

#ifndef KBNN_GIT_REVISION
#define KBNN_GIT_REVISION "unknown"
#endif

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
  agree_or_throw(comm.get(), [&] {
    in.run = read_trained_run(options.model, options.overrides, "predict", comm);
    in.output = options.output.empty() ? default_output(options.model) : options.output;
    in.ood_set = in.run.config.ood.enabled() ? ood_set_name(in.run.config) : "";
    if (in.ood_set == options.set_name)
      throw InputError(concat("predict: the OOD set and --set-name are both '", in.ood_set,
                              "': set --ood.name"));
  });
  agree_or_throw(comm.get(), [&] {
    in.set = load_test_rows(in.run.config, comm, options.split);
    in.model = trained_model(in.run, options.model, in.set.rows);
  });
  if (!in.ood_set.empty())
    agree_or_throw(comm.get(), [&] {
      in.ood = load_ood_rows(in.run.config, comm, options.split, in.set.rows);
    });
  return in;
}

void create_parent_dir(const std::string& output, const Communicator& comm) {
  if (comm.is_root() && std::filesystem::path(output).has_parent_path())
    std::filesystem::create_directories(std::filesystem::path(output).parent_path());
  comm.barrier();
}

RunInfo prediction_info(const PredictOptions& options, const RunConfig& config) {
  RunInfo info{KBNN_VERSION, KBNN_GIT_REVISION, ExecSpace::name(), options.model,
               resolved_deck(config)};
  info.with_history = false;
  info.description = concat("kbnn predict: Monte-Carlo predictions of the model in ",
                            options.model, " (deck attribute: its resolved deck with this "
                            "prediction's options)");
  return info;
}

void log_metrics(const std::string& set, const Evaluation& e, int samples, std::ostream& log) {
  const Metrics& m = e.metrics;
  log << set
      << format(" (%.0f examples, S=%.0f): accuracy %.4f  NLL %.4f  Brier %.4f  ECE(15) %.4f; "
                "entropy %.4f = aleatoric %.4f + epistemic %.4f nats",
                double(e.total), samples, m.accuracy, m.nll, m.brier, m.ece,
                m.mean_entropy, m.mean_aleatoric, m.mean_epistemic)
      << std::endl;
}

}  // namespace

void run_predict(const PredictOptions& options, Communicator& comm, std::ostream& log) {
  const Inputs in = read_inputs(options, comm);
  const RunConfig& config = in.run.config;
  log << "kbnn " << KBNN_VERSION << " predict: model " << options.model << " (step "
      << in.run.checkpoint.step << "), " << comm.size() << " MPI rank(s), ranks split the "
      << word_of(options.split) << ", S = " << config.eval.samples << std::endl;
  const DeviceDataset in_device = to_device(in.set.rows);

  EvalOptions eval = eval_options(config);
  eval.split = options.split;
  eval.keep_samples = options.sample_probabilities;
  const Evaluation e = evaluate(*in.model, in_device, in.set.first, in.set.total, eval, comm);

  const int classes = int(in.model->output_shape().size());
  create_parent_dir(in.output, comm);
  RunFile file(in.output, comm, prediction_info(options, config));
  file.write_predictions(options.set_name, e.rows, e.first, e.total);
  file.write_metrics(options.set_name, e.metrics, eval.samples);
  if (options.sample_probabilities)
    file.write_sample_probabilities(options.set_name, e.sample_probs, eval.samples, classes,
                                    e.first, e.rows.count, e.total);
  log_metrics(options.set_name, e, eval.samples, log);

  if (config.ood.enabled()) {
    const Split& out = in.ood;
    const Evaluation o = evaluate(*in.model, to_device(out.rows), out.first, out.total, eval, comm);
    file.write_predictions(in.ood_set, o.rows, o.first, o.total);
    if (options.sample_probabilities)
      file.write_sample_probabilities(in.ood_set, o.sample_probs, eval.samples, classes, o.first,
                                      o.rows.count, o.total);
    report_ood(file, options.set_name, e.rows, e.first, e.total, in.ood_set, o.rows, o.first,
               o.total, comm, log);
  }
  file.close();
  log << "output: " << in.output << std::endl;
}

}  // namespace kbnn
