// kbnn: train Bayesian neural networks. `kbnn train DECK [--section.option=value ...]`.
// main() owns MPI and Kokkos and is the only place that names MPI_COMM_WORLD. Any
// exception, on any rank, ends the whole job through MPI_Abort with its message, so a
// job never hangs waiting for a rank that died.
#include "app/deck.hpp"
#include "app/run_info.hpp"
#include "app/run_train.hpp"
#include "core/error.hpp"
#include "parallel/communicator.hpp"

#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

const char* usage =
    "usage: kbnn train DECK [--restart CHECKPOINT] [--section.option=value ...]\n"
    "       kbnn info RUN_FILE [--deck]\n"
    "       kbnn --help | --version\n"
    "\n"
    "  train   train the model of the input deck DECK (see input/*.cfg) on all MPI ranks,\n"
    "          write <output.dir>/<run name>.h5 and report Monte-Carlo test metrics.\n"
    "          Any deck option can be overridden: --train.epochs=5 --eval.samples=20\n"
    "          --restart FILE continues from a checkpoint (a .checkpoint.h5 or a run file).\n"
    "  info    summarise a run file: what ran, the last history row, the test metrics,\n"
    "          the weights and the checkpoint; --deck also prints the resolved deck.\n";

// An ostream that drops everything: the log of ranks other than 0.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

void train(const std::vector<std::string>& args) {
  if (args.empty()) throw kbnn::InputError(std::string("kbnn train: missing the input deck\n") + usage);
  std::string restart;
  std::vector<std::string> overrides;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--restart" || args[i].rfind("--restart=", 0) == 0) {
      if (args[i] == "--restart" && i + 1 == args.size())
        throw kbnn::InputError("command line: --restart needs a checkpoint file");
      restart = args[i] == "--restart" ? args[++i] : args[i].substr(10);
    } else {
      overrides.push_back(args[i]);
    }
  }
  const kbnn::RunConfig config = kbnn::parse_deck(args[0], overrides);
  kbnn::Communicator comm(MPI_COMM_WORLD, config.parallel.gpu_aware_mpi);
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  kbnn::run_train(config, comm, restart, comm.is_root() ? std::cout : null_stream);
}

}  // namespace

int main(int argc, char* argv[]) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int status = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
      if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        if (rank == 0) std::cout << usage;
        status = args.empty() ? 2 : 0;
      } else if (args[0] == "--version") {
        if (rank == 0) std::cout << "kbnn " << KBNN_VERSION << "\n";
      } else if (args[0] == "info") {
        if (args.size() < 2 || args.size() > 3 || (args.size() == 3 && args[2] != "--deck"))
          throw kbnn::InputError(std::string("kbnn info: expected a run file and optionally --deck\n") + usage);
        if (rank == 0) kbnn::print_run_info(args[1], args.size() == 3, std::cout);
      } else if (args[0] == "train") {
        train(std::vector<std::string>(args.begin() + 1, args.end()));
      } else {
        throw kbnn::InputError("kbnn: unknown command '" + args[0] + "'\n" + usage);
      }
    } catch (const std::exception& e) {
      // One write, so that the lines of other ranks cannot land inside the message.
      const std::string message =
          "kbnn: error on rank " + std::to_string(rank) + ": " + e.what() + "\n";
      std::fwrite(message.data(), 1, message.size(), stderr);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Finalize();
  return status;
}
