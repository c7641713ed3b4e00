#include "core/blas_check.hpp"

#include <cstdlib>

// Declared weak: resolved when the BLAS is OpenBLAS, null with any other BLAS.
extern "C" char* openblas_get_corename(void) __attribute__((weak));
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace kbnn {

namespace {
std::string corename() {
  if (openblas_get_corename == nullptr) return "";
  const char* name = openblas_get_corename();
  return name ? name : "";
}
}  // namespace

std::string blas_description() {
  const std::string core = corename();
  if (core.empty()) return "BLAS";
  const int threads = openblas_get_num_threads ? openblas_get_num_threads() : 0;
  return "OpenBLAS (" + core + " kernels" +
         (threads > 0 ? ", " + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)")
                      : ")");
}

namespace {
// OPENBLAS_NUM_THREADS when it holds a count, else the host space's (at least 1).
int blas_threads(int host_threads) {
  if (const char* text = std::getenv("OPENBLAS_NUM_THREADS")) {
    char* end = nullptr;
    const long asked = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && asked > 0 && asked <= 1024) return int(asked);
  }
  return host_threads > 0 ? host_threads : 1;
}
}  // namespace

void match_blas_threads(int host_threads) {
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(blas_threads(host_threads));
}

std::string blas_warning() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  const std::string core = corename();
  if (core.empty()) return "";
  const bool old_kernels = core == "Prescott" || core == "Core2" || core == "Nehalem" ||
                           core == "Atom" || core == "Penryn" || core == "Dunnington";
  const char* suggestion = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                           : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                             : nullptr;
  if (old_kernels && suggestion != nullptr)
    return "warning: OpenBLAS uses its " + core + " kernels on a CPU with " +
           (std::string(suggestion) == "SkylakeX" ? "AVX-512" : "AVX2") +
           ": gemm runs several times slower. Set OPENBLAS_CORETYPE=" + suggestion +
           " (scripts/env.sh does)";
#endif
  return "";
}

}  // namespace kbnn
