// kbnn: train Bayesian neural networks. `kbnn train DECK [--section.option=value ...]`.
// main() owns MPI and Kokkos and is the only place that names MPI_COMM_WORLD. How a run
// ends on an error depends on who saw it:
//   - a usage error (bad command line): every rank sees it alike; rank 0 prints it with
//     the usage, and the job exits 2 through MPI_Finalize;
//   - an error every rank agreed on (a bad deck, a file no rank could create): rank 0
//     prints it once, and the job exits 1 through MPI_Finalize;
//   - a SIGTERM or SIGUSR1 stops training after the current step on every rank; the run
//     checkpoints and exits 75 (kbnn::exit_status_stopped) through MPI_Finalize;
//   - anything else, which may have hit one rank only, ends the whole job through
//     MPI_Abort with its message, so a job never hangs waiting for a rank that died.
#include "app/deck.hpp"
#include "app/run_info.hpp"
#include "app/run_predict.hpp"
#include "app/run_prune.hpp"
#include "app/run_ensemble.hpp"
#include "app/run_train.hpp"
#include "core/blas_check.hpp"
#include "core/error.hpp"
#include "core/stop_signal.hpp"
#include "parallel/agree.hpp"
#include "parallel/communicator.hpp"

#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

const char* usage =
    "usage: kbnn train DECK [--restart CHECKPOINT|auto [--restart-force]]\n"
    "                  [--section.option=value ...]\n"
    "       kbnn info RUN_FILE [--deck]\n"
    "       kbnn predict MODEL [--output FILE] [--set-name NAME] [--split examples|samples]\n"
    "                    [--sample-probabilities] [--data.*=...] [--eval.*=...] [--ood.*=...]\n"
    "       kbnn prune RUN_FILE --fractions=F1,F2,... [--scope=layer|global]\n"
    "                  [--output=FILE] [--no-checkpoints] [--data.option=value ...]\n"
    "                  [--eval.option=value ...] [--ood.option=value ...]\n"
    "       kbnn --help | --version | --kokkos-help\n"
    "\n"
    "  train   train the model of the input deck DECK (see input/*.cfg) on all MPI ranks,\n"
    "          write <output.dir>/<run name>.h5 and report Monte-Carlo test metrics.\n"
    "          Any deck option can be overridden: --train.epochs=5 --eval.samples=20\n"
    "          --restart FILE continues from a checkpoint (a .checkpoint.h5 or a run file);\n"
    "          --restart auto from <output.dir>/<run name>.checkpoint.h5 if it exists, else\n"
    "          starts fresh. A restart refuses a checkpoint of another model, seed, batch\n"
    "          or optimizer unless --restart-force is given. SIGTERM or SIGUSR1 stops the\n"
    "          run after the current step with a checkpoint and exit status 75.\n"
    "  predict Monte-Carlo prediction with the model of a run file or checkpoint MODEL on\n"
    "          the test split of the data its deck names, or of --data.format/--data.dir/\n"
    "          --data.test_file/--data.test_limit; --eval.samples=S, --eval.batch_size=B.\n"
    "          Writes FILE (default MODEL.predict.h5): /predictions/NAME (default test),\n"
    "          /metrics/NAME; --sample-probabilities adds probs_samples (S, N, classes).\n"
    "          --split samples: ranks split the Monte-Carlo samples instead of the\n"
    "          examples (identical numbers). An OOD set (--ood.format/--ood.dir/--ood.file,\n"
    "          or --ood.shift=noise|invert|rot90 of the test set) is scored against it:\n"
    "          /metrics/ood/<ood.name> holds AUROC and AUPR of entropy, mutual information\n"
    "          and 1 - max probability.\n"
    "  info    summarise a run file: what ran, the last history row, the test metrics,\n"
    "          the weights and the checkpoint; --deck also prints the resolved deck.\n"
    "  prune   remove each fraction F of every layer's Bayesian kernel weights (or of all\n"
    "          of them, --scope=global) with the lowest |mu|/sigma, and report the test\n"
    "          metrics of each pruned model in <run>.pruning.h5 (or --output). Each pruned\n"
    "          model is written as <output>.pruned_F.h5, which kbnn train --restart\n"
    "          fine-tunes with its mask kept. --data.*, --eval.* and --ood.* change the\n"
    "          run's deck; with an OOD set each fraction's OOD AUROC is reported too.\n"
    "  Kokkos options (--kokkos-threads=N, ...) may follow any command; --kokkos-help\n"
    "  lists them.\n";

