// HDF5 errors as kbnn exceptions: a check macro that turns a failed call into a
// kbnn::RuntimeError (call, file:line, the object, HDF5's own reason).
//
// HDF5's automatic error-stack printing is switched off while our calls run (see
// QuietErrors): the stack would print from every rank, interleaved, before our
// exception; instead check() folds the innermost (most specific) entry of the stack
// into the exception's message, so it is printed once, by main, with our context.
#pragma once

#include <hdf5.h>

#include <string>
#include <type_traits>

// Wraps an HDF5 call that returns herr_t, htri_t or hid_t; throws RuntimeError if it
// is negative and otherwise yields its value: `h5::Group g(KBNN_H5_CHECK(H5Gopen2(...)))`.
#define KBNN_H5_CHECK(call) ::kbnn::h5::check((call), #call, __FILE__, __LINE__, std::string())
// The same, naming the file and object the call was about ("run.h5: /history/loss").
#define KBNN_H5_CHECK_AT(call, what) ::kbnn::h5::check((call), #call, __FILE__, __LINE__, (what))

namespace kbnn::h5 {

// Saves HDF5's error-printing callback, turns printing off, restores it on scope exit.
// Every public entry point of h5/, data/ and output/ that calls HDF5 holds one.
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The deepest entry of the current error stack ("unable to open file: name = 'x',
// errno = 2, ..."): the one that says why. Clears the stack.
std::string error_stack_reason();

// Throws the RuntimeError for a failed call (what check() does on failure). When a file
// HDF5 has open lies on a full file system, the message says "No space left on device".
[[noreturn]] void throw_failed_call(const char* call, const char* file, int line,
                                    const std::string& what);

// Closes every file HDF5 still has open: what a job ending through MPI_Finalize after
// an error left open (CollectiveFile's close rule). Collective for collective files:
// every rank must have the same files open, as after an agreed error, or be alone.
void close_open_files();

template <class T>
T check(T result, const char* call, const char* file, int line, const std::string& what) {
  // herr_t, htri_t, hid_t, and enums such as H5T_class_t (whose error value is -1).
  static_assert(std::is_signed_v<T> || std::is_enum_v<T>,
                "HDF5 calls report failure with a negative value");
  if (static_cast<long long>(result) >= 0) return result;
  throw_failed_call(call, file, line, what);
}

}  // namespace kbnn::h5
