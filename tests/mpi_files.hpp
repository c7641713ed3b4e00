// What the MPI tests that write files share: a Communicator over MPI_COMM_WORLD, the
// rank and the rank count, and a temporary directory every rank sees under one name.
#pragma once

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include "parallel/communicator.hpp"

namespace kbnn::test {

// A Communicator over MPI_COMM_WORLD, made once (its destructor runs after MPI_Finalize
// and then leaves the duplicate to MPI).
inline const Communicator& world() {
  static const Communicator comm(MPI_COMM_WORLD);
  return comm;
}

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// A directory that every rank sees under the same name: rank 0 picks and creates
// it and broadcasts the name; it is removed when all ranks are done with it.
struct SharedTempDir {
  std::filesystem::path path;
  explicit SharedTempDir(const std::string& prefix = "kbnn_test") {
    char name[512] = {};
    if (world_rank() == 0) {
      static int serial = 0;
      const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
      const std::filesystem::path p =
          std::filesystem::temp_directory_path() /
          (prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(stamp) + "_" +
           std::to_string(serial++));
      std::filesystem::create_directories(p);
      std::strncpy(name, p.c_str(), sizeof name - 1);
    }
    MPI_Bcast(name, int(sizeof name), MPI_CHAR, 0, MPI_COMM_WORLD);
    path = name;
  }
  ~SharedTempDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }
  SharedTempDir(const SharedTempDir&) = delete;
  SharedTempDir& operator=(const SharedTempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace kbnn::test