// A command line kbnn cannot read: the message, then the usage; exit status 2.
class UsageError : public kbnn::InputError {
 public:
  explicit UsageError(const std::string& problem)
      : kbnn::InputError(problem + "\n" + usage) {}
};

// An ostream that drops everything: the log of ranks other than 0.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

// Returns the exit status: 0, or kbnn::exit_status_stopped after a signal.
int train(const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("kbnn train: missing the input deck");
  kbnn::RestartOptions restart;
  std::vector<std::string> overrides;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--restart" || args[i].rfind("--restart=", 0) == 0) {
      if (args[i] == "--restart" && i + 1 == args.size())
        throw UsageError("kbnn train: --restart needs a checkpoint file or 'auto'");
      restart.from = args[i] == "--restart" ? args[++i] : args[i].substr(10);
    } else if (args[i] == "--restart-force") {
      restart.force = true;
    } else {
      overrides.push_back(args[i]);
    }
  }
  // Every rank reads the deck; the agreement makes an error on any rank an error on
  // all, so the job can end cleanly with one message.
  kbnn::RunConfig config;
  kbnn::agree_or_throw(MPI_COMM_WORLD, [&] {
    config = kbnn::parse_deck(args[0], overrides);
    int ranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    kbnn::check_deck_for_ranks(config, ranks);
  });
  if (restart.force && restart.from.empty())
    throw UsageError("kbnn train: --restart-force needs --restart");
  kbnn::Communicator comm(MPI_COMM_WORLD, config.parallel.gpu_aware_mpi);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::install_stop_handlers();
  const auto outcome =
      kbnn::run_training(config, comm, restart, comm.is_root() ? std::cout : null_stream);
  return outcome == kbnn::RunOutcome::stopped ? kbnn::exit_status_stopped : 0;
}

void predict(const std::vector<std::string>& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0)
    throw UsageError("kbnn predict: missing the model (a run file or checkpoint)");
  kbnn::PredictOptions options;
  options.model = args[0];
  // "--name value" or "--name=value".
  const auto value_of = [&](std::size_t& i, const std::string& name) -> std::string {
    if (args[i] == name) {
      if (i + 1 == args.size()) throw UsageError("kbnn predict: " + name + " needs a value");
      return args[++i];
    }
    return args[i].substr(name.size() + 1);
  };
  const auto is = [&](std::size_t i, const std::string& name) {
    return args[i] == name || args[i].rfind(name + "=", 0) == 0;
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (is(i, "--output")) {
      options.output = value_of(i, "--output");
    } else if (is(i, "--set-name")) {
      options.set_name = value_of(i, "--set-name");
    } else if (is(i, "--split")) {
      const std::string word = value_of(i, "--split");
      if (!kbnn::parse_choice(word, options.split))
        throw UsageError("kbnn predict: --split: expected one of " +
                         kbnn::choice_words<kbnn::PredictSplit>() + ", got '" + word + "'");
    } else if (args[i] == "--sample-probabilities") {
      options.sample_probabilities = true;
    } else {
      options.overrides.push_back(args[i]);
    }
  }
  if (options.set_name.empty() || options.set_name.find('/') != std::string::npos)
    throw UsageError("kbnn predict: --set-name: expected a name without '/', got '" +
                     options.set_name + "'");
  kbnn::Communicator comm(MPI_COMM_WORLD);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::run_predict(options, comm, comm.is_root() ? std::cout : null_stream);
}

