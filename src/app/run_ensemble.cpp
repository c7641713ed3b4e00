#include "app/run_ensemble.hpp"

#include "app/deck.hpp"
#include "app/ensemble_eval.hpp"
#include "app/ensemble_info.hpp"
#include "app/eval_sets.hpp"
#include "app/git_revision.hpp"
#include "app/regression_report.hpp"
#include "app/trained_run.hpp"
#include "core/format.hpp"
#include "core/stop_signal.hpp"
#include "data/device_dataset.hpp"
#include "output/checkpoint_file.hpp"
#include "output/ensemble_file.hpp"
#include "parallel/agree.hpp"
#include "parallel/rank_groups.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>


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

// A member's options: the ensemble's, its restart naming no file. --restart auto
// resumes each member as a single run resumes (choose_start: the later of its checkpoint
// file and its finished run file; a finished member is left as it is).
TrainOptions member_options(const TrainOptions& options) {
  TrainOptions m = options;
  if (!m.restart.from.empty()) m.restart.from = "auto";
  return m;
}

// A member's state after its group's turn, world-wide in all_done (summed over ranks:
// the group's rank 0 alone sets its members' entries).
enum MemberState : int { not_done = 0, trained = 1, up_to_date = 2, checked = 3 };

// What a group's training came to: the state of each member it got to (a signal or an
// error ends its turn), and an error its ranks agreed on (which the world then agrees on).
struct GroupOutcome {
  std::vector<std::pair<int, MemberState>> members;
  std::string error;
  bool input_error = false;
};

MemberState state_of(RunOutcome done) {
  switch (done) {
    case RunOutcome::finished: return trained;
    case RunOutcome::up_to_date: return up_to_date;
    case RunOutcome::checked: return checked;
    case RunOutcome::stopped: break;
  }
  return not_done;
}

GroupOutcome train_members(const RunConfig& config, const Plan& plan, Communicator& group,
                           const TrainOptions& options, bool world_root, std::ostream& log) {
  GroupOutcome outcome;
  for (std::size_t i = 0; i < plan.mine.size(); ++i) {
    const int k = plan.mine[i];
    MemberLog buffer(member_file(config, k, ".log"), group.is_root() && !options.dry_run,
                     world_root ? &log : nullptr, k);
    std::ostream member_log(&buffer);
    member_log << "ensemble member " << k << " of " << plan.members << ", seed "
               << member_seed(config.train.seed, k) << ": group " << plan.group << " of "
               << plan.groups << " (" << ranks_text(plan.group, plan) << "), its member "
               << i + 1 << " of " << plan.mine.size() << std::endl;
    MemberState state = not_done;
    try {
      state = state_of(run_train(member_config(config, k), group, member_options(options),
                                 member_log));
    } catch (const AgreedInputError& e) {  // every rank of the group has it
      outcome.error = concat("ensemble member ", k, ": ", e.what());
      outcome.input_error = true;
    } catch (const AgreedRuntimeError& e) {
      outcome.error = concat("ensemble member ", k, ": ", e.what());
    }
    if (state == not_done) break;  // stopped or failed: no further member
    outcome.members.emplace_back(k, state);
  }
  return outcome;
}

// Collective over the world: an error any group agreed on is thrown on every rank; then
// every member's state (MemberState), and a stop's message if a member is not done.
std::vector<int> all_done(const RunConfig& config, const GroupOutcome& outcome, const Plan& plan,
                          const TrainOptions& options, const Communicator& comm,
                          std::ostream& log) {
  agree_or_throw(comm.get(), [&] {
    if (outcome.error.empty()) return;
    if (outcome.input_error) throw InputError(outcome.error);
    throw RuntimeError(outcome.error);
  });
  std::vector<int> states(plan.members, not_done);
  if (comm.rank() == shard(plan.ranks, plan.group, plan.groups).first)  // the group's rank 0
    for (const auto& [k, state] : outcome.members) states[k] = state;
  comm.allreduce_sum(states.data(), states.size());
  std::string unfinished;
  for (int k = 0; k < plan.members; ++k)
    if (states[k] == not_done) unfinished += concat(unfinished.empty() ? "" : ", ", k);
  if (!unfinished.empty())
    log << "ensemble: stopped by a signal with member(s) " << unfinished
        << " unfinished (checkpoints in " << members_dir(config) << "; exit status "
        << exit_status_stopped << ")\ncontinue with: " << options.continue_command << std::endl;
  return states;
}

