// Catch2 main for kbnn's tests: MPI first, then Kokkos, then the test session. A run in
// which a case ended with KBNN_SKIP (catch.hpp) and nothing failed exits with 77, which
// ctest reports as skipped, after printing each reason.
#if !__has_include(<catch2/catch_all.hpp>)
#define CATCH_CONFIG_RUNNER
#endif
#include "catch.hpp"

#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <cstring>
#include <iostream>
#include <vector>

namespace {

// Catch2 v2's command line takes --warn once; the ctest entries pass it twice (NoTests
// and NoAssertions). Every "--warn NoTests" and "--warn NoAssertions" is taken out of
// argv here and set in the session's configuration; anything else goes to Catch.
int run_session(int argc, char* argv[]) {
  std::vector<char*> args;
  unsigned warnings = 0;
  for (int i = 0; i < argc; ++i) {
    const bool warn = i + 1 < argc && std::strcmp(argv[i], "--warn") == 0;
    if (warn && std::strcmp(argv[i + 1], "NoTests") == 0) {
      warnings |= Catch::WarnAbout::NoTests, ++i;
    } else if (warn && std::strcmp(argv[i + 1], "NoAssertions") == 0) {
      warnings |= Catch::WarnAbout::NoAssertions, ++i;
    } else {
      args.push_back(argv[i]);
    }
  }
  Catch::Session session;
  if (const int status = session.applyCommandLine(int(args.size()), args.data()); status != 0)
    return status;
  auto& config = session.configData();
  config.warnings = static_cast<Catch::WarnAbout::What>(config.warnings | warnings);
  return session.run();
}

}  // namespace

int main(int argc, char* argv[]) {
  MPI_Init(&argc, &argv);
  int result = 0;
  {
    Kokkos::ScopeGuard guard(argc, argv);
    result = run_session(argc, argv);
  }
  for (const auto& reason : kbnn::test::skip_reasons()) std::cout << "SKIPPED: " << reason << "\n";
  if (result == 0 && !kbnn::test::skip_reasons().empty()) result = kbnn::test::kSkipExitCode;
  MPI_Finalize();
  return result;
}
