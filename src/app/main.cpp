// kbnn: train Bayesian neural networks. `kbnn train DECK [--section.option=value ...]`.
// main() owns MPI and Kokkos and is the only place that names MPI_COMM_WORLD. How a run
// ends (docs/design.md, "Errors"):
//   - help (`kbnn help [CMD]`, `kbnn CMD --help`), the version and `kbnn deck` are
//     answered by rank 0 before Kokkos starts (Kokkos would answer --help itself); exit 0;
//   - a usage error (bad command line): every rank sees it alike; rank 0 prints it with
//     the command's usage, and the job exits 2 through MPI_Finalize;
//   - an error every rank agreed on (a bad deck, data file, model file, a layer that does
//     not fit), or any error of a one-rank job: rank 0 prints it once, and the job exits 1
//     through MPI_Finalize;
//   - a SIGTERM or SIGUSR1 stops training after the current step on every rank; the run
//     checkpoints and exits 75 (kbnn::exit_status_stopped) through MPI_Finalize;
//   - anything else, which may have hit one rank only, ends the whole job through
//     MPI_Abort with its message, so a job never hangs waiting for a rank that died.
#include "app/command_help.hpp"
#include "app/deck.hpp"
#include "app/git_revision.hpp"
#include "app/run_ensemble.hpp"
#include "app/run_info.hpp"
#include "app/run_predict.hpp"
#include "app/run_prune.hpp"
#include "app/run_train.hpp"
#include "core/blas_check.hpp"
#include "core/error.hpp"
#include "core/stop_signal.hpp"
#include "h5/error.hpp"
#include "parallel/agree.hpp"
#include "parallel/communicator.hpp"

#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace {

using Args = std::vector<std::string>;

// A command line kbnn cannot read: the message, then the command's usage; exit status 2.
class UsageError : public kbnn::InputError {
 public:
  UsageError(const std::string& problem, std::string command)
      : kbnn::InputError(problem), command_(std::move(command)) {}
  const std::string& command() const { return command_; }

 private:
  std::string command_;
};

// An ostream that drops everything: the log of ranks other than 0.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