RunInfo ensemble_info(const RunConfig& config, const TrainedRun& run,
                      const Sequential<Real>& model) {
  RunInfo info{KBNN_VERSION, git_revision(), ExecSpace::name(), config.deck_path,
               resolved_deck(config)};
  info.with_history = false;
  info.input = model.input_shape();
  info.class_names = run.checkpoint.class_names;  // member 0's: the members' data is one
  const DataConfig& data = config.data;
  info.train_data = data.format == DataFormat::hdf5 ? data.train_file : data.dir;
  info.train_examples = run.checkpoint.train_examples;
  info.train_checksum = run.checkpoint.train_checksum;
  info.description = concat(
      "kbnn ensemble run: the Monte-Carlo predictive of ", config.parallel.ensemble,
      " independently trained Bayesian neural networks (the mixture over members x samples), "
      "its metrics, and every member's run file in /members/<k>");
  return info;
}

void log_test(const RunConfig& config, const EvalOptions& options, const EnsembleEvaluation& e,
              std::ostream& log) {
  const Metrics& m = e.mixture.metrics;
  log << format("test (ensemble of %.0f members x S=%.0f", double(e.members),
                double(config.eval.samples))
      << temperature_text(options)
      << format("): accuracy %.4f  NLL %.4f  Brier %.4f  ECE(15) %.4f", m.accuracy, m.nll,
                m.brier, m.ece)
      << std::endl;
  log << "test uncertainty (nats, mean): predictive " << mean_entropies_text(m)
      << untempered_text(options) << std::endl;
  log_epistemic_split("test", e, log);
}

// The OOD set's mixture, written as the test set's was, and scored against it.
void evaluate_ood(const RunConfig& config, const EvalOptions& options, const TrainedRun& run,
                  Sequential<Real>& model, const Split& test_split, const EnsembleEvaluation& test,
                  RunFile& file, const Communicator& comm, std::ostream& log) {
  Split ood = load_ood_rows(config, comm, PredictSplit::examples, test_split.rows);
  apply_standardization(ood, run.checkpoint.standardization);
  log_unlabeled(ood, log);
  const EnsembleEvaluation e =
      evaluate_trained(run, model, to_device(ood.rows), ood.first, ood.total,
                       with_progress(options, ood_set_name(config), comm, log), comm);
  const std::string set = ood_set_name(config);
  if (config.output.write_predictions) {
    file.write_predictions(set, e.mixture.rows, ood.first, ood.total);
    file.write_epistemic_split(set, e.split, ood.first, ood.total);
  }
  log_epistemic_split(set, e, log);
  report_ood(file, "test", test.mixture.rows, test_split.first, test_split.total, set,
             e.mixture.rows, ood.first, ood.total, comm, log);
}

// A classifier's mixture on the test (and OOD) set, at the temperature eval.temperature
// gives (fit: the mixture's, on the validation rows).
void write_class_mixture(const RunConfig& config, const TrainedRun& run, Sequential<Real>& model,
                         const Split& test, RunFile& file, const Communicator& comm,
                         std::ostream& log) {
  const auto held_out = [&](const EvalOptions& options) {
    Split validation = load_validation_rows(config, comm);
    apply_standardization(validation, run.checkpoint.standardization);
    return evaluate_trained(run, model, to_device(validation.rows), validation.first,
                            validation.total, options, comm);
  };
  const EvalOptions options = final_eval_options(config, held_out, file, comm, log);
  const EnsembleEvaluation e =
      evaluate_trained(run, model, to_device(test.rows), test.first, test.total,
                       with_progress(options, "test", comm, log), comm);
  log_test(config, options, e, log);
  write_evaluation(file, "test", e, config.eval.samples, config.output.write_predictions);
  if (config.ood.enabled()) evaluate_ood(config, options, run, model, test, e, file, comm, log);
}

