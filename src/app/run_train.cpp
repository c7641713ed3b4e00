#include "app/run_train.hpp"

#include "app/eval_sets.hpp"
#include "core/blas_check.hpp"
#include "core/format.hpp"
#include "core/stop_signal.hpp"
#include "core/types.hpp"
#include "output/checkpoint_file.hpp"
#include "data/data_split.hpp"
#include "data/device_dataset.hpp"
#include "output/run_file.hpp"
#include "model/build_model.hpp"
#include "output/init_from_run.hpp"
#include "train/kl_divergence.hpp"
#include "train/step_dump.hpp"
#include "train/trainer.hpp"
#include "uq/evaluate.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <ostream>

#ifndef KBNN_GIT_REVISION
#define KBNN_GIT_REVISION "unknown"
#endif

namespace kbnn {

namespace {

// The training rows and, with data.validation_fraction > 0, the held-out tail of the
// training split (the last round(fraction * N) rows, as Keras's validation_split):
// the same rows on any rank count, each rank holding its shard of them.
std::pair<Split, Split> load_training(const RunConfig& config, const Communicator& comm,
                                      bool partition) {
  const SplitSource source = open_split(config.data, true, comm);
  const double fraction = config.data.validation_fraction;
  const std::int64_t held_out = std::llround(fraction * double(source.total));
  if (fraction > 0 && (held_out < 1 || held_out >= source.total))
    throw InputError(concat("input deck ", config.deck_path, ": data.validation_fraction ",
                            fraction, " of ", source.total, " training examples holds out ",
                            held_out, ": expected at least 1 and fewer than all"));
  const std::int64_t trained = source.total - held_out;
  Split validation;
  if (held_out > 0) validation = take_rows(source, trained, source.total, comm, true);
  return {take_rows(source, 0, trained, comm, partition), std::move(validation)};
}

// The model's parameters and optimizer state as a checkpoint (host copies).
Checkpoint make_checkpoint(const RunConfig& config, const Communicator& comm, Trainer& trainer,
                           const ParameterStore<Real>& store,
                           const std::vector<HistoryRow>& history,
                           const std::vector<EvalRow>& eval_history) {
  Checkpoint c;
  c.step = trainer.step();
  c.ranks = comm.size();
  c.seed = config.train.seed;
  c.optimizer_steps = trainer.optimizer().steps();
  c.deck_text = resolved_deck(config);
  const auto to_vector = [](const View1<Real>& v) {
    const auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), v);
    return std::vector<float>(host.data(), host.data() + host.size());
  };
  c.parameters = to_vector(store.values());
  const auto state = trainer.optimizer().state();
  c.state_names = trainer.optimizer().state_names();
  for (const auto& s : state) c.state.push_back(to_vector(s));
  c.history = history;
  c.eval_history = eval_history;
  c.window = trainer.window();
  c.keep = keep_mask_of(store);
  return c;
}

// The checkpoint to resume from, as RestartOptions says: "" when the run starts fresh.
std::string restart_path(const RestartOptions& restart, const std::string& own_checkpoint,
                         const Communicator& comm) {
  if (restart.from != "auto") return restart.from;
  // Rank 0 looks, so that every rank takes the same decision.
  std::string found =
      comm.is_root() && std::filesystem::exists(own_checkpoint) ? own_checkpoint : "";
  comm.broadcast(found);
  return found;
}

// Refuses a checkpoint trained with another model, seed, batch or optimizer (unless forced).
void check_resumable(const Checkpoint& c, const std::string& path, const RunConfig& config,
                     bool force, std::ostream& log) {
  const std::string mismatch =
      restart_mismatch(parse_deck_text(c.deck_text, path + ": /checkpoint deck"), config);
  if (mismatch.empty()) return;
  if (!force)
    throw InputError(concat(path, ": the checkpoint does not match the deck: ", mismatch,
                            " (--restart-force continues anyway)"));
  log << "warning: --restart-force: the checkpoint does not match the deck: " << mismatch
      << std::endl;
}

void restore(const Checkpoint& c, const std::string& path, Trainer& trainer,
             const ParameterStore<Real>& store) {
  const auto state = trainer.optimizer().state();
  if (c.state.size() != state.size())
    throw InputError(concat(path, ": the checkpoint holds ", c.state.size(),
                            " optimizer buffers, but this deck's optimizer has ", state.size()));
  load_parameters(c, path, store);  // and the keep mask of a pruned model
  for (std::size_t i = 0; i < state.size(); ++i)
    Kokkos::deep_copy(state[i], Kokkos::View<const float*, HostSpace,
                                             Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                    c.state[i].data(), c.state[i].size()));
  trainer.optimizer().set_steps(c.optimizer_steps);
}

