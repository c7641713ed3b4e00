#include "app/run_train.hpp"

#include "app/ensemble_eval.hpp"
#include "app/eval_sets.hpp"
#include "app/git_revision.hpp"
#include "app/regression_report.hpp"
#include "app/run_lock.hpp"
#include "app/training_state.hpp"
#include "core/blas_check.hpp"
#include "core/format.hpp"
#include "core/stop_signal.hpp"
#include "core/types.hpp"
#include "data/data_advice.hpp"
#include "data/data_checksum.hpp"
#include "data/data_split.hpp"
#include "data/device_dataset.hpp"
#include "data/standardize.hpp"
#include "model/build_model.hpp"
#include "model/model_summary.hpp"
#include "output/checkpoint_file.hpp"
#include "output/run_file.hpp"
#include "train/early_stop.hpp"
#include "train/kl_divergence.hpp"
#include "train/step_dump.hpp"
#include "train/trainer.hpp"
#include "parallel/agree.hpp"
#include "uq/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <ostream>
#include <tuple>


namespace kbnn {

namespace {

// The training rows and, with data.validation_fraction > 0, the held-out tail of the
// training split (the last round(fraction * N) rows, as Keras's validation_split):
// the same rows on any rank count, each rank holding its shard of them.
std::pair<Split, Split> load_training(const RunConfig& config, const Communicator& comm,
                                      RankRows train_rows) {
  const SplitSource source = open_split(config.data, SplitPart::train, comm);
  const std::int64_t held_out = held_out_rows(config, source.total);
  const std::int64_t trained = source.total - held_out;
  Split validation;
  if (held_out > 0) validation = take_rows(source, trained, source.total, comm, RankRows::shard);
  return {take_rows(source, 0, trained, comm, train_rows), std::move(validation)};
}

// ---- the steps of run_train, in the order it takes them

void log_banner(const RunConfig& config, const Communicator& comm, std::ostream& log) {
  log << "kbnn " << KBNN_VERSION << " (" << git_revision() << "): deck " << config.deck_path
      << ", " << comm.size() << " MPI rank(s), Kokkos " << ExecSpace::name() << ", "
      << blas_description() << std::endl;
  if (const std::string warning = blas_warning(); !warning.empty()) log << warning << std::endl;
}

// The run's data as this rank holds it. Training: all of it (data.shuffle = global) or
// its partition (local). Test and validation: its contiguous shard of the rows.
struct RunData {
  Split train_split, validation_split, test_split;
  Split ood;  // empty without [ood]
  TrainingData train;
  DeviceDataset validation, test;
  Standardization standardization;  // empty without data.standardize
  DataChecksum train_checksum;      // of the training rows as read
};

// The training rows this rank counts in a sum over all ranks (each row on one rank): its
// partition, or its shard of the rows every rank holds.
std::pair<std::int64_t, std::int64_t> counted_rows(const RunData& d, const Communicator& comm) {
  return d.train.local ? std::pair<std::int64_t, std::int64_t>{0, d.train_split.rows.count}
                       : comm.shard(d.train_split.total);
}

// data.standardize: the training rows' moments (over all ranks, each row once), applied
// to every split as it is held on the host.
void standardize_splits(Standardization moments, RunData& d, std::ostream& log) {
  const Split& t = d.train_split;
  d.standardization = std::move(moments);
  for (Split* split : {&d.train_split, &d.validation_split, &d.test_split, &d.ood})
    if (split->rows.count > 0) standardize(split->rows, d.standardization);
  log << "data: " << d.standardization.feature_mean.size() << " features"
      << (d.standardization.target_mean.empty()
              ? ""
              : concat(" and ", d.standardization.target_mean.size(), " targets"))
      << " standardized by the mean and standard deviation of the " << t.total
      << " training rows" << std::endl;
}

// What one example of the data is: an image, or a vector of features with targets.
std::string example_text(const Dataset& rows) {
  if (example_noun(rows) == std::string("images"))
    return concat("images of ", rows.height, "x", rows.width, "x", rows.channels);
  const std::string shape = rows.height * rows.width == 1
                                ? concat(rows.channels, " features")
                                : concat(rows.height, "x", rows.width, "x", rows.channels,
                                         " features");
  return rows.target_dim == 0 ? concat("examples of ", shape)
                              : concat("examples of ", shape, " and ", rows.target_dim,
                                       " real target(s)");
}

// Each set is read in an agreement of its own (parallel/agree.hpp): a file that one
// rank cannot read ends every rank with one message, and no rank walks on into the
// next set's collective reads.
RunData load_data(const RunConfig& config, const Communicator& comm, std::ostream& log) {
  Kokkos::Timer load_clock;
  RunData d;
  d.train.local = config.data.shuffle == ShuffleScope::local;
  agree_or_throw(comm.get(), [&] {
    std::tie(d.train_split, d.validation_split) =
        load_training(config, comm, d.train.local ? RankRows::shard : RankRows::all);
  });
  d.train.global_count = d.train_split.total;
  agree_or_throw(comm.get(), [&] {
    d.test_split = load_split(config.data, SplitPart::test, comm, RankRows::shard);
    // The training set's classes are the model's (checked when it is built); the
    // validation rows, of the same file, have them already.
    if (!config.model.regression()) {
      const Dataset& train = d.train_split.rows;
      take_model_classes(d.test_split, train.num_classes);
      check_class_names(d.test_split.rows, train.class_names,
                        concat("the training set ", train.source));
    }
  });
  // The OOD set ([ood]) is read now, so a bad one stops the run before training.
  if (config.ood.enabled())
    agree_or_throw(comm.get(), [&] {
      d.ood = load_ood_rows(config, comm, PredictSplit::examples, d.test_split.rows);
    });
  log_unlabeled(d.ood, log);
  const double seconds = load_clock.seconds();
  // The training rows' moments, computed once (two passes and four allreduces over the
  // rows): data_advice judges float features and real targets by them, and
  // data.standardize applies them.
  const Dataset& rows = d.train_split.rows;
  const auto [lo, hi] = counted_rows(d, comm);
  Standardization moments;
  if (config.data.standardize || rows.float_features || rows.target_dim > 0)
    moments = fit_standardization(rows, lo, hi - lo, d.train_split.total,
                                  config.model.regression(), comm);
  for (const std::string& line : data_advice(
           {&rows, lo, hi - lo, d.train_split.total, config.data.standardize, &moments}, comm))
    log << line << std::endl;
  d.train_checksum = checksum_rows(rows, lo, hi - lo, comm);  // before standardize changes them
  if (config.data.standardize) standardize_splits(std::move(moments), d, log);
  d.train.data = to_device(d.train_split.rows);
  d.train.target_std = d.standardization.target_std;
  d.train.rate_unit = example_noun(d.train_split.rows) == std::string("images") ? "img/s" : "ex/s";
  d.validation = to_device(d.validation_split.rows);
  d.test = to_device(d.test_split.rows);
  const Dataset& train_host = d.train_split.rows;
  const std::string example = example_text(train_host);
  log << "data: " << d.train.global_count << " training and " << d.test_split.total << " test "
      << example << " (" << seconds << " s), training set "
      << (d.train.local ? "partitioned" : "replicated") << " over ranks";
  if (d.validation_split.total > 0)
    log << "; the last " << d.validation_split.total << " training " << example_noun(train_host)
        << " held out for validation";
  log << std::endl;
  return d;
}

// A restart continues with the standardization it was trained with: the data's must be
// the checkpoint's (unless forced), since the network's inputs would change under it.
void check_standardization(const Progress& resumed, const RunData& d, bool force,
                           std::ostream& log) {
  const Standardization &was = resumed.standardization, &is = d.standardization;
  if (was.feature_mean == is.feature_mean && was.feature_std == is.feature_std &&
      was.target_mean == is.target_mean && was.target_std == is.target_std)
    return;
  const std::string message =
      "the data's standardization (data.standardize) differs from the checkpoint's: the "
      "training data or the option changed";
  if (!force) throw InputError(concat(message, " (--restart-force continues anyway)"));
  log << "warning: --restart-force: " << message << std::endl;
}

// ... and with the classes it was trained on: a training file whose class_names number
// them otherwise (a table converted again without csv_to_h5.py --classes-from) would
// teach every output another class.
void check_restart_classes(const Progress& resumed, const std::string& from, const RunData& d,
                           bool force, std::ostream& log) {
  try {
    check_class_names(d.train_split.rows, resumed.class_names, concat("the checkpoint ", from));
  } catch (const InputError& e) {
    if (!force) throw InputError(concat(e.what(), " (--restart-force continues anyway)"));
    log << "warning: --restart-force: " << e.what() << std::endl;
  }
}

// ... and on the same data: another set of the same size and shape (MNIST where
// Fashion-MNIST was, a table exported again from changed records) passes every other
// check, but the run's history and model would describe a mixture of the two.
// Checkpoints of older versions do not record the checksum.
void check_restart_checksum(const Progress& resumed, const std::string& from,
                            const RunData& d, const RunConfig& config, bool force,
                            std::ostream& log) {
  const DataChecksum was = DataChecksum::unpacked(resumed.train_checksum), is = d.train_checksum;
  if (resumed.train_checksum == 0 || was.packed() == is.packed()) return;
  const bool regression = config.model.regression();
  const std::string message = concat(
      "the training data in ", d.train_split.rows.source, " is not what the checkpoint ", from,
      " was trained on: its ", d.train.global_count, " training rows have the CRC-32s ",
      checksum_text(is, regression), ", the checkpoint's had ", checksum_text(was, regression),
      ". To train this model further on the new data, start a new run from it: "
      "model.init_from = ", from);
  if (!force) throw InputError(concat(message, " (--restart-force continues anyway)"));
  log << "warning: --restart-force: " << message << std::endl;
}

// What a restart's data must share with its checkpoint. Every rank holds the same
// checkpoint, moments and checksum, so every rank fails alike: agreed, one message.
void check_restart_data(const Progress& resumed, const std::string& from, const RunData& d,
                        const RunConfig& config, bool force, const Communicator& comm,
                        std::ostream& log) {
  agree_or_throw(comm.get(), [&] {
    check_standardization(resumed, d, force, log);
    check_restart_classes(resumed, from, d, force, log);
    check_restart_checksum(resumed, from, d, config, force, log);
  });
}

// The set that eval.every_epochs evaluates: the validation rows if any, else the test set.
struct EvalSet {
  std::string name;
  const DeviceDataset& rows;
  const Split& split;
};

EvalSet eval_set(const RunData& d) {
  if (d.validation_split.total > 0) return {"validation", d.validation, d.validation_split};
  return {"test", d.test, d.test_split};
}

// KBNN_PROFILE_LAYERS=1: time every layer (fences after each; slows the run a little).
bool profile_layers() {
  const char* profile = std::getenv("KBNN_PROFILE_LAYERS");
  return profile != nullptr && std::string(profile) == "1";
}

std::unique_ptr<Sequential<Real>> fitted_model(const RunConfig& config, const RunData& d,
                                               const Communicator& comm) {
  auto model = build_model<Real>(config.model, d.train.data.shape);
  const std::string mismatch =
      output_mismatch(config.model, model->output_shape().size(), d.train_split.rows);
  if (!mismatch.empty()) throw InputError(concat("input deck ", config.deck_path, ": ", mismatch));
  const std::int64_t train_rows =
      max_rows_per_rank(config.train.batch_size, config.parallel.batch_mode, comm.size());
  model->finalize(config.train.seed, static_cast<int>(std::max(train_rows, config.eval.batch_size)));
  model->enable_profiling(profile_layers());
  return model;
}

// The deck's model for the data, its parameters laid out for the largest batch a rank
// computes (training or evaluation) and initialised from the seed, alike on every rank.
// A layer that does not fit the data fails alike on every rank: agreed.
std::unique_ptr<Sequential<Real>> build_network(const RunConfig& config, const RunData& d,
                                                const Communicator& comm) {
  std::unique_ptr<Sequential<Real>> model;
  agree_or_throw(comm.get(), [&] { model = fitted_model(config, d, comm); });
  return model;
}

void log_model(const RunConfig& config, const Sequential<Real>& model, const Trainer& trainer,
               std::ostream& log) {
  const auto& store = model.parameters();
  log << "model: " << model.layers().size() << " layers, " << store.gaussian_count()
      << " Gaussian weights (mu, rho), " << store.size() - 2 * store.gaussian_count()
      << " point parameters; KL " << kl_divergence(store, config.model.prior_sigma)
      << "; global batch " << trainer.global_batch() << ", " << trainer.steps_per_epoch()
      << " steps per epoch" << std::endl
      << model_summary(model, config.model);
}

// What the restart options decided, when there is something to say.
void log_start(const TrainOptions& options, const StartPoint& start, const RunPaths& paths,
               const Trainer& trainer, std::int64_t n_train, std::ostream& log) {
  const CheckpointPlace& place = start.place;
  if (place.train_examples > 0 && place.train_examples != n_train)
    log << "warning: --restart-force: " << start.from << " was trained on "
        << place.train_examples << " training examples, the data now has " << n_train
        << ": its steps count other epochs" << std::endl;
  if (start.finished) {
    log << "restart: auto: " << start.from << " holds the finished run ("
        << (place.trained_to > 0
                ? concat("the best evaluation's model, step ", place.step, "; training ",
                         place.ended_early ? "ended early" : "went on", " at step ",
                         place.trained_to, " of ", trainer.total_steps())
                : concat("step ", place.step, " of ", trainer.total_steps()))
        << "): nothing to do; kbnn info " << paths.run << " summarises it" << std::endl;
  } else if (options.restart.from == "auto" && start.from.empty()) {
    log << "restart: auto: no " << paths.checkpoint << " yet, starting fresh" << std::endl;
  } else if (!start.from.empty() && place.step >= trainer.total_steps()) {
    log << "restart: " << start.from << " has trained all " << trainer.total_steps()
        << " steps; the run's results are still to write" << std::endl;
  }
}

// --dry-run: the run as it would start, and nothing written.
void log_dry_run(const RunConfig& config, const StartPoint& start, const Trainer& trainer,
                 std::ostream& log) {
  log << "dry run: the deck, the data and the model fit; training would run "
      << (start.from.empty() ? std::string("from step 0")
                             : concat("from ", start.from, " at step ", start.place.step))
      << " to step " << trainer.total_steps() << ". Nothing trained, nothing written.\n\n"
      << resolved_deck(config) << std::flush;
}

// debug.dump_steps > 0: records the first steps (train/step_dump.hpp); else null.
std::unique_ptr<StepDump> open_step_dump(const RunConfig& config, const RunPaths& paths,
                                         const RunData& data, Trainer& trainer,
                                         Sequential<Real>& model, Communicator& comm,
                                         std::ostream& log) {
  const DebugConfig& debug = config.debug;
  if (debug.dump_steps <= 0) return nullptr;
  // absolute() first: weakly_canonical leaves a relative path to a file that does not
  // exist yet relative ("run.h5" would not equal "./run.h5").
  const auto same_file = [&](const std::string& other) {
    const auto where = [](const std::string& p) {
      return std::filesystem::weakly_canonical(std::filesystem::absolute(p));
    };
    return where(debug.dump_file) == where(other);
  };
  agree_or_throw(comm.get(), [&] {
    if (same_file(paths.run) || same_file(paths.checkpoint))
      throw InputError(concat("debug.dump_file: ", debug.dump_file,
                              " is this run's run file or checkpoint; name another file"));
  });
  const TrainConfig& t = config.train;
  auto dump = std::make_unique<StepDump>(
      debug.dump_file, debug.dump_steps,
      StepDumpRun{t.seed, data.train.global_count, trainer.global_batch(),
                  trainer.peak_learning_rate(), config.model.prior_sigma, t.adam_beta1,
                  t.adam_beta2, t.adam_epsilon, resolved_deck(config),
                  data.train.local ? data.train_split.first : 0},
      model, comm);
  trainer.step_dump = dump.get();
  log << "debug: recording the first " << debug.dump_steps << " steps in " << debug.dump_file
      << std::endl;
  return dump;
}

// Rank 0 creates output.dir; the agreement is the barrier, and its error everyone's.
void create_output_dir(const RunPaths& paths, const Communicator& comm) {
  agree_or_throw(comm.get(), [&] {
    if (!comm.is_root()) return;
    std::error_code ec;
    std::filesystem::create_directories(paths.dir, ec);
    if (ec)
      throw InputError(concat("output.dir: cannot create ", paths.dir.string(), ": ", ec.message()));
  });
}

RunInfo run_info(const RunConfig& config, const Sequential<Real>& model, const RunData& d) {
  RunInfo info{KBNN_VERSION, git_revision(), ExecSpace::name(), config.deck_path,
               resolved_deck(config)};
  info.input = model.input_shape();
  info.class_names = d.train_split.rows.class_names;
  info.train_data = d.train_split.rows.source;
  info.train_examples = d.train.global_count;
  info.train_checksum = d.train_checksum.packed();
  return info;
}

void write_history_so_far(RunFile& file, const RunConfig& config, const EvalSet& eval,
                          const Progress& progress) {
  file.append_history(progress.history);
  if (config.eval.every_epochs > 0 || !progress.eval_history.empty()) {
    file.start_eval_history(eval.name, config.eval.samples, eval.split.total);
    file.append_eval(progress.eval_history);
  }
}

// The examples of the global batches after `from` up to `to` (steps of one epoch):
// full batches, but an epoch's last batch holds what is left of the training set.
double images_between(std::int64_t from, std::int64_t to, const Trainer& trainer,
                      std::int64_t n_train) {
  const std::int64_t per_epoch = trainer.steps_per_epoch(), batch = trainer.global_batch();
  double images = double(to - from) * double(batch);
  if (to % per_epoch == 0 && to > from) images -= double(per_epoch * batch - n_train);
  return images;
}

// What training writes as it goes (Trainer::on_log, at every history row) and at its
// end: the rows, the evaluations during training, the checkpoints.
struct TrainingRecord {
  const RunConfig& config;
  Communicator& comm;
  Trainer& trainer;
  Sequential<Real>& model;
  RunFile& file;
  const RunPaths& paths;
  const EvalSet& eval;
  std::int64_t n_train;
  const char* noun;  // "images" or "examples" (example_noun)
  const std::vector<std::string>& class_names;  // the training set's (Dataset::class_names)
  DataChecksum train_checksum;                  // the training set's (data/data_checksum.hpp)
  const Kokkos::Timer& wall;  // since the run started
  std::ostream& log;
  Progress progress;
  std::int64_t last_checkpoint = -1;
  // train.early_stop watches the evaluations from this one on (see watch_from).
  std::size_t watched_from = 0;
  double eval_seconds = 0;  // inside the trainer's clock, but not training
  Kokkos::Timer epoch_clock{};

