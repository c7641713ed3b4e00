#include "parallel/communicator.hpp"

#include <climits>
#include <cstdint>

namespace kbnn {

namespace detail {

MpiBlocks mpi_blocks(const std::vector<std::int64_t>& counts, int ranks, const char* call) {
  if (counts.size() != std::size_t(ranks))
    throw RuntimeError(concat(call, ": ", counts.size(), " counts for ", ranks, " ranks"));
  MpiBlocks blocks;
  for (int q = 0; q < ranks; ++q) {
    if (counts[q] > INT_MAX || blocks.total > INT_MAX)
      throw RuntimeError(concat(call, ": the block of rank ", q, " (", counts[q],
                                " elements from offset ", blocks.total,
                                ") exceeds one MPI message: counts and offsets are int, at most ",
                                INT_MAX));
    blocks.counts.push_back(int(counts[q]));
    blocks.offsets.push_back(int(blocks.total));
    blocks.total += counts[q];
  }
  return blocks;
}

}  // namespace detail

Communicator::Communicator(MPI_Comm comm, bool gpu_aware) : gpu_aware_(gpu_aware) {
  KBNN_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  KBNN_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  KBNN_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  KBNN_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Communicator::broadcast(std::string& text, int root) const {
  std::uint64_t length = text.size();
  broadcast(&length, 1, root);
  text.resize(length);
  broadcast(text.data(), length, root);
}

void Communicator::reserve_staging(std::size_t bytes) const {
  if (!stages() || staging_.size() >= bytes) return;
  staging_ = HostBuffer(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Communicator::staging"), bytes);
}

}  // namespace kbnn