// Writes "kbnn: <message>" in one write, so that other ranks' lines cannot land inside it.
void report(const std::string& message) {
  const std::string text = "kbnn: " + message + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// Kokkos' options (--kokkos-num-threads=4) but --kokkos-help, which Kokkos answers.
Args without_kokkos_options(const Args& raw) {
  Args args;
  for (const std::string& a : raw)
    if (a.rfind("--kokkos-", 0) != 0 || a == "--kokkos-help") args.push_back(a);
  return args;
}

// Kokkos takes the --kokkos-* options it knows out of argv: one still there is not this
// Kokkos's (--kokkos-num-threads came with Kokkos 4; 3.x says --kokkos-threads).
void check_kokkos_options(const Args& args) {
  for (const std::string& a : args)
    if (a.rfind("--kokkos-", 0) == 0)
      throw kbnn::InputError(kbnn::concat(
          "'", a, "' is not an option of this Kokkos (", KOKKOS_VERSION / 10000, ".",
          KOKKOS_VERSION / 100 % 100,
          "): kbnn --kokkos-help lists its options (before Kokkos 4 the thread count is "
          "--kokkos-threads=N)"));
}

bool is_help(const std::string& arg) { return arg == "--help" || arg == "-h"; }

// What rank 0 answers before Kokkos starts: help, the version, the default deck.
// Returns the exit status, or nothing when a command is to run.
std::optional<int> answer_early(const Args& args, int rank) {
  const auto print = [&](const std::string& text, std::FILE* to) {
    if (rank == 0) std::fputs(text.c_str(), to);
  };
  if (args.empty()) return print(kbnn::overview_help(), stderr), 2;
  const std::string& first = args[0];
  if (is_help(first)) return print(kbnn::overview_help(), stdout), 0;
  if (first == "--version")
    return print(kbnn::concat("kbnn ", KBNN_VERSION, " (", kbnn::git_revision(), ")\n"), stdout), 0;
  if (first == "help") {
    if (args.size() == 1 || (args.size() == 2 && is_help(args[1])))
      return print(kbnn::overview_help(), stdout), 0;
    const char* help = kbnn::command_help(args[1]);
    if (help != nullptr && args.size() == 2) return print(help, stdout), 0;
    if (rank == 0) report("help: expected one command (train, predict, prune, info, deck), got '" +
                          args[1] + "'\n" + kbnn::overview_help());
    return 2;
  }
  const char* help = kbnn::command_help(first);
  for (const std::string& a : args)
    if (help != nullptr && is_help(a)) return print(help, stdout), 0;
  if (first == "deck") {
    if (args.size() > 1) {
      if (rank == 0) report("deck: takes no arguments\n" + kbnn::command_synopsis("deck"));
      return 2;
    }
    return print(kbnn::documented_deck(), stdout), 0;
  }
  return std::nullopt;
}

// A word as a shell reads it back: as it is when it is safe, else in single quotes.
std::string shell_word(const std::string& word) {
  const auto safe = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string("_-./=:,+@%").find(c) != std::string::npos;
  };
  if (!word.empty() && std::all_of(word.begin(), word.end(), safe)) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The command that continues a stopped run: this one (Kokkos options and every deck
// override kept), with --restart auto in place of any restart option.
std::string continue_command(const std::string& program, const Args& raw_train_args) {
  std::string command = shell_word(program) + " train";
  for (std::size_t i = 0; i < raw_train_args.size(); ++i) {
    const std::string& a = raw_train_args[i];
    if (a == "--restart") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--restart=", 0) == 0 || a == "--restart-force" || a == "--dry-run") continue;
    command += " " + shell_word(a);
  }
  return command + " --restart auto";
}

// A command's own options, as "--name value" or "--name=value", and its flags. A
// malformed one is a bad command line: a UsageError, exit 2.
class CommandOptions {
 public:
  CommandOptions(const Args& args, std::string command)
      : args_(args), command_(std::move(command)) {}
  bool is(std::size_t i, const std::string& name) const {
    return args_[i] == name || args_[i].rfind(name + "=", 0) == 0;
  }
  // Whether the argument at i is the flag `name`; "--flag=value" is refused, not taken
  // for a deck option.
  bool flag(std::size_t i, const std::string& name) const {
    if (args_[i].rfind(name + "=", 0) == 0)
      throw UsageError(command_ + ": " + name + " takes no value, got '" + args_[i] + "'", command_);
    return args_[i] == name;
  }
  // The value of the option at i; on "--name value" i moves to the value.
  std::string value(std::size_t& i, const std::string& name) const {
    if (args_[i] != name) return args_[i].substr(name.size() + 1);
    if (i + 1 == args_.size())
      throw UsageError(command_ + ": " + name + " needs a value", command_);
    return args_[++i];
  }

 private:
  const Args& args_;
  std::string command_;
};

// Returns the exit status: 0, or kbnn::exit_status_stopped after a signal.
int train(const Args& args, const std::string& continue_with) {
  if (args.empty() || args[0].rfind("--", 0) == 0)
    throw UsageError("train: missing the input deck", "train");
  kbnn::TrainOptions options;
  options.continue_command = continue_with;
  std::vector<std::string> overrides;
  const CommandOptions own(args, "train");
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--restart" || args[i].rfind("--restart=", 0) == 0) {
      if (args[i] == "--restart" && i + 1 == args.size())
        throw UsageError("train: --restart needs a checkpoint file or 'auto'", "train");
      options.restart.from = args[i] == "--restart" ? args[++i] : args[i].substr(10);
      if (options.restart.from.empty())  // "--restart=" would silently start afresh
        throw UsageError("train: --restart needs a checkpoint file or 'auto', got ''", "train");
    } else if (own.flag(i, "--restart-force")) {
      options.restart.force = true;
    } else if (own.flag(i, "--dry-run")) {
      options.dry_run = true;
    } else {
      overrides.push_back(args[i]);
    }
  }
  if (options.restart.force && options.restart.from.empty())
    throw UsageError("train: --restart-force needs --restart", "train");
  // Every rank reads the deck; the agreement makes an error on any rank an error on
  // all, so the job can end cleanly with one message.
  kbnn::RunConfig config;
  kbnn::agree_or_throw(MPI_COMM_WORLD, [&] {
    config = kbnn::parse_deck(args[0], overrides);
    int ranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    kbnn::check_deck_for_ranks(config, ranks);
  });
  kbnn::Communicator comm(MPI_COMM_WORLD, config.parallel.gpu_aware_mpi);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::install_stop_handlers();
  const auto outcome =
      kbnn::run_training(config, comm, options, comm.is_root() ? std::cout : null_stream);
  return outcome == kbnn::RunOutcome::stopped ? kbnn::exit_status_stopped : 0;
}

void predict(const Args& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0)
    throw UsageError("predict: missing the model (a run file or checkpoint)", "predict");
  kbnn::PredictOptions options;
  options.model = args[0];
  const CommandOptions own(args, "predict");
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (own.is(i, "--output")) {
      options.output = own.value(i, "--output");
    } else if (own.is(i, "--set-name")) {
      options.set_name = own.value(i, "--set-name");
    } else if (own.is(i, "--split")) {
      const std::string word = own.value(i, "--split");
      if (!kbnn::parse_choice(word, options.split))
        throw UsageError("predict: --split: expected one of " +
                             kbnn::choice_words<kbnn::PredictSplit>() + ", got '" + word + "'",
                         "predict");
    } else if (own.flag(i, "--sample-probabilities")) {
      options.sample_probabilities = true;
    } else {
      options.overrides.push_back(args[i]);
    }
  }
  if (const std::string problem = kbnn::set_name_problem(options.set_name); !problem.empty())
    throw UsageError("predict: --set-name " + problem, "predict");
  kbnn::Communicator comm(MPI_COMM_WORLD);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::run_predict(options, comm, comm.is_root() ? std::cout : null_stream);
}

