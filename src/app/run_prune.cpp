#include "app/run_prune.hpp"

#include "app/ensemble_eval.hpp"
#include "app/eval_sets.hpp"
#include "app/output_guard.hpp"
#include "app/regression_report.hpp"
#include "app/trained_run.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "output/checkpoint_file.hpp"
#include "output/ensemble_file.hpp"
#include "data/device_dataset.hpp"
#include "output/pruning_file.hpp"
#include "parallel/agree.hpp"
#include "train/kl_divergence.hpp"
#include "uq/evaluate.hpp"
#include "uq/ood.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <ostream>
#include <sstream>

namespace kbnn {

namespace {

// "0.8" -> "0.8", 0.95 -> "0.95": how fractions appear in file names and masks.
std::string fraction_label(double f) { return format("%g", f); }

std::string default_output(const std::string& run) {
  std::filesystem::path p(run);
  std::string stem = p.stem().string();
  if (std::filesystem::path(stem).extension() == ".checkpoint")
    stem = std::filesystem::path(stem).stem().string();
  return (p.parent_path() / (stem + ".pruning.h5")).string();
}

std::string checkpoint_name(const std::string& output, double fraction) {
  std::filesystem::path p(output);
  std::string stem = p.stem().string();
  if (std::filesystem::path(stem).extension() == ".pruning")
    stem = std::filesystem::path(stem).stem().string();
  return (p.parent_path() / (stem + ".pruned_" + fraction_label(fraction) + ".h5")).string();
}

// The sets each pruned model is scored on: the deck's test split and, with [ood]
// options, its OOD set; each rank holds its shard of each.
struct ScoredSets {
  Split test, ood;
  DeviceDataset test_rows, ood_rows;
  std::string ood_name;  // "" without an OOD set
};

// How the pruned model is evaluated on a set (rows, first, total): one model as it is
// loaded, or an ensemble's mixture (app/ensemble_eval.hpp).
using SetEvaluation =
    std::function<EnsembleEvaluation(const DeviceDataset&, std::int64_t, std::int64_t)>;

// How the pruned regression model is evaluated on a set: one model as it is loaded, or
// an ensemble's mixture (uq/regression_ensemble.hpp).
using RegressionSetEvaluation =
    std::function<RegressionEvaluation(const DeviceDataset&, std::int64_t, std::int64_t)>;

// A regression's test metrics and, with an OOD set, how well each regression score tells
// it from the test set.
void score_regression(const RegressionSetEvaluation& evaluate_set, const ScoredSets& sets,
                      const Standardization& s, const Communicator& comm, PruningRow& row) {
  const RegressionEvaluation test = evaluate_set(sets.test_rows, sets.test.first, sets.test.total);
  row.regression = test.metrics;
  if (sets.ood_name.empty()) return;
  const RegressionEvaluation ood = evaluate_set(sets.ood_rows, sets.ood.first, sets.ood.total);
  row.regression_ood = regression_ood_metrics(
      gather_regression_ood_scores(regression_ood_scores_of(test.rows, s), test.total, comm),
      gather_regression_ood_scores(regression_ood_scores_of(ood.rows, s), ood.total, comm));
}

// The test metrics and, with an OOD set, how well each score tells it from the test set.
void score(const SetEvaluation& evaluate_set, const ScoredSets& sets, const Communicator& comm,
           PruningRow& row) {
  const Evaluation test = evaluate_set(sets.test_rows, sets.test.first, sets.test.total).mixture;
  row.metrics = test.metrics;
  if (sets.ood_name.empty()) return;
  const Evaluation ood = evaluate_set(sets.ood_rows, sets.ood.first, sets.ood.total).mixture;
  row.ood = ood_metrics(gather_ood_scores(test.rows, sets.test.total, comm),
                        gather_ood_scores(ood.rows, sets.ood.total, comm));
}

// Adds the kernel weights `keep` keeps and removes to the row's counts.
void count_kept(const ParameterStore<Real>& store, const std::vector<std::uint8_t>& keep,
                PruningRow& row) {
  for (const auto& b : store.blocks()) {
    if (!prunable(b)) continue;
    const auto kept = std::int64_t(kept_in_block(b, keep));
    row.kept += kept;
    row.removed += std::int64_t(b.count) - kept;
  }
}

// The test rows on the device and, with [ood] options, the OOD set's shard.
void load_scored_sets(const RunConfig& config, const Standardization& standardization,
                      const Communicator& comm, ScoredSets& sets) {
  sets.test_rows = to_device(sets.test.rows);
  if (!config.ood.enabled()) return;
  sets.ood = load_ood_rows(config, comm, PredictSplit::examples, sets.test.rows);
  apply_standardization(sets.ood, standardization);
  sets.ood_rows = to_device(sets.ood.rows);
  sets.ood_name = ood_set_name(config);
}

// Pruning ranks Bayesian weights by |mu| / sigma: a model without any has nothing to
// rank (every layer deterministic), and would "remove 0 of 0".
void refuse_deterministic(const TrainedRun& run, const std::string& path) {
  for (const LayerSpec& layer : run.config.model.layers)
    if (layer.has_weights() && layer.estimator.value_or(run.config.model.estimator) !=
                                   Estimator::deterministic)
      return;
  throw InputError(concat("prune: ", path, " has no Bayesian weights (every layer is "
                          "deterministic): there is no |mu|/sigma to rank them by"));
}

// The fractions asked for, with 0 (the unpruned model), sorted, each once.
std::vector<double> with_unpruned(std::vector<double> fractions) {
  fractions.push_back(0);
  std::sort(fractions.begin(), fractions.end());
  fractions.erase(std::unique(fractions.begin(), fractions.end()), fractions.end());
  return fractions;
}

void log_start(const PruneOptions& options, const TrainedRun& run, const ScoredSets& sets,
               const Communicator& comm, std::ostream& log) {
  log << "kbnn prune: " << options.run << " (step " << run.checkpoint.step
      << (run.members.empty() ? "" : concat("; an ensemble of ", run.members.size(),
                                            " members, each pruned by its own SNR"))
      << "), "
      << (options.scope == PruneScope::layer ? "per layer" : "globally") << ", "
      << sets.test.total << " test " << example_noun(sets.test.rows)
      << (sets.ood_name.empty() ? "" : " against OOD set " + sets.ood_name) << ", S="
      << run.config.eval.samples << ", "
      << comm.size() << " rank(s)" << std::endl;
  log_temperature(run, log);
}

// The report's description of the run, before any row.
PruningReport empty_report(const PruneOptions& options, const TrainedRun& run,
                           const ParameterStore<Real>& store, const ScoredSets& sets) {
  PruningReport report;
  report.source = options.run;
  report.scope = options.scope == PruneScope::layer ? "layer" : "global";
  report.samples = run.config.eval.samples;
  report.deck_text = run.checkpoint.deck_text;
  report.blocks = store.blocks();
  report.ood_set = sets.ood_name;
  report.regression = run.config.model.regression();
  return report;
}

// The trained model with `fraction` of its kernel weights removed (as options.scope
// says), scored, and written as a checkpoint if asked for. The model keeps the mask.
PruningRow prune_and_score(double fraction, const PruneOptions& options, const TrainedRun& run,
                           const std::string& output, Sequential<Real>& model,
                           const ScoredSets& sets, const Communicator& comm) {
  const Checkpoint& trained = run.checkpoint;
  const auto& store = model.parameters();
  PruningRow row;
  row.fraction = fraction;
  row.keep = snr_keep_mask(store.blocks(), store.gaussian_count(), trained.parameters, fraction,
                           options.scope, trained.keep);
  const Checkpoint c = pruned(trained, row.keep);
  load_parameters(c, options.run, store);
  count_kept(store, row.keep, row);
  const EvalOptions eval = eval_options(run.config);
  if (run.config.model.regression())
    score_regression(
        [&](const DeviceDataset& data, std::int64_t first, std::int64_t total) {
          return evaluate_regression(model, data, first, total, eval, trained.standardization,
                                     comm);
        },
        sets, trained.standardization, comm, row);
  else
    score([&](const DeviceDataset& data, std::int64_t first, std::int64_t total) {
            return evaluate_one(model, data, first, total, eval, comm);
          },
          sets, comm, row);
  if (options.checkpoints && fraction > 0) {
    row.checkpoint = checkpoint_name(output, fraction);
    write_checkpoint(row.checkpoint, comm, c);
  }
  return row;
}

// An ensemble: every member loses `fraction` of its own lowest-SNR weights; the row
// counts them over all members and keeps member 0's mask; the pruned members are
// scored as the ensemble's mixture and written as one ensemble checkpoint. `kl` gets
// the members' mean KL.
PruningRow prune_ensemble_and_score(double fraction, const PruneOptions& options,
                                    const TrainedRun& run, const std::string& output,
                                    Sequential<Real>& model, const ScoredSets& sets,
                                    const Communicator& comm, double& kl) {
  const auto& store = model.parameters();
  PruningRow row;
  row.fraction = fraction;
  std::vector<Checkpoint> members;
  for (const CheckpointSource& source : run.members) {
    const Checkpoint trained = read_checkpoint(source.path, comm, source.group);
    const auto keep = snr_keep_mask(store.blocks(), store.gaussian_count(), trained.parameters,
                                    fraction, options.scope, trained.keep);
    count_kept(store, keep, row);
    if (members.empty()) row.keep = keep;
    members.push_back(pruned(trained, keep));
    load_parameters(members.back(), options.run, store);
    kl += kl_divergence(store, run.config.model.prior_sigma) / double(run.members.size());
  }
  const auto ready = [&](int k) {
    load_parameters(members[k], options.run, store);
    return members[k].seed;
  };
  const EvalOptions eval = eval_options(run.config);
  const Standardization& s = run.checkpoint.standardization;
  if (run.config.model.regression())
    score_regression(
        [&](const DeviceDataset& data, std::int64_t first, std::int64_t total) {
          return evaluate_regression_ensemble(model, int(members.size()), ready, data, first,
                                              total, eval, s, comm)
              .mixture;
        },
        sets, s, comm, row);
  else
    score([&](const DeviceDataset& data, std::int64_t first, std::int64_t total) {
            return evaluate_ensemble(model, int(members.size()), ready, data, first, total, eval,
                                     comm);
          },
          sets, comm, row);
  if (options.checkpoints && fraction > 0) {
    row.checkpoint = checkpoint_name(output, fraction);
    write_ensemble_checkpoint(row.checkpoint, comm, members);
  }
  return row;
}

void log_regression_row(const PruningRow& row, double kl, const std::string& ood_name,
                        std::ostream& log) {
  log << format("fraction %.3f: removed %9.0f of %9.0f kernel weights  ", row.fraction,
                double(row.removed), double(row.removed + row.kept))
      << regression_metrics_text(row.regression) << format("  KL %.5g", kl)
      << (ood_name.empty()
              ? ""
              : format("  OOD AUROC predictive_std %.4f epistemic_std %.4f",
                       row.regression_ood.by_score[0].auroc, row.regression_ood.by_score[1].auroc))
      << (row.checkpoint.empty() ? "" : "  -> " + row.checkpoint) << std::endl;
}

void log_row(const PruningRow& row, double kl, const std::string& ood_name, std::ostream& log) {
  log << format("fraction %.3f: removed %9.0f of %9.0f kernel weights  accuracy %.4f  "
                "NLL %.4f  ECE %.4f  entropy %.4f  KL %.5g",
                row.fraction, double(row.removed), double(row.removed + row.kept),
                row.metrics.accuracy, row.metrics.nll, row.metrics.ece,
                row.metrics.mean_entropy, kl)
      << (ood_name.empty()
              ? ""
              : format("  OOD AUROC entropy %.4f MI %.4f max-prob %.4f",
                       row.ood.by_score[OodScore::entropy].auroc,
                       row.ood.by_score[OodScore::mutual_information].auroc,
                       row.ood.by_score[OodScore::max_probability].auroc))
      << (row.checkpoint.empty() ? "" : "  -> " + row.checkpoint) << std::endl;
}

// The pruning file and the pruned checkpoints go where --output says: never over the
// run that is pruned, nor over a file of another kind (app/output_guard.hpp).
void refuse_to_replace_files(const PruneOptions& options, const std::string& output) {
  refuse_to_replace("prune", "--output " + output, output, options.run, {FileKind::pruning});
  if (!options.checkpoints) return;
  for (const double fraction : options.fractions) {
    if (fraction == 0) continue;  // the unpruned model gets no checkpoint
    const std::string checkpoint = checkpoint_name(output, fraction);
    refuse_to_replace("prune", concat("the pruned checkpoint ", checkpoint),
                      checkpoint, options.run,
                      {FileKind::pruned_checkpoint, FileKind::ensemble_checkpoint});
  }
}

}  // namespace

std::vector<double> parse_fractions(const std::string& text) {
  std::vector<double> fractions;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    double f = 0;
    try {
      f = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || !(f >= 0 && f < 1))
      throw InputError(concat("--fractions: '", item, "' is not a fraction in [0, 1) (expected "
                              "a list like 0.5,0.8,0.9)"));
    fractions.push_back(f);
  }
  if (fractions.empty()) throw InputError("--fractions: expected a list like 0.5,0.8,0.9");
  return fractions;
}

