#include "app/training_state.hpp"

#include "app/deck.hpp"
#include "core/error.hpp"
#include "output/checkpoint_file.hpp"
#include "output/init_from_run.hpp"

#include <algorithm>
#include <filesystem>
#include <ostream>

namespace kbnn {

namespace {

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

// Restores the checkpoint at `from` into the trainer and the model's parameters.
Progress resume(const std::string& from, const RunConfig& config, bool force,
                const Communicator& comm, Trainer& trainer, const ParameterStore<Real>& store,
                std::ostream& log) {
  const Checkpoint c = read_checkpoint(from, comm);
  check_resumable(c, from, config, force, log);
  restore(c, from, trainer, store);
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
  return {c.step, c.window, c.history, c.eval_history, c.standardization, true};
}

// A fresh start: the random initialisation, or MOPED's from model.init_from, then rank
// 0's parameters on every rank.
void initialise(const RunConfig& config, Communicator& comm, ParameterStore<Real>& store,
                std::ostream& log) {
  const ModelConfig& m = config.model;
  if (!m.init_from.empty()) {
    initialize_from_run(store, m.init_from, m.moped_delta);
    log << "init: mu from " << m.init_from
        << (m.moped_delta > 0 ? concat(", sigma = ", m.moped_delta, " |mu| (MOPED)")
                              : std::string(", rho from model.init_rho_mean"))
        << std::endl;
  }
  comm.broadcast(ExecSpace(), store.values());
}

}  // namespace

Progress resume_or_initialise(const RunConfig& config, const RestartOptions& restart,
                              const std::string& own_checkpoint, Communicator& comm,
                              Trainer& trainer, ParameterStore<Real>& store, std::ostream& log) {
  const std::string from = restart_path(restart, own_checkpoint, comm);
  if (restart.from == "auto" && from.empty())
    log << "restart: auto: no " << own_checkpoint << " yet, starting fresh" << std::endl;
  if (!from.empty()) return resume(from, config, restart.force, comm, trainer, store, log);
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
