#include "app/run_ensemble.hpp"

#include "app/deck.hpp"
#include "app/ensemble_eval.hpp"
#include "app/ensemble_info.hpp"
#include "app/eval_sets.hpp"
#include "app/trained_run.hpp"
#include "core/format.hpp"
#include "core/stop_signal.hpp"
#include "data/device_dataset.hpp"
#include "output/checkpoint_file.hpp"
#include "output/ensemble_file.hpp"
#include "parallel/agree.hpp"
#include "parallel/rank_groups.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>

#ifndef KBNN_GIT_REVISION
#define KBNN_GIT_REVISION "unknown"
#endif

namespace kbnn {

namespace {

std::string members_dir(const RunConfig& config) {
  return (std::filesystem::path(config.output.dir) / (run_name(config) + ".members")).string();
}

std::string member_name(int member) { return concat("member_", member); }

// Member k's run file and checkpoint file.
std::string member_file(const RunConfig& config, int member, const char* suffix) {
  return (std::filesystem::path(members_dir(config)) / (member_name(member) + suffix)).string();
}

// A member's log: into its file (on its group's rank 0), and onto the console (on world
// rank 0) with "[member k] " before every line, so that a group's members read apart.
class MemberLog : public std::streambuf {
 public:
  MemberLog(const std::string& path, bool to_file, std::ostream* console, int member)
      : console_(console), prefix_(concat("[member ", member, "] ")) {
    if (to_file) file_.open(path, std::ios::app);
  }

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return 0;
    if (file_.is_open()) file_.put(char(c));
    if (console_ != nullptr) {
      if (line_start_) *console_ << prefix_;
      console_->put(char(c));
    }
    line_start_ = c == '\n';
    return c;
  }
  int sync() override {
    if (file_.is_open()) file_.flush();
    if (console_ != nullptr) console_->flush();
    return 0;
  }