// A regression's held-out rows (data.validation_fraction) are what each member evaluated
// during training (eval.every_epochs); the mixture of classifiers fits its temperature to
// them, but a temperature scales class logits: a regression's mixture fits nothing.
void note_held_out_rows(const RunConfig& config, std::ostream& log) {
  if (config.data.validation_fraction > 0)
    log << format("ensemble: data.validation_fraction = %g: the held-out rows were each "
                  "member's evaluation set during training (its history/eval); the mixture "
                  "fits nothing to them (eval.temperature is for classes)",
                  config.data.validation_fraction)
        << std::endl;
}

// A regression's mixture of the members' Gaussians on the test (and OOD) set, written and
// reported as a single regression's sets (app/regression_report.hpp), with the split.
void write_regression_mixture(const RunConfig& config, const TrainedRun& run,
                              Sequential<Real>& model, const Split& test, RunFile& file,
                              const Communicator& comm, std::ostream& log) {
  note_held_out_rows(config, log);
  const Standardization& s = run.checkpoint.standardization;
  file.write_standardization(s);
  const EvalOptions options = eval_options(config);
  const int samples = config.eval.samples;
  const RegressionEnsembleEvaluation e =
      evaluate_trained_regression(run, model, to_device(test.rows), test.first, test.total,
                                  with_progress(options, "test", comm, log), comm);
  write_regression_evaluation(file, "test", e, config.output.write_predictions, samples,
                              format("test (ensemble of %.0f members x S=%.0f)",
                                     double(e.members), double(samples)),
                              log);
  if (!config.ood.enabled()) return;
  Split ood = load_ood_rows(config, comm, PredictSplit::examples, test.rows);
  apply_standardization(ood, s);
  log_unlabeled(ood, log);
  const std::string name = ood_set_name(config);
  const RegressionEnsembleEvaluation o =
      evaluate_trained_regression(run, model, to_device(ood.rows), ood.first, ood.total,
                                  with_progress(options, name, comm, log), comm);
  write_regression_evaluation(file, name, o, config.output.write_predictions, samples,
                              "OOD set " + name, log);
  report_regression_ood(file, "test", e.mixture, name, o.mixture, s, comm, log);
}

// Step 3: the members' mixture on the test (and OOD) set, into <run>.h5 with the members;
// its status "finished" comes last. Every set is standardized as the members' data was.
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
  Split test = load_test_rows(config, comm, PredictSplit::examples);
  const auto model = trained_model(run, run.members[0].path, test);
  apply_standardization(test, run.checkpoint.standardization);

  const std::string path = run_paths(config).run;
  RunFile file(path, comm, ensemble_info(config, run, *model));
  file.write_ensemble_attributes(plan.members, plan.groups);
  if (config.model.regression())
    write_regression_mixture(config, run, *model, test, file, comm, log);
  else
    write_class_mixture(config, run, *model, test, file, comm, log);
  file.close();
  agree_or_throw(comm.get(), [&] {
    if (comm.is_root()) copy_member_files(path, files);
  });
  if (comm.is_root()) print_ensemble_members(path, log);
  log << "output: " << path << std::endl;
}

void refuse_explicit_restart(const RunConfig& config, const RestartOptions& restart) {
  if (!restart.from.empty() && restart.from != "auto")
    throw InputError(concat("kbnn train --restart ", restart.from, ": an ensemble (parallel."
                            "ensemble = ", config.parallel.ensemble, ") resumes with --restart "
                            "auto, each member from its own files in ", members_dir(config)));
}