void prune(const std::vector<std::string>& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0)
    throw UsageError("kbnn prune: missing the run file");
  kbnn::PruneOptions options;
  options.run = args[0];
  std::string fractions;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&](const std::string& flag) {
      return a.rfind(flag + "=", 0) == 0 ? a.substr(flag.size() + 1) : std::string();
    };
    if (!value("--fractions").empty()) {
      fractions = value("--fractions");
    } else if (!value("--scope").empty()) {
      const std::string scope = value("--scope");
      if (scope != "layer" && scope != "global")
        throw UsageError("kbnn prune: --scope must be layer or global, not '" + scope + "'");
      options.scope = scope == "layer" ? kbnn::PruneScope::layer : kbnn::PruneScope::global;
    } else if (!value("--output").empty()) {
      options.output = value("--output");
    } else if (a == "--no-checkpoints") {
      options.checkpoints = false;
    } else {
      options.overrides.push_back(a);  // data.*, eval.*, ood.*: checked with the deck
    }
  }
  if (fractions.empty()) throw UsageError("kbnn prune: --fractions=F1,F2,... is required");
  kbnn::agree_or_throw(MPI_COMM_WORLD, [&] { options.fractions = kbnn::parse_fractions(fractions); });
  kbnn::Communicator comm(MPI_COMM_WORLD);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::run_prune(options, comm, comm.is_root() ? std::cout : null_stream);
}

int run_command(const std::vector<std::string>& args, int rank) {
  if (args[0] == "info") {
    if (args.size() < 2 || args.size() > 3 || (args.size() == 3 && args[2] != "--deck"))
      throw UsageError("kbnn info: expected a run file and optionally --deck");
    const bool with_deck = args.size() == 3;
    if (rank == 0) kbnn::print_run_info(args[1], with_deck, std::cout);
  } else if (args[0] == "predict") {
    predict(std::vector<std::string>(args.begin() + 1, args.end()));
  } else if (args[0] == "train") {
    return train(std::vector<std::string>(args.begin() + 1, args.end()));
  } else if (args[0] == "prune") {
    prune(std::vector<std::string>(args.begin() + 1, args.end()));
  } else {
    throw UsageError("kbnn: unknown command '" + args[0] + "'");
  }
  return 0;
}

// Writes "kbnn: <prefix><message>" in one write, so that other ranks' lines cannot
// land inside it.
void report(const std::string& prefix, const std::string& message) {
  const std::string text = "kbnn: " + prefix + message + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char* argv[]) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // kbnn's own help and version before Kokkos starts: Kokkos answers --help itself.
  const std::string first = argc > 1 ? argv[1] : "";
  if (argc == 1 || first == "--help" || first == "-h" || first == "--version") {
    const bool usage_error = argc == 1;
    if (rank == 0) {
      std::string text = first == "--version" ? std::string("kbnn ") + KBNN_VERSION + "\n" : usage;
      std::fputs(text.c_str(), usage_error ? stderr : stdout);
    }
    MPI_Finalize();
    return usage_error ? 2 : 0;
  }
  int status = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);  // takes the --kokkos-* options out of argv
    kbnn::match_blas_threads(Kokkos::DefaultHostExecutionSpace().concurrency());
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
      if (!args.empty()) status = run_command(args, rank);
    } catch (const UsageError& e) {
      if (rank == 0) report("", e.what());
      status = 2;
    } catch (const kbnn::AgreedInputError& e) {
      if (rank == 0) report("error: ", e.what());
      status = 1;
    } catch (const kbnn::AgreedRuntimeError& e) {
      if (rank == 0) report("error: ", e.what());
      status = 1;
    } catch (const std::exception& e) {
      report("error on rank " + std::to_string(rank) + ": ", e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Finalize();
  return status;
}
