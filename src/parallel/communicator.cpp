#include "parallel/communicator.hpp"

#include <cstdint>

namespace kbnn {

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

}  // namespace kbnn