void run_prune(const PruneOptions& options, Communicator& comm, std::ostream& log) {
  const std::string output = options.output.empty() ? default_output(options.run) : options.output;
  agree_or_throw(comm.get(), [&] {
    if (comm.is_root()) refuse_to_replace_files(options, output);
  });
  TrainedRun run;
  ScoredSets sets;
  std::unique_ptr<Sequential<Real>> model;
  agree_or_throw(comm.get(), [&] {
    run = read_trained_run(options.run, options.overrides, "prune", comm);
    refuse_deterministic(run, options.run);
  });
  agree_or_throw(comm.get(), [&] {
    sets.test = load_test_rows(run.config, comm, PredictSplit::examples);
    model = trained_model(run, options.run, sets.test);
    apply_standardization(sets.test, run.checkpoint.standardization);
  });
  agree_or_throw(comm.get(),
                 [&] { load_scored_sets(run.config, run.checkpoint.standardization, comm, sets); });
  create_output_parent("prune", output, comm);
  log_start(options, run, sets, comm, log);

  PruningReport report = empty_report(options, run, model->parameters(), sets);
  for (const double fraction : with_unpruned(options.fractions)) {
    double kl = 0;  // of the model, or the mean of the members'
    PruningRow row =
        run.members.empty()
            ? prune_and_score(fraction, options, run, output, *model, sets, comm)
            : prune_ensemble_and_score(fraction, options, run, output, *model, sets, comm, kl);
    if (run.members.empty()) kl = kl_divergence(model->parameters(), run.config.model.prior_sigma);
    if (report.regression)
      log_regression_row(row, kl, sets.ood_name, log);
    else
      log_row(row, kl, sets.ood_name, log);
    report.rows.push_back(std::move(row));
  }
  write_pruning_file(output, comm, report);
  log << "output: " << output << std::endl;
}

}  // namespace kbnn