  Checkpoint checkpoint() const {
    Checkpoint c = make_checkpoint(config, comm, trainer, model.parameters(), progress);
    c.input = model.input_shape();
    c.train_examples = n_train;
    c.class_names = class_names;
    c.train_checksum = train_checksum.packed();
    return c;
  }

  // Every epoch ends with a row; its evaluation comes before that step's checkpoint,
  // which then holds it, and the epoch's summary line comes last.
  void on_row(const HistoryRow& row) {
    progress.history.push_back(row);
    file.append_history({row});
    const std::int64_t epoch = row.step / trainer.steps_per_epoch();
    const bool epoch_end = row.step % trainer.steps_per_epoch() == 0;
    const int eval_every = config.eval.every_epochs;
    if (eval_every > 0 && epoch_end && epoch % eval_every == 0) {
      evaluate_epoch(row.step, epoch);
      if (config.train.early_stop > 0) watch_validation(row.step);
    }
    const int every = config.output.checkpoint_every;
    if (every > 0 && row.step % every == 0) {
      write_checkpoint(paths.checkpoint, comm, checkpoint());
      last_checkpoint = row.step;
    }
    if (epoch_end || row.step == trainer.total_steps()) log_epoch_summary(row);
  }

  void evaluate_epoch(std::int64_t step, std::int64_t epoch) {
    if (config.model.regression()) return evaluate_regression_epoch(step, epoch);
    Kokkos::Timer eval_clock;
    const Metrics m =
        evaluate(model, eval.rows, eval.split.first, eval.split.total, eval_options(config), comm)
            .metrics;
    eval_seconds += eval_clock.seconds();
    progress.eval_history.push_back(
        EvalRow{step, double(epoch), m.accuracy, m.nll, m.ece, m.mean_entropy});
    file.append_eval({progress.eval_history.back()});
    log << "eval   epoch " << epoch << " on " << eval.name
        << format(" (%.0f ", double(eval.split.total)) << noun
        << format(", S=%.0f): accuracy %.4f  nll %.4f  ece %.4f  entropy %.4f",
                  config.eval.samples, m.accuracy, m.nll, m.ece, m.mean_entropy)
        << std::endl;
  }
  void evaluate_regression_epoch(std::int64_t step, std::int64_t epoch);