// A fresh ensemble (no --restart) would replace a finished ensemble's run file, or the
// files of a member that finished or was stopped: refused, as a single run's, unless
// output.overwrite. Checked before any member trains, so no group's time is spent.
void refuse_overwrite(const RunConfig& config, const RestartOptions& restart) {
  if (!restart.from.empty() || config.output.overwrite) return;
  const std::string path = run_paths(config).run;
  if (run_file_state(path) == RunFileState::finished)
    throw InputError(concat(path, " holds a finished ensemble (kbnn info ", path, "): set "
                            "output.overwrite = true to replace it, give another output.name, "
                            "or train its members further with --restart auto and a larger "
                            "train.epochs"));
  for (int k = 0; k < config.parallel.ensemble; ++k) {
    const std::string member = member_file(config, k, ".h5");
    const RunFileState state = run_file_state(member);
    if (state == RunFileState::finished || state == RunFileState::stopped)
      throw InputError(concat(member, " holds member ", k, " of an unfinished ensemble (",
                              state == RunFileState::finished ? "finished" : "stopped by a signal",
                              "): continue the ensemble with --restart auto, or set "
                              "output.overwrite = true to start afresh"));
  }
}

// Rank 0 checks the restart options against output.dir and, unless this is a dry run,
// creates the members' directory; agreed. Returns whether <run>.h5 holds a finished
// ensemble.
bool prepare_files(const RunConfig& config, const TrainOptions& options, const Communicator& comm) {
  int finished = 0;
  agree_or_throw(comm.get(), [&] {
    if (!comm.is_root()) return;
    refuse_explicit_restart(config, options.restart);
    refuse_overwrite(config, options.restart);
    finished = run_file_state(run_paths(config).run) == RunFileState::finished;
    if (options.dry_run) return;
    std::error_code ec;
    std::filesystem::create_directories(members_dir(config), ec);
    if (ec)
      throw InputError(concat("output.dir: cannot create ", members_dir(config), ": ", ec.message()));
  });
  comm.broadcast(&finished, 1);
  return finished != 0;
}

bool all_in(const std::vector<int>& states, MemberState state) {
  return std::all_of(states.begin(), states.end(), [&](int s) { return s == state; });
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

RunOutcome run_training(const RunConfig& config, Communicator& comm, const TrainOptions& options,
                        std::ostream& log) {
  if (config.parallel.ensemble > 1) return run_ensemble(config, comm, options, log);
  return run_train(config, comm, options, log);
}

RunOutcome run_ensemble(const RunConfig& config, Communicator& comm, const TrainOptions& options,
                        std::ostream& log) {
  const bool was_finished = prepare_files(config, options, comm);
  const Plan plan = make_plan(config, comm);
  log_plan(config, plan, log);

  Kokkos::Timer clock;
  const RankGroups groups(comm, plan.groups);
  Communicator group(groups.comm(), config.parallel.gpu_aware_mpi);
  const GroupOutcome outcome = train_members(config, plan, group, options, comm.is_root(), log);
  const std::vector<int> states = all_done(config, outcome, plan, options, comm, log);
  if (std::count(states.begin(), states.end(), int(not_done)) > 0) return RunOutcome::stopped;
  if (options.dry_run) {  // members already finished were left alone, the rest checked
    log << "dry run: the ensemble's " << plan.members << " members checked. Nothing trained, "
        << "nothing written." << std::endl;
    return RunOutcome::checked;
  }
  const std::string path = run_paths(config).run;
  if (all_in(states, up_to_date) && was_finished) {
    log << "restart: auto: " << path << " holds the finished ensemble, every member at its "
        << "last step: nothing to do; kbnn info " << path << " summarises it" << std::endl;
    return RunOutcome::up_to_date;
  }
  log << format("ensemble: %.0f members trained in %.1f s of wall time", double(plan.members),
                clock.seconds())
      << std::endl;
  write_ensemble_run(config, plan, comm, log);
  return RunOutcome::finished;
}

}  // namespace kbnn
