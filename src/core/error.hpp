// Errors that reach the user. Every message names what was wrong and where:
// the file, the option or the MPI/HDF5 call, and what was expected.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace kbnn {

// Bad input: a deck, a data file, a command-line option. The user can fix it.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failed call into MPI, HDF5 or another library, or a broken invariant.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The loss became NaN or Inf: training cannot go on from this state.
class DivergenceError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// The same error on every rank, after the ranks agreed on it (parallel/agree.hpp), or
// from input that every rank checks alike (the deck): main ends such a job with one
// message and MPI_Finalize instead of MPI_Abort, since no rank is left behind.
class AgreedInputError : public InputError {
 public:
  using InputError::InputError;
};
class AgreedRuntimeError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Builds a message from pieces: kbnn::concat("train.lr must be > 0, got ", lr).
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

}  // namespace kbnn
