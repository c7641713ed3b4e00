#include "app/training_state.hpp"

#include "app/deck.hpp"
#include "app/file_kind.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "output/checkpoint_file.hpp"
#include "output/init_from_run.hpp"
#include "output/run_file.hpp"
#include "parallel/agree.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <ostream>

namespace kbnn {

namespace {

// How far the deck trains, in its own words: "train.epochs = 2 (10 steps)".
std::string deck_limit(const RunConfig& config, StepSpan span) {
  const TrainConfig& t = config.train;
  if (t.max_steps > 0 && t.max_steps == span.total)
    return concat("train.max_steps = ", t.max_steps);
  return concat("train.epochs = ", t.epochs, " (", span.total, " steps)");
}

std::string epoch_of(std::int64_t step, StepSpan span) {
  return format("%.2f", double(step) / double(span.per_epoch));
}

// A plain `kbnn train` would replace the file of a run that finished or was stopped.
void refuse_overwrite(const RunConfig& config, const RunPaths& paths, RunFileState state) {
  if (config.output.overwrite) return;
  if (state == RunFileState::finished)
    throw InputError(concat(paths.run, " holds a finished run (kbnn info ", paths.run,
                            "): set output.overwrite = true to replace it, give another "
                            "output.name, or train it further with --restart ", paths.run,
                            " and a larger train.epochs"));
  if (state == RunFileState::stopped)
    throw InputError(concat(paths.run, " holds a run that a signal stopped: continue it with "
                            "--restart auto, or set output.overwrite = true to start afresh"));
}

bool is_run_file(FileKind kind) {
  return kind == FileKind::finished_run || kind == FileKind::stopped_run ||
         kind == FileKind::unfinished_run || kind == FileKind::finished_ensemble ||
         kind == FileKind::unfinished_ensemble;
}

// Every run (re)writes <output.dir>/<run name>.h5. A file there that holds no run is
// someone's data: the training set itself when a deck and its data share a name
// (pulses.cfg beside pulses.h5), a prediction, a checkpoint. Replaced only when
// output.overwrite says so.
void refuse_foreign_file(const RunConfig& config, const RunPaths& paths) {
  std::error_code ec;
  if (config.output.overwrite || !std::filesystem::exists(paths.run, ec)) return;
  const std::optional<FileKind> kind = file_kind(paths.run);
  if (kind && is_run_file(*kind)) return;
  const std::string held =
      kind ? concat("a ", kind_text(*kind)) : std::string("a file that kbnn did not write");
  throw InputError(concat(paths.run, " holds ", held, ", not a run: this run (run name '",
                          run_name(config), "') would replace it with its run file; give "
                          "another output.name or output.dir (or set output.overwrite = true "
                          "to replace it)"));
}

// The checkpoint in `from` (a checkpoint or run file) as the place to start from.
StartPoint start_at(const std::string& from) {
  return {from, read_checkpoint_place(from), false};
}

// Whether a finished run's checkpoint leaves nothing to train up to `total`: it is there,
// or (train.early_stop) it is the best evaluation's state of a run that went on to
// `total` or that the early stop ended.
bool trained_up_to(const CheckpointPlace& p, std::int64_t total) {
  return p.step >= total || p.trained_to >= total || p.ended_early;
}

// --restart auto: the later of the checkpoint file and the finished run's own file. A
// stopped run without its checkpoint is refused unless output.overwrite: a fresh start
// would replace its file and history, which a plain run refuses too.
StartPoint auto_start(const RunConfig& config, const RunPaths& paths, RunFileState state,
                      StepSpan span) {
  StartPoint start;
  if (std::filesystem::exists(paths.checkpoint)) start = start_at(paths.checkpoint);
  if (state == RunFileState::stopped && start.from.empty() && !config.output.overwrite)
    throw InputError(concat("--restart auto: ", paths.run, " holds a run that a signal stopped, "
                            "but its checkpoint ", paths.checkpoint, " is missing: put it back "
                            "to continue the run, or start over with output.overwrite = true "
                            "or another output.name"));
  if (state == RunFileState::finished) {
    const StartPoint finished = start_at(paths.run);
    if (start.from.empty() || finished.place.step >= start.place.step) start = finished;
  }
  start.finished = state == RunFileState::finished && trained_up_to(start.place, span.total);
  return start;
}

// A checkpoint's steps count epochs of its training set: on a set of another size every
// epoch's steps and shuffle would differ, and "step 72" would mean another point of
// training. Checkpoints of older versions do not record the size.
void check_training_size(const StartPoint& start, StepSpan span, bool force) {
  const std::int64_t examples = start.place.train_examples;
  if (examples == 0 || examples == span.examples || force) return;
  throw InputError(concat(start.from, ": the checkpoint was trained on ", examples,
                          " training examples, the data now has ", span.examples,
                          " (data.train_limit, data.validation_fraction or the data set "
                          "changed): an epoch's steps and shuffle depend on it, so train on "
                          "as many (--restart-force continues anyway)"));
}

// Rank 0's decision (see choose_start).
StartPoint start_on_root(const RunConfig& config, const RestartOptions& restart,
                         const RunPaths& paths, StepSpan span) {
  refuse_foreign_file(config, paths);
  const RunFileState state = run_file_state(paths.run);
  if (restart.from.empty()) {
    refuse_overwrite(config, paths, state);
    return {};
  }
  if (restart.from == "auto") {
    const StartPoint start = auto_start(config, paths, state, span);
    check_training_size(start, span, restart.force);
    return start;
  }
  const StartPoint start = start_at(restart.from);
  check_training_size(start, span, restart.force);
  const std::int64_t step = start.place.step;
  if (step >= span.total)
    throw InputError(concat(restart.from, ": the checkpoint is at step ", step, " (epoch ",
                            epoch_of(step, span), "), where the deck's ",
                            deck_limit(config, span), " ends: nothing left to train. A restart "
                            "trains up to train.epochs, not that many more: raise it to train on"));
  return start;
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

// Restores the checkpoint at `from` into the trainer and the model's parameters.
Progress resume(const std::string& from, const RunConfig& config, bool force,
                const Communicator& comm, Trainer& trainer, const ParameterStore<Real>& store,
                std::ostream& log) {
  const Checkpoint c = read_checkpoint(from, comm);
  // The same checkpoint and deck on every rank: these fail alike; agreed, they end the
  // job with one message.
  agree_or_throw(comm.get(), [&] {
    check_resumable(c, from, config, force, log);
    restore(c, from, trainer, store);
  });
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
  return {c.step,        c.window,         c.history, c.eval_history, c.standardization,
          c.class_names, c.train_checksum, true};
}

// A fresh start: the random initialisation, or MOPED's from model.init_from, then rank
// 0's parameters on every rank.
void initialise(const RunConfig& config, Communicator& comm, ParameterStore<Real>& store,
                std::ostream& log) {
  const ModelConfig& m = config.model;
  if (!m.init_from.empty()) {
    agree_or_throw(comm.get(), [&] { initialize_from_run(store, m.init_from, m.moped_delta); });
    log << "init: mu from " << m.init_from
        << (m.moped_delta > 0 ? concat(", sigma = ", m.moped_delta, " |mu| (MOPED)")
                              : std::string(", rho from model.init_rho_mean"))
        << std::endl;
  }
  comm.broadcast(ExecSpace(), store.values());
}

}  // namespace

RunPaths run_paths(const RunConfig& config) {
  const std::filesystem::path dir(config.output.dir);
  const auto path = [&](const char* ending) {
    return (dir / (run_name(config) + ending)).string();
  };
  return {dir, path(".h5"), path(".checkpoint.h5"), path(".best.h5")};
}

StartPoint choose_start(const RunConfig& config, const RestartOptions& restart,
                        const RunPaths& paths, StepSpan span, const Communicator& comm) {
  StartPoint start;
  agree_or_throw(comm.get(), [&] {
    if (comm.is_root()) start = start_on_root(config, restart, paths, span);
  });
  comm.broadcast(start.from);
  CheckpointPlace& p = start.place;
  std::int64_t fields[] = {p.step, p.train_examples, p.trained_to, p.ended_early, start.finished};
  comm.broadcast(fields, 5);
  p = {fields[0], fields[1], fields[2], fields[3] != 0};
  start.finished = fields[4] != 0;
  return start;
}

Progress resume_or_initialise(const RunConfig& config, const StartPoint& start, bool force,
                              Communicator& comm, Trainer& trainer, ParameterStore<Real>& store,
                              std::ostream& log) {
  if (!start.from.empty()) return resume(start.from, config, force, comm, trainer, store, log);
  initialise(config, comm, store, log);
  return {};
}

Checkpoint make_checkpoint(const RunConfig& config, const Communicator& comm,
                           const Trainer& trainer, const ParameterStore<Real>& store,
                           const Progress& progress) {
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
  c.history = progress.history;
  c.eval_history = progress.eval_history;
  c.window = trainer.window();
  c.keep = keep_mask_of(store);
  c.standardization = progress.standardization;
  return c;
}

}  // namespace kbnn