 private:
  std::ofstream file_;
  std::ostream* console_;
  std::string prefix_;
  bool line_start_ = true;
};

// Who trains what: K members over G groups, this rank in group `group`.
struct Plan {
  int members = 1, groups = 1, group = 0, ranks = 1;
  std::vector<int> mine;  // the members this rank's group trains, in order
};

Plan make_plan(const RunConfig& config, const Communicator& comm) {
  Plan p;
  p.members = config.parallel.ensemble;
  p.ranks = comm.size();
  p.groups = group_count(p.members, config.parallel.ensemble_groups, p.ranks);
  p.group = group_of_rank(comm.rank(), p.ranks, p.groups);
  p.mine = members_of_group(p.group, p.groups, p.members);
  return p;
}

std::string ranks_text(int group, const Plan& p) {
  const auto [lo, hi] = shard(p.ranks, group, p.groups);
  return hi - lo == 1 ? concat("rank ", lo) : concat("ranks ", lo, "-", hi - 1);
}

void log_plan(const RunConfig& config, const Plan& p, std::ostream& log) {
  log << "ensemble: " << p.members << " members over " << p.groups << " rank group(s) of the "
      << p.ranks << " rank(s)"
      << (p.groups < p.members ? "; a group trains its members one after another" : "") << "\n";
  for (int g = 0; g < p.groups; ++g) {
    log << "ensemble: group " << g << " (" << ranks_text(g, p) << ") trains member(s)";
    for (const int k : members_of_group(g, p.groups, p.members))
      log << " " << k << " (seed " << member_seed(config.train.seed, k) << ")";
    log << "\n";
  }
  log << "ensemble: member files in " << members_dir(config) << std::endl;
}

// The run a member resumes with --restart auto: the later of its checkpoint file and its
// finished run file (whose /checkpoint is the end of its training), or "auto" (a fresh
// start) when there is neither. An explicit file names no member: refused up front.
RestartOptions member_restart(const RestartOptions& restart, const RunConfig& config, int member,
                              const Communicator& group) {
  if (restart.from.empty()) return restart;
  std::string from = "auto";
  if (group.is_root()) {
    const std::string checkpoint = member_file(config, member, ".checkpoint.h5");
    const std::string run = member_file(config, member, ".h5");
    const std::int64_t at_checkpoint = stored_checkpoint_step(checkpoint);
    const std::int64_t at_run = stored_checkpoint_step(run);
    if (at_checkpoint >= 0 || at_run >= 0) from = at_run > at_checkpoint ? run : checkpoint;
  }
  group.broadcast(from);
  return {from, restart.force};
}

// What a group's training came to: the members it finished, whether a signal stopped
// it, and an error its ranks agreed on (which the world then agrees on too).
struct GroupOutcome {
  std::vector<int> finished;
  bool stopped = false;
  std::string error;
  bool input_error = false;
};

GroupOutcome train_members(const RunConfig& config, const Plan& plan, Communicator& group,
                           const RestartOptions& restart, bool world_root, std::ostream& log) {
  GroupOutcome outcome;
  for (std::size_t i = 0; i < plan.mine.size(); ++i) {
    const int k = plan.mine[i];
    MemberLog buffer(member_file(config, k, ".log"), group.is_root(), world_root ? &log : nullptr, k);
    std::ostream member_log(&buffer);
    member_log << "ensemble member " << k << " of " << plan.members << ", seed "
               << member_seed(config.train.seed, k) << ": group " << plan.group << " of "
               << plan.groups << " (" << ranks_text(plan.group, plan) << "), its member "
               << i + 1 << " of " << plan.mine.size() << std::endl;
    try {
      const RunOutcome done =
          run_train(member_config(config, k), group, member_restart(restart, config, k, group),
                    member_log);
      outcome.stopped = done == RunOutcome::stopped;
    } catch (const AgreedInputError& e) {  // every rank of the group has it
      outcome.error = concat("ensemble member ", k, ": ", e.what());
      outcome.input_error = true;
    } catch (const AgreedRuntimeError& e) {
      outcome.error = concat("ensemble member ", k, ": ", e.what());
    }
    if (outcome.stopped || !outcome.error.empty()) break;  // no further member
    outcome.finished.push_back(k);
  }
  return outcome;
}

// Collective over the world: an error any group agreed on is thrown on every rank; then
// whether every member finished (if not, the unfinished ones are logged).
bool all_finished(const RunConfig& config, const GroupOutcome& outcome, const Plan& plan,
                  const Communicator& comm, std::ostream& log) {
  agree_or_throw(comm.get(), [&] {
    if (outcome.error.empty()) return;
    if (outcome.input_error) throw InputError(outcome.error);
    throw RuntimeError(outcome.error);
  });
  std::vector<int> finished(plan.members, 0);
  if (comm.rank() == shard(plan.ranks, plan.group, plan.groups).first)  // the group's rank 0
    for (const int k : outcome.finished) finished[k] = 1;
  comm.allreduce_sum(finished.data(), finished.size());
  std::string unfinished;
  for (int k = 0; k < plan.members; ++k)
    if (finished[k] == 0) unfinished += concat(unfinished.empty() ? "" : ", ", k);
  if (unfinished.empty()) return true;
  log << "ensemble: stopped by a signal with member(s) " << unfinished
      << " unfinished (checkpoints in " << members_dir(config) << "); continue with: kbnn train "
      << config.deck_path << " --restart auto (exit status " << exit_status_stopped << ")"
      << std::endl;
  return false;
}

RunInfo ensemble_info(const RunConfig& config) {
  RunInfo info{KBNN_VERSION, KBNN_GIT_REVISION, ExecSpace::name(), config.deck_path,
               resolved_deck(config)};
  info.with_history = false;
  info.description = concat(
      "kbnn ensemble run: the Monte-Carlo predictive of ", config.parallel.ensemble,
      " independently trained Bayesian neural networks (the mixture over members x samples), "
      "its metrics, and every member's run file in /members/<k>");
  return info;
}

void log_test(const RunConfig& config, const EnsembleEvaluation& e, std::ostream& log) {
  const Metrics& m = e.mixture.metrics;
  log << format("test (ensemble of %.0f members x S=%.0f): accuracy %.4f  NLL %.4f  Brier %.4f  "
                "ECE(15) %.4f",
                double(e.members), double(config.eval.samples), m.accuracy, m.nll, m.brier, m.ece)
      << std::endl;
  log << format("test uncertainty (nats, mean): predictive entropy %.4f = aleatoric %.4f + "
                "epistemic %.4f",
                m.mean_entropy, m.mean_aleatoric, m.mean_epistemic)
      << std::endl;
  log_epistemic_split("test", e, log);
}

// The OOD set's mixture, written as the test set's was, and scored against it.
void evaluate_ood(const RunConfig& config, const TrainedRun& run, Sequential<Real>& model,
                  const Split& test_split, const EnsembleEvaluation& test, RunFile& file,
                  const Communicator& comm, std::ostream& log) {
  const Split ood = load_ood_rows(config, comm, PredictSplit::examples, test_split.rows);
  const EnsembleEvaluation e = evaluate_trained(run, model, to_device(ood.rows), ood.first,
                                                ood.total, eval_options(config), comm);
  const std::string set = ood_set_name(config);
  if (config.output.write_predictions) {
    file.write_predictions(set, e.mixture.rows, ood.first, ood.total);
    file.write_epistemic_split(set, e.split, ood.first, ood.total);
  }
  log_epistemic_split(set, e, log);
  report_ood(file, "test", test.mixture.rows, test_split.first, test_split.total, set,
             e.mixture.rows, ood.first, ood.total, comm, log);
}

// Step 3: the members' mixture on the test (and OOD) set, into <run>.h5 with the members.
void write_ensemble_run(const RunConfig& config, const Plan& plan, const Communicator& comm,
                        std::ostream& log) {
  TrainedRun run;
  run.config = config;
  std::vector<MemberFile> files;
  for (int k = 0; k < plan.members; ++k) {
    run.members.push_back({member_file(config, k, ".h5"), "checkpoint"});
    files.push_back({run.members.back().path, k % plan.groups});
  }
  run.checkpoint = read_checkpoint(run.members[0].path, comm);
  const Split test = load_test_rows(config, comm, PredictSplit::examples);
  const auto model = trained_model(run, run.members[0].path, test.rows);
  const EnsembleEvaluation e = evaluate_trained(run, *model, to_device(test.rows), test.first,
                                                test.total, eval_options(config), comm);
  log_test(config, e, log);

  const std::string path =
      (std::filesystem::path(config.output.dir) / (run_name(config) + ".h5")).string();
  RunFile file(path, comm, ensemble_info(config));
  file.write_ensemble_attributes(plan.members, plan.groups);
  write_evaluation(file, "test", e, config.eval.samples, config.output.write_predictions);
  if (config.ood.enabled()) evaluate_ood(config, run, *model, test, e, file, comm, log);
  file.close();
  agree_or_throw(comm.get(), [&] {
    if (comm.is_root()) copy_member_files(path, files);
  });
  if (comm.is_root()) print_ensemble_members(path, log);
  log << "output: " << path << std::endl;
}

void refuse_explicit_restart(const RunConfig& config, const RestartOptions& restart,
                             const Communicator& comm) {
  agree_or_throw(comm.get(), [&] {
    if (!restart.from.empty() && restart.from != "auto")
      throw InputError(concat("kbnn train --restart ", restart.from, ": an ensemble (parallel."
                              "ensemble = ", config.parallel.ensemble, ") resumes with --restart "
                              "auto, each member from its own files in ", members_dir(config)));
  });
}

}  // namespace

