// Files that all ranks of a communicator share, through HDF5's MPI-IO driver.
#pragma once

#include <hdf5.h>

#include <string>

#include "h5/handle.hpp"
#include "parallel/communicator.hpp"

namespace kbnn::h5 {

// File access for a collective file: MPI-IO on `comm`. A serial HDF5 build can only
// serve one rank (CMake warns about such a build).
PropList mpi_file_access(const Communicator& comm, const std::string& path);

// Data transfer for writes into a collective file: collective MPI-IO, so that every
// rank's hyperslab goes out in one two-phase write.
PropList collective_transfer(const std::string& path);

// Creates (truncates) `path` on every rank of `comm`, collectively. Creation can fail
// on one rank only (a directory missing on a node-local path): the ranks agree on it,
// so that every rank throws the same InputError ("<path>: cannot create the <kind>")
// instead of the others waiting in the next collective call for ever.
CollectiveFile create_collective_file(const std::string& path, const Communicator& comm,
                                      const std::string& kind);

}  // namespace kbnn::h5
