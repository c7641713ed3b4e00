// kbnn: train Bayesian neural networks. `kbnn train DECK [--section.option=value ...]`.
// main() owns MPI and Kokkos; any exception ends the whole job through MPI_Abort with
// its message, so a job never hangs on one failed rank.
#include "app/deck.hpp"
#include "app/run_train.hpp"
#include "core/error.hpp"

#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <iostream>
#include <string>
#include <vector>

namespace {

const char* usage =
    "usage: kbnn train DECK [--section.option=value ...]\n"
    "       kbnn --help | --version\n"
    "\n"
    "  train   train the model of the input deck DECK (see input/*.cfg), then report\n"
    "          Monte-Carlo test metrics. Any deck option can be overridden, e.g.\n"
    "          --train.epochs=5 --train.lr=5e-4 --eval.samples=20\n";

int train(const std::vector<std::string>& args) {
  if (args.empty()) throw kbnn::InputError("kbnn train: missing the input deck\n" + std::string(usage));
  const std::vector<std::string> overrides(args.begin() + 1, args.end());
  const kbnn::RunConfig config = kbnn::parse_deck(args[0], overrides);
  kbnn::run_train(config, std::cout);
  return 0;
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
      } else if (args[0] == "train") {
        status = train(std::vector<std::string>(args.begin() + 1, args.end()));
      } else {
        throw kbnn::InputError("kbnn: unknown command '" + args[0] + "'\n" + usage);
      }
    } catch (const std::exception& e) {
      std::cerr << "kbnn: error on rank " << rank << ": " << e.what() << std::endl;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Finalize();
  return status;
}