  // train.early_stop: each new best validation NLL is kept in <run name>.best.h5; P
  // evaluations in a row without one end training. The NLL is reduced over the ranks,
  // so every rank decides alike.
  void watch_validation(std::int64_t step) {
    const EarlyStopState s = early_stop_state(progress.eval_history, watched_from);
    if (s.best_step == step) return write_checkpoint(paths.best, comm, checkpoint());
    if (!early_stop_due(s, config.train.early_stop)) return;
    trainer.end_early();
    log << "early stop: " << early_stop_reason(s) << "; training ends at step " << step
        << " of " << trainer.total_steps() << std::endl;
  }
  std::string early_stop_reason(const EarlyStopState& s) const {
    return format("the validation NLL has not fallen for %.0f evaluations since epoch %.0f "
                  "(%.4f)", double(s.since_best), s.best_epoch, s.best_nll);
  }

  // One line per epoch: the NLL and accuracy (a regression: RMSE) over all its examples
  // (the rows' windows, weighted by their examples), the loss at its end, its time and
  // the run's.
  void log_epoch_summary(const HistoryRow& last) {
    const std::int64_t per_epoch = trainer.steps_per_epoch();
    const std::int64_t first = (last.step - 1) / per_epoch * per_epoch;  // the epoch's start
    const bool regression = config.model.regression();
    double images = 0, nll = 0, fit = 0;  // fit: correct, or squared error (regression)
    std::int64_t previous = first;
    for (const HistoryRow& r : progress.history) {
      if (r.step <= first || r.step > last.step) continue;
      const double n = images_between(previous, r.step, trainer, n_train);
      images += n;
      nll += r.nll * n;
      fit += (regression ? r.train_rmse * r.train_rmse : r.train_accuracy) * n;
      previous = r.step;
    }
    const double total_epochs = double(trainer.total_steps()) / double(per_epoch);
    const bool whole = last.step % per_epoch == 0;  // else train.max_steps ended it
    const std::string fit_text = regression ? format("rmse %.4g", std::sqrt(fit / images))
                                            : format("acc %.4f", fit / images);
    log << format("epoch %.0f/%.0f ", std::ceil(last.epoch - 1e-9), std::ceil(total_epochs - 1e-9))
        << (whole ? "done" : "cut short by train.max_steps")
        << format(": nll %.4f  ", nll / images) << fit_text
        << format(" over its %.0f ", images) << noun
        << format(", loss %.4f at its end; %.1f s", last.loss, epoch_clock.seconds())
        << ", elapsed " << format_duration(wall.seconds()) << std::endl;
    epoch_clock.reset();
  }
};

// A regression's evaluation row: the NLL of the predictive mixture; the classification
// columns (accuracy, ece, mean_entropy) are NaN.
void TrainingRecord::evaluate_regression_epoch(std::int64_t step, std::int64_t epoch) {
  Kokkos::Timer eval_clock;
  const RegressionMetrics m =
      evaluate_regression(model, eval.rows, eval.split.first, eval.split.total,
                          eval_options(config), progress.standardization, comm)
          .metrics;
  eval_seconds += eval_clock.seconds();
  const double none = std::numeric_limits<double>::quiet_NaN();
  progress.eval_history.push_back(EvalRow{step, double(epoch), none, m.nll, none, none});
  file.append_eval({progress.eval_history.back()});
  log << "eval   epoch " << epoch << " on " << eval.name
      << format(" (%.0f examples, S=%.0f): ", double(eval.split.total), config.eval.samples)
      << regression_metrics_text(m) << std::endl;
}

// Trains from the record's start to the end or to a stop signal. A divergence stops
// every rank at the same step (Trainer): its message gets where to restart from and
// where the history is, the run file is closed, and the error is an agreed one.
void train(TrainingRecord& record) {
  try {
    record.trainer.run(record.progress.start_step, record.progress.window);
  } catch (const DivergenceError& e) {
    const RunConfig& config = record.config;
    record.file.close();
    throw AgreedRuntimeError(concat(
        e.what(), "; ",
        record.last_checkpoint >= 0
            ? concat("the last good checkpoint is ", record.paths.checkpoint, " (step ",
                     record.last_checkpoint, "): restart from it with a smaller train.lr")
            : std::string(config.output.checkpoint_every > 0
                              ? "no checkpoint was written before"
                              : "no checkpoints were asked for (output.checkpoint_every = 0)"),
        "; the history so far is in ", record.paths.run));
  }
}

// A signal stopped training: the checkpoint to continue from, and the command that does.
RunOutcome checkpoint_and_stop(const TrainingRecord& record, const TrainOptions& options) {
  write_checkpoint(record.paths.checkpoint, record.comm, record.checkpoint());
  record.file.write_status("stopped");
  record.log << "stopped by a signal after step " << record.trainer.step() << " of "
             << record.trainer.total_steps() << " (elapsed " << format_duration(record.wall.seconds())
             << "): checkpoint " << record.paths.checkpoint << " (exit status "
             << exit_status_stopped << ")\ncontinue with: " << options.continue_command
             << std::endl;
  return RunOutcome::stopped;
}

void log_training_speed(const TrainingRecord& record) {
  const Trainer& trainer = record.trainer;
  // A restart from a checkpoint of the last step trains nothing: no speed to report.
  if (trainer.images_trained() == 0) return;
  const double seconds = trainer.training_seconds() - record.eval_seconds;
  const double images_per_second = seconds > 0 ? trainer.images_trained() / seconds : 0;
  const double flops = training_flops_per_example(record.model);
  std::ostream& log = record.log;
  // Per example and per step of this run's global batch (bench/README.md's cost model).
  const auto batch = trainer.global_batch();
  const std::string noun = record.noun;
  log << format("training: %.0f ", double(trainer.images_trained())) << noun
      << format(" in %.2f s = %.0f ", seconds, images_per_second) << noun
      << format("/s, %.2f GFLOP/s in gemms (%.2f MFLOP per example, %.1f per batch-%.0f step)",
                images_per_second * flops * 1e-9, flops * 1e-6, flops * double(batch) * 1e-6,
                double(batch));
  if (record.eval_seconds > 0)
    log << format("; evaluations during training %.2f s", record.eval_seconds);
  log << std::endl;
  if (profile_layers()) log << record.model.profile_report();
}

// The trained weights and state: /weights, /checkpoint, and the checkpoint file if
// checkpoints were asked for.
void write_trained_state(const TrainingRecord& record, const Checkpoint& final_state) {
  record.file.write_weights(record.model.parameters());
  record.file.write_checkpoint(final_state);
  if (record.config.output.checkpoint_every > 0)
    write_checkpoint(record.paths.checkpoint, record.comm, final_state);
}

// train.early_stop on a resumed run: its best model so far must be in <run name>.best.h5.
// Where it is not (early stopping was off before the restart, or the file was removed),
// the best is sought among the evaluations from the restart on, and the log says so.
std::size_t watch_from(const TrainingRecord& record) {
  const EarlyStopState s = early_stop_state(record.progress.eval_history);
  if (record.config.train.early_stop == 0 || s.best_step < 0) return 0;
  std::int64_t held = -1;  // the step <run name>.best.h5 holds
  if (record.comm.is_root() && std::filesystem::exists(record.paths.best)) {
    try {
      held = read_checkpoint_place(record.paths.best).step;
    } catch (const std::exception&) {  // unreadable: as good as missing
    }
  }
  record.comm.broadcast(&held, 1);
  if (held == s.best_step) return 0;
  record.log << "train.early_stop: " << record.paths.best << " does not hold the best "
             << "evaluation's model (step " << s.best_step << "; early stopping was off, or "
             << "the file was removed): the best is sought among the evaluations from this "
             << "restart on" << std::endl;
  return record.progress.eval_history.size();
}

// train.early_stop on a resumed run: which evaluations it watches, and a stop decided
// before the restart (a signal in the very step) ends training before its first step.
void resume_early_stop(TrainingRecord& record) {
  record.watched_from = watch_from(record);
  const EarlyStopState s = early_stop_state(record.progress.eval_history, record.watched_from);
  if (!early_stop_due(s, record.config.train.early_stop)) return;
  record.trainer.end_early();
  record.log << "early stop: " << record.early_stop_reason(s) << " (decided before the restart)"
             << std::endl;
}

// The state the run keeps. With train.early_stop, the best evaluation's
// (<run name>.best.h5, read on every rank): its parameters go into the network for the
// final evaluation, and it is marked with how far training went. Else the last one.
Checkpoint final_state(TrainingRecord& record) {
  const EarlyStopState s = early_stop_state(record.progress.eval_history, record.watched_from);
  if (record.config.train.early_stop == 0 || s.best_step < 0) return record.checkpoint();
  const std::string& path = record.paths.best;
  Checkpoint best = read_checkpoint(path, record.comm);  // rank 0 reads, every rank has it
  agree_or_throw(record.comm.get(), [&] {
    if (best.step != s.best_step)
      throw InputError(concat(path, " holds step ", best.step, ", but the run's best evaluation "
                              "was at step ", s.best_step, ": another run's file?"));
    load_parameters(best, path, record.model.parameters());
  });
  best.trained_to = record.trainer.step();
  best.ended_early = record.trainer.ended_early();
  record.log << "train.early_stop: the run keeps epoch " << format("%.0f", s.best_epoch)
             << "'s model (step " << s.best_step << ", validation NLL "
             << format("%.4f", s.best_nll) << "); training went on to step "
             << record.trainer.step() << std::endl;
  return best;
}

// /weights, /checkpoint (and the checkpoint file) from the state the run keeps; with
// train.early_stop the run file holds the best evaluation's state then, and its file goes.
void keep_trained_state(TrainingRecord& record) {
  write_trained_state(record, final_state(record));
  std::error_code ignored;
  if (record.config.train.early_stop > 0 && record.comm.is_root())
    std::filesystem::remove(record.paths.best, ignored);
}

// The options of the final predictions, at eval.temperature's T (fitted to the
// validation rows with fit).
EvalOptions final_options(const RunConfig& config, Sequential<Real>& model, const RunData& d,
                          RunFile& file, const Communicator& comm, std::ostream& log) {
  const Split& v = d.validation_split;
  const auto held_out = [&](const EvalOptions& options) {
    return evaluate_one(model, d.validation, v.first, v.total, options, comm);
  };
  return final_eval_options(config, held_out, file, comm, log);
}

// Monte-Carlo prediction on this rank's test rows; metrics from sums over ranks.
Predictions evaluate_test(const RunConfig& config, const EvalOptions& options,
                          Sequential<Real>& model, const RunData& d, RunFile& file,
                          const Communicator& comm, std::ostream& log) {
  const std::int64_t n_test = d.test_split.total;
  const Evaluation final_test = evaluate(model, d.test, d.test_split.first, n_test,
                                         with_progress(options, "test", comm, log), comm);
  const Predictions& predictions = final_test.rows;
  const Metrics& m = final_test.metrics;
  if (config.output.write_predictions)
    file.write_predictions("test", predictions, d.test_split.first, n_test);
  file.write_metrics("test", m, config.eval.samples);
  const double passes_per_second =
      comm.allreduce_sum(predictions.count * predictions.samples / predictions.seconds);

  log << format("test (MC predictive mean, S=%.0f", config.eval.samples)
      << temperature_text(options)
      << format("): accuracy %.4f  NLL %.4f  Brier %.4f  ECE(15) %.4f", m.accuracy, m.nll,
                m.brier, m.ece) << std::endl;
  log << "test uncertainty (nats, mean): predictive " << mean_entropies_text(m)
      << untempered_text(options) << std::endl;
  const std::string noun = example_noun(d.test_split.rows);  // image-passes, example-passes
  log << format("inference: %.0f ", passes_per_second) << noun.substr(0, noun.size() - 1)
      << "-passes/s over all ranks" << std::endl;
  return predictions;
}

// The OOD set's shard, predicted as the test set was (ranks split the examples), and
// scored against the test set.
void evaluate_ood(const RunConfig& config, const EvalOptions& options, Sequential<Real>& model,
                  const RunData& d, const Predictions& test, RunFile& file,
                  const Communicator& comm, std::ostream& log) {
  const Split& ood = d.ood;
  const std::string ood_set = ood_set_name(config);
  const Predictions ood_predictions =
      evaluate(model, to_device(ood.rows), ood.first, ood.total,
               with_progress(options, ood_set, comm, log), comm)
          .rows;
  if (config.output.write_predictions)
    file.write_predictions(ood_set, ood_predictions, ood.first, ood.total);
  report_ood(file, "test", test, d.test_split.first, d.test_split.total, ood_set,
             ood_predictions, ood.first, ood.total, comm, log);
}

// A regression's test set and OOD set: predicted, written and reported in the targets'
// units (app/regression_report.hpp).
void evaluate_regression_sets(const RunConfig& config, Sequential<Real>& model, const RunData& d,
                              RunFile& file, const Communicator& comm, std::ostream& log) {
  const EvalOptions options = eval_options(config);
  const int samples = config.eval.samples;
  const RegressionEvaluation test =
      evaluate_regression(model, d.test, d.test_split.first, d.test_split.total,
                          with_progress(options, "test", comm, log), d.standardization, comm);
  write_regression_set(file, "test", test, config.output.write_predictions, samples,
                       format("test (MC predictive mixture, S=%.0f)", samples), log);
  const double passes_per_second =
      comm.allreduce_sum(test.rows.count * test.rows.samples / test.rows.seconds);
  log << format("inference: %.0f example-passes/s over all ranks", passes_per_second) << std::endl;
  if (!config.ood.enabled()) return;
  const Split& ood = d.ood;
  const std::string name = ood_set_name(config);
  const RegressionEvaluation out =
      evaluate_regression(model, to_device(ood.rows), ood.first, ood.total,
                          with_progress(options, name, comm, log), d.standardization, comm);
  write_regression_set(file, name, out, config.output.write_predictions, samples,
                       "OOD set " + name, log);
  report_regression_ood(file, "test", test, name, out, d.standardization, comm, log);
}

// The trained model on the test set (and the OOD set): the MC predictive, its metrics
// and, for classes, at eval.temperature's T.
void evaluate_final(const RunConfig& config, Sequential<Real>& model, const RunData& d,
                    RunFile& file, const Communicator& comm, std::ostream& log) {
  if (config.model.regression()) return evaluate_regression_sets(config, model, d, file, comm, log);
  const EvalOptions options = final_options(config, model, d, file, comm, log);
  const Predictions test = evaluate_test(config, options, model, d, file, comm, log);
  if (config.ood.enabled()) evaluate_ood(config, options, model, d, test, file, comm, log);
}

// The last lines: where the results are, and where the time went.
void log_wall_time(const TrainingRecord& record, double final_seconds) {
  const double total = record.wall.seconds(), training = record.trainer.training_seconds();
  record.log << "output: " << record.paths.run << std::endl
             << format("wall time: %.1f s in total: training %.1f s, final evaluation %.1f s, "
                       "reading data and setting up %.1f s", total,
                       training, final_seconds, std::max(0.0, total - training - final_seconds))
             << std::endl;
}

}  // namespace

RunOutcome run_train(const RunConfig& config, Communicator& comm, const TrainOptions& options,
                     std::ostream& log) {
  const Kokkos::Timer wall;
  log_banner(config, comm, log);
  const RunData data = load_data(config, comm, log);
  const EvalSet eval = eval_set(data);
  const auto model = build_network(config, data, comm);
  Trainer trainer(config.train, config.parallel.batch_mode, config.model.prior_sigma, *model,
                  data.train, comm, log);
  const RunPaths paths = run_paths(config);
  const StepSpan span{trainer.total_steps(), trainer.steps_per_epoch(), data.train.global_count};
  const StartPoint start = choose_start(config, options.restart, paths, span, comm);
  log_start(options, start, paths, trainer, data.train.global_count, log);
  if (start.finished) return RunOutcome::up_to_date;
  Progress progress = resume_or_initialise(config, start, options.restart.force, comm, trainer,
                                           model->parameters(), log);
  if (progress.resumed)
    check_restart_data(progress, start.from, data, config, options.restart.force, comm, log);
  progress.standardization = data.standardization;
  log_model(config, *model, trainer, log);
  if (options.dry_run) return log_dry_run(config, start, trainer, log), RunOutcome::checked;
  const auto step_dump = open_step_dump(config, paths, data, trainer, *model, comm, log);

  // The run file is created before training, with the history so far, so that a run
  // that dies keeps its history.
  create_output_dir(paths, comm);
  const RunLock lock(std::filesystem::path(paths.run).replace_extension(".lock").string(),
                     paths.run, comm);
  RunFile file(paths.run, comm, run_info(config, *model, data));
  write_history_so_far(file, config, eval, progress);
  file.write_standardization(data.standardization);

  TrainingRecord record{config, comm, trainer, *model, file, paths, eval,
                        data.train.global_count, example_noun(data.train_split.rows),
                        data.train_split.rows.class_names, data.train_checksum, wall, log,
                        std::move(progress)};
  trainer.on_log = [&record](const HistoryRow& row) { record.on_row(row); };
  trainer.seconds_before = wall.seconds();
  resume_early_stop(record);
  train(record);
  if (trainer.stopped()) return checkpoint_and_stop(record, options);
  log_training_speed(record);
  keep_trained_state(record);

  const Kokkos::Timer final_clock;
  evaluate_final(config, *model, data, file, comm, log);
  file.write_status("finished");
  log_wall_time(record, final_clock.seconds());
  return RunOutcome::finished;
}

}  // namespace kbnn
