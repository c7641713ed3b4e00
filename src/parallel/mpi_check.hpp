// Checks the return code of an MPI call and throws with the call, file and line.
#pragma once

#include "core/error.hpp"

#include <mpi.h>

namespace kbnn::detail {
inline void mpi_check(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw RuntimeError(concat(call, " failed at ", file, ":", line, ": ", std::string(text, length)));
}
}  // namespace kbnn::detail

#define KBNN_MPI_CHECK(call) ::kbnn::detail::mpi_check((call), #call, __FILE__, __LINE__)
