// The BLAS check names the OpenBLAS kernels in use and warns exactly when they are
// older than the CPU (ctest runs with scripts/env.sh's OPENBLAS_CORETYPE or without).
#include "catch.hpp"

#include "core/blas_check.hpp"

TEST_CASE("BLAS check names the kernels and warns only for outdated ones", "[blas]") {
  const std::string description = kbnn::blas_description();
  const std::string warning = kbnn::blas_warning();
  INFO("description: " << description << "; warning: " << warning);
  if (description.rfind("OpenBLAS (", 0) != 0) {
    CHECK(description == "BLAS");
    CHECK(warning.empty());
    return;
  }
  const bool old_kernels = description.find("Prescott") != std::string::npos ||
                           description.find("Nehalem") != std::string::npos ||
                           description.find("Core2") != std::string::npos;
#if defined(__x86_64__)
  const bool modern_cpu = __builtin_cpu_supports("avx2");
#else
  const bool modern_cpu = false;
#endif
  CHECK(warning.empty() == !(old_kernels && modern_cpu));
  if (!warning.empty()) CHECK_THAT(warning, kbnn::test::contains("OPENBLAS_CORETYPE="));
}