void prune(const Args& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0)
    throw UsageError("prune: missing the run file", "prune");
  kbnn::PruneOptions options;
  options.run = args[0];
  std::string fractions;
  const CommandOptions own(args, "prune");
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (own.is(i, "--fractions")) {
      fractions = own.value(i, "--fractions");
    } else if (own.is(i, "--scope")) {
      const std::string scope = own.value(i, "--scope");
      if (scope != "layer" && scope != "global")
        throw UsageError("prune: --scope must be layer or global, not '" + scope + "'", "prune");
      options.scope = scope == "layer" ? kbnn::PruneScope::layer : kbnn::PruneScope::global;
    } else if (own.is(i, "--output")) {
      options.output = own.value(i, "--output");
    } else if (own.flag(i, "--no-checkpoints")) {
      options.checkpoints = false;
    } else {
      options.overrides.push_back(args[i]);  // data.*, eval.*, ood.*: checked with the deck
    }
  }
  if (fractions.empty()) throw UsageError("prune: --fractions=F1,F2,... is required", "prune");
  try {  // every rank reads the same list: a bad one is a bad command line, as a bad --scope
    options.fractions = kbnn::parse_fractions(fractions);
  } catch (const kbnn::InputError& e) {
    throw UsageError(std::string("prune: ") + e.what(), "prune");
  }
  kbnn::Communicator comm(MPI_COMM_WORLD);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::run_prune(options, comm, comm.is_root() ? std::cout : null_stream);
}

// Rank 0 reads the file; the agreement makes its error every rank's, so that the job
// ends with one message and exit 1. The summary is printed only when it is whole.
void info(const Args& args, int rank) {
  // The file and --deck, in either order.
  const bool with_deck = std::find(args.begin(), args.end(), "--deck") != args.end();
  Args files;
  std::copy_if(args.begin(), args.end(), std::back_inserter(files),
               [](const std::string& a) { return a != "--deck"; });
  if (files.size() != 1 || files[0].rfind("--", 0) == 0 || args.size() > 2)
    throw UsageError("info: expected a file and optionally --deck, before or after it", "info");
  std::string summary;
  kbnn::agree_or_throw(MPI_COMM_WORLD, [&] {
    if (rank == 0) summary = kbnn::file_info(files[0], with_deck);
  });
  if (rank == 0) std::fputs(summary.c_str(), stdout);
}

// `raw` is the command line before Kokkos took its options out of it.
int run_command(const Args& args, const Args& raw, const std::string& program, int rank) {
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "info") {
    info(rest, rank);
  } else if (args[0] == "predict") {
    predict(rest);
  } else if (args[0] == "train") {
    Args train_args = raw;  // Kokkos' options kept, wherever they stood
    train_args.erase(std::find(train_args.begin(), train_args.end(), "train"));
    return train(rest, continue_command(program, train_args));
  } else if (args[0] == "prune") {
    prune(rest);
  } else {
    throw UsageError("unknown command '" + args[0] + "'", "");
  }
  return 0;
}

bool agreed(const std::exception& e) {
  return dynamic_cast<const kbnn::AgreedInputError*>(&e) != nullptr ||
         dynamic_cast<const kbnn::AgreedRuntimeError*>(&e) != nullptr;
}

// An error that every rank saw alike (or the only rank): one message, exit 1. Else
// this rank may be alone with it while the others wait in a collective call: MPI_Abort.
int end_on_error(const std::exception& e, int rank, int ranks) {
  if (agreed(e) || ranks == 1) {
    if (rank == 0) report(std::string("error: ") + e.what());
    kbnn::h5::close_open_files();  // what the unwinding left open, before MPI_Finalize
    return 1;
  }
  report("error on rank " + std::to_string(rank) + ": " + e.what() +
         "\nkbnn: (an error this rank may have met alone: MPI_Abort ends the whole job, "
         "so that no rank waits for it for ever)");
  MPI_Abort(MPI_COMM_WORLD, 1);
  return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const Args raw(argv + 1, argv + argc);
  if (const std::optional<int> status = answer_early(without_kokkos_options(raw), rank)) {
    MPI_Finalize();
    return *status;
  }
  int status = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);  // takes the --kokkos-* options out of argv
    kbnn::match_blas_threads(Kokkos::DefaultHostExecutionSpace().concurrency());
    Args args(argv + 1, argv + argc);
    // --kokkos-help: Kokkos printed its options; nothing else is asked for.
    if (std::find(raw.begin(), raw.end(), "--kokkos-help") != raw.end()) args.clear();
    try {
      check_kokkos_options(args);
      if (!args.empty()) status = run_command(args, raw, argv[0], rank);
    } catch (const UsageError& e) {
      if (rank == 0) report(std::string(e.what()) + "\n" + kbnn::command_synopsis(e.command()));
      status = 2;
    } catch (const std::exception& e) {
      status = end_on_error(e, rank, ranks);
    }
  }
  MPI_Finalize();
  return status;
}