void write_weights(RunFile& file, const ParameterStore<Real>& store) {
  const auto values = Kokkos::create_mirror_view_and_copy(HostSpace(), store.values());
  for (const auto& b : store.blocks()) {
    const auto slash = b.name.find('/');
    const std::string layer = b.name.substr(0, slash), tensor = b.name.substr(slash + 1);
    const auto copy = [&](std::size_t offset) {
      return std::vector<float>(values.data() + offset, values.data() + offset + b.count);
    };
    if (b.kind == ParameterStore<Real>::Kind::point) {
      file.write_weights(layer, tensor, copy(b.offset), b.shape);
    } else {
      file.write_weights(layer, tensor + "_mu", copy(b.offset), b.shape);
      file.write_weights(layer, tensor + "_rho", copy(b.offset + store.gaussian_count()), b.shape);
    }
  }
}

}  // namespace

RunOutcome run_train(const RunConfig& config, Communicator& comm, const RestartOptions& restart,
                     std::ostream& log) {
  log << "kbnn " << KBNN_VERSION << " (" << KBNN_GIT_REVISION << "): deck " << config.deck_path
      << ", " << comm.size() << " MPI rank(s), Kokkos " << ExecSpace::name() << ", "
      << blas_description() << std::endl;
  if (const std::string warning = blas_warning(); !warning.empty()) log << warning << std::endl;

  // Data. Training: every rank holds all of it (shuffle = global) or its partition
  // (local). Test and validation: every rank predicts its contiguous shard of the rows.
  Kokkos::Timer load_clock;
  TrainingData train;
  train.local = config.data.shuffle == ShuffleScope::local;
  const std::pair<Split, Split> loaded = load_training(config, comm, train.local);
  const Split& train_split = loaded.first;
  const Split& validation_split = loaded.second;
  const Dataset& train_host = train_split.rows;
  train.data = to_device(train_host);
  train.global_count = train_split.total;
  const DeviceDataset validation = to_device(validation_split.rows);
  const Split test_split = load_split(config.data, false, comm, true);
  const DeviceDataset test = to_device(test_split.rows);
  const std::int64_t n_test = test_split.total;
  // The OOD set ([ood]) is read now, so a bad one stops the run before training.
  const Split ood = config.ood.enabled()
                             ? load_ood_rows(config, comm, PredictSplit::examples, test_split.rows)
                             : Split{};
  log << "data: " << train.global_count << " training and " << n_test << " test images of "
      << train_host.height << "x" << train_host.width << "x" << train_host.channels << " ("
      << load_clock.seconds() << " s), training set " << (train.local ? "partitioned" : "replicated")
      << " over ranks";
  if (validation_split.total > 0)
    log << "; the last " << validation_split.total << " training images held out for validation";
  log << std::endl;

  // The set that eval.every_epochs evaluates.
  const bool on_validation = validation_split.total > 0;
  const std::string eval_set = on_validation ? "validation" : "test";
  const DeviceDataset& eval_rows = on_validation ? validation : test;
  const Split& eval_split = on_validation ? validation_split : test_split;
  // Every evaluation: S samples, ranks split the examples (uq/evaluate.hpp).
  const EvalOptions eval_options = kbnn::eval_options(config);

  // Model, and the same starting point on every rank.
  auto model = build_model<Real>(config.model, train.data.shape);
  const auto classes = model->output_shape().size();
  if (classes != train_host.num_classes)
    throw InputError(concat("input deck ", config.deck_path, ": the model ends with ", classes,
                            " outputs but the data has ", train_host.num_classes, " classes"));
  const std::int64_t train_rows =
      max_rows_per_rank(config.train.batch_size, config.parallel.batch_mode, comm.size());
  model->finalize(config.train.seed, static_cast<int>(std::max(train_rows, config.eval.batch_size)));
  auto& store = model->parameters();
  // KBNN_PROFILE_LAYERS=1: time every layer (fences after each; slows the run a little).
  const char* profile = std::getenv("KBNN_PROFILE_LAYERS");
  model->enable_profiling(profile != nullptr && std::string(profile) == "1");
  Trainer trainer(config.train, config.parallel.batch_mode, config.model.prior_sigma, *model,
                  train, comm, log);

  const std::filesystem::path dir(config.output.dir);
  const std::string run_path = (dir / (run_name(config) + ".h5")).string();
  const std::string checkpoint_path = (dir / (run_name(config) + ".checkpoint.h5")).string();

  // Where training starts. The checkpoint is read before the run file is created, so
  // that a run file can be its own restart point.
  std::int64_t start_step = 0;
  TrainingWindow window;
  std::vector<HistoryRow> history;  // every row of this run, from its first step
  std::vector<EvalRow> eval_history;  // every evaluation of this run
  const std::string from = restart_path(restart, checkpoint_path, comm);
  if (restart.from == "auto" && from.empty())
    log << "restart: auto: no " << checkpoint_path << " yet, starting fresh" << std::endl;
  if (!from.empty()) {
    const Checkpoint c = read_checkpoint(from, comm);
    check_resumable(c, from, config, restart.force, log);
    restore(c, from, trainer, store);
    start_step = c.step;
    window = c.window;
    history = c.history;
    eval_history = c.eval_history;
    log << "restart: " << from << " at step " << c.step << " (written by " << c.ranks
        << " rank(s))" << std::endl;
    if (!c.keep.empty())
      log << "restart: a pruned model: "
          << std::count(c.keep.begin(), c.keep.end(), std::uint8_t(0)) << " of " << c.keep.size()
          << " Bayesian weights stay removed" << std::endl;
    // Another rank count sums each gradient in another order: the run goes on
    // correctly, but is no longer bit-identical to an uninterrupted one.
    if (c.ranks != comm.size())
      log << "note: the checkpoint was written by " << c.ranks << " rank(s), this run has "
          << comm.size() << ": the continuation is not bit-identical" << std::endl;
  } else {
    if (!config.model.init_from.empty()) {
      initialize_from_run(store, config.model.init_from, config.model.moped_delta);
      log << "init: mu from " << config.model.init_from
          << (config.model.moped_delta > 0
                  ? concat(", sigma = ", config.model.moped_delta, " |mu| (MOPED)")
                  : std::string(", rho from model.init_rho_mean"))
          << std::endl;
    }
    comm.broadcast(store.values());
  }
  log << "model: " << model->layers().size() << " layers, " << store.gaussian_count()
      << " Gaussian weights (mu, rho), " << store.size() - 2 * store.gaussian_count()
      << " point parameters; KL " << kl_divergence(store, config.model.prior_sigma)
      << "; global batch " << trainer.global_batch() << ", " << trainer.steps_per_epoch()
      << " steps per epoch" << std::endl;
  std::unique_ptr<StepDump> dump;
  if (config.debug.dump_steps > 0) {
    // absolute() first: weakly_canonical leaves a relative path to a file that does not
    // exist yet relative ("run.h5" would not equal "./run.h5").
    const auto same_file = [&](const std::string& other) {
      const auto where = [](const std::string& p) {
        return std::filesystem::weakly_canonical(std::filesystem::absolute(p));
      };
      return where(config.debug.dump_file) == where(other);
    };
    if (same_file(run_path) || same_file(checkpoint_path))
      throw InputError(concat("debug.dump_file: ", config.debug.dump_file,
                              " is this run's run file or checkpoint; name another file"));
    const TrainConfig& t = config.train;
    dump = std::make_unique<StepDump>(
        config.debug.dump_file, config.debug.dump_steps,
        StepDumpRun{t.seed, train.global_count, trainer.global_batch(), trainer.peak_learning_rate(),
                    config.model.prior_sigma, t.adam_beta1, t.adam_beta2, t.adam_epsilon,
                    resolved_deck(config), train.local ? train_split.first : 0},
        *model, comm);
    trainer.step_dump = dump.get();
    log << "debug: recording the first " << config.debug.dump_steps << " steps in "
        << config.debug.dump_file << std::endl;
  }

  // Output: the run file is created before training, with the history so far, so a
  // run that dies keeps its history.
  if (comm.is_root()) std::filesystem::create_directories(dir);
  comm.barrier();
  RunFile file(run_path, comm,
               RunInfo{KBNN_VERSION, KBNN_GIT_REVISION, ExecSpace::name(), config.deck_path,
                       resolved_deck(config)});
  file.append_history(history);
  const int eval_every = config.eval.every_epochs;
  if (eval_every > 0 || !eval_history.empty()) {
    file.start_eval_history(eval_set, config.eval.samples, eval_split.total);
    file.append_eval(eval_history);
  }
  std::int64_t last_checkpoint = -1;
  double eval_seconds = 0;  // inside the trainer's clock, but not training
  trainer.on_log = [&](const HistoryRow& row) {
    history.push_back(row);
    file.append_history({row});
    // Every epoch ends with a row; its evaluation comes before that step's checkpoint,
    // which then holds it.
    const std::int64_t epoch = row.step / trainer.steps_per_epoch();
    if (eval_every > 0 && row.step % trainer.steps_per_epoch() == 0 && epoch % eval_every == 0) {
      Kokkos::Timer eval_clock;
      const Metrics m =
          evaluate(*model, eval_rows, eval_split.first, eval_split.total, eval_options, comm).metrics;
      eval_seconds += eval_clock.seconds();
      eval_history.push_back(
          EvalRow{row.step, double(epoch), m.accuracy, m.nll, m.ece, m.mean_entropy});
      file.append_eval({eval_history.back()});
      log << "eval   epoch " << epoch << " on " << eval_set
          << format(" (%.0f images, S=%.0f): accuracy %.4f  nll %.4f  ece %.4f  entropy %.4f",
                    double(eval_split.total), config.eval.samples, m.accuracy, m.nll, m.ece,
                    m.mean_entropy)
          << std::endl;
    }
    const int every = config.output.checkpoint_every;
    if (every > 0 && row.step % every == 0) {
      write_checkpoint(checkpoint_path, comm,
                       make_checkpoint(config, comm, trainer, store, history, eval_history));
      last_checkpoint = row.step;
    }
  };

  try {
    trainer.run(start_step, window);
  } catch (const DivergenceError& e) {
    throw DivergenceError(concat(
        e.what(), "; ",
        last_checkpoint >= 0
            ? concat("the last good checkpoint is ", checkpoint_path, " (step ", last_checkpoint,
                     "): restart from it with a smaller train.lr")
            : std::string(config.output.checkpoint_every > 0
                              ? "no checkpoint was written before"
                              : "no checkpoints were asked for (output.checkpoint_every = 0)"),
        "; the history so far is in ", run_path));
  }
  if (trainer.stopped()) {
    write_checkpoint(checkpoint_path, comm,
                     make_checkpoint(config, comm, trainer, store, history, eval_history));
    log << "stopped by a signal after step " << trainer.step()
        << ": checkpoint " << checkpoint_path << "; continue with: kbnn train "
        << config.deck_path << " --restart auto (exit status " << exit_status_stopped << ")"
        << std::endl;
    return RunOutcome::stopped;
  }
  const double seconds = trainer.training_seconds() - eval_seconds;
  const double images_per_second = seconds > 0 ? trainer.images_trained() / seconds : 0;
  const double flops = training_flops_per_example(*model);
  log << format("training: %.0f images in %.2f s = %.0f images/s, %.2f GFLOP/s in gemms "
             "(%.1f MFLOP per batch-128 step)",
        double(trainer.images_trained()), seconds, images_per_second,
        images_per_second * flops * 1e-9, flops * 128 * 1e-6);
  if (eval_seconds > 0) log << format("; evaluations during training %.2f s", eval_seconds);
  log << std::endl;
  if (profile != nullptr && std::string(profile) == "1") log << model->profile_report();
  write_weights(file, store);
  const Checkpoint final_state =
      make_checkpoint(config, comm, trainer, store, history, eval_history);
  file.write_checkpoint(final_state);
  if (config.output.checkpoint_every > 0)
    write_checkpoint(checkpoint_path, comm, final_state);

  // Monte-Carlo prediction on this rank's test rows; metrics from sums over ranks.
  const Evaluation final_test =
      evaluate(*model, test, test_split.first, n_test, eval_options, comm);
  const Predictions& predictions = final_test.rows;
  const Metrics& m = final_test.metrics;
  if (config.output.write_predictions)
    file.write_predictions("test", predictions, test_split.first, n_test);
  file.write_metrics("test", m, config.eval.samples);
  const double passes_per_second =
      comm.allreduce_sum(predictions.count * predictions.samples / predictions.seconds);

  log << format("test (MC predictive mean, S=%.0f): accuracy %.4f  NLL %.4f  Brier %.4f  "
             "ECE(15) %.4f",
        config.eval.samples, m.accuracy, m.nll, m.brier, m.ece) << std::endl;
  log << format("test uncertainty (nats, mean): predictive entropy %.4f = aleatoric %.4f + "
             "epistemic %.4f",
        m.mean_entropy, m.mean_aleatoric, m.mean_epistemic) << std::endl;
  log << format("inference: %.0f image-passes/s over all ranks", passes_per_second) << std::endl;
  if (config.ood.enabled()) {
    // The OOD set's shard, predicted as the test set was (ranks split the examples).
    const Predictions ood_predictions =
        predict(*model, to_device(ood.rows), ood.first, config.eval.samples,
                config.eval.batch_size, config.train.seed);
    const std::string ood_set = ood_set_name(config);
    if (config.output.write_predictions)
      file.write_predictions(ood_set, ood_predictions, ood.first, ood.total);
    report_ood(file, "test", predictions, test_split.first, n_test, ood_set, ood_predictions,
               ood.first, ood.total, comm, log);
  }
  log << "output: " << run_path << std::endl;
  return RunOutcome::finished;
}

}  // namespace kbnn