std::uint64_t member_seed(std::uint64_t seed, int member) {
  return seed + std::uint64_t(member) * 0x9E3779B97F4A7C15ull;
}

RunConfig member_config(const RunConfig& config, int member) {
  RunConfig m = config;
  m.train.seed = member_seed(config.train.seed, member);
  m.output.dir = members_dir(config);
  m.output.name = member_name(member);
  m.parallel.ensemble = 1;
  m.parallel.ensemble_groups = 0;
  return m;
}

RunOutcome run_training(const RunConfig& config, Communicator& comm, const RestartOptions& restart,
                        std::ostream& log) {
  if (config.parallel.ensemble > 1) return run_ensemble(config, comm, restart, log);
  return run_train(config, comm, restart, log);
}

RunOutcome run_ensemble(const RunConfig& config, Communicator& comm, const RestartOptions& restart,
                        std::ostream& log) {
  refuse_explicit_restart(config, restart, comm);
  const Plan plan = make_plan(config, comm);
  log_plan(config, plan, log);
  if (comm.is_root()) std::filesystem::create_directories(members_dir(config));
  comm.barrier();

  Kokkos::Timer clock;
  const RankGroups groups(comm, plan.groups);
  Communicator group(groups.comm(), config.parallel.gpu_aware_mpi);
  const GroupOutcome outcome = train_members(config, plan, group, restart, comm.is_root(), log);
  if (!all_finished(config, outcome, plan, comm, log)) return RunOutcome::stopped;
  log << format("ensemble: %.0f members trained in %.1f s of wall time", double(plan.members),
                clock.seconds())
      << std::endl;
  write_ensemble_run(config, plan, comm, log);
  return RunOutcome::finished;
}

}  // namespace kbnn
