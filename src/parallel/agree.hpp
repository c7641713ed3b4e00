// Errors across ranks: an error that one rank sees becomes the same error on all.
#pragma once

#include "core/error.hpp"

#include <mpi.h>

#include <exception>
#include <string>

namespace kbnn {

namespace detail {
// kind: 0 fine, 1 InputError, 2 anything else. Throws on every rank if any failed.
void agree_on(MPI_Comm comm, int kind, std::string message);
}  // namespace detail

// Runs body() on every rank of `comm`. If it threw anywhere, every rank throws the
// message of the lowest failing rank, as InputError or RuntimeError like the original,
// so that no rank walks on into a collective call that a failed rank will never make.
// When a rank other than 0 failed alone the message starts "on rank N alone: " (a
// node-local path, say). A rank that throws leaves the body at once, so what follows the throw in
// the body must not be collective: agree on each part that can fail on a rank of its
// own (a file read) apart from the collective calls after it. A call that agrees
// inside (read_checkpoint, create_collective_file) throws on every rank alike and may
// stand in a body.
template <class Body>
void agree_or_throw(MPI_Comm comm, Body&& body) {
  int kind = 0;
  std::string message;
  try {
    body();
  } catch (const InputError& e) {
    kind = 1;
    message = e.what();
  } catch (const std::exception& e) {
    kind = 2;
    message = e.what();
  }
  detail::agree_on(comm, kind, std::move(message));
}

}  // namespace kbnn
