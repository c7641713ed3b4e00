#include "parallel/communicator.hpp"

namespace kbnn {

Communicator::Communicator(MPI_Comm comm, bool gpu_aware) : gpu_aware_(gpu_aware) {
  KBNN_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  KBNN_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  KBNN_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Communicator::allreduce_sum(double* values, int count) const {
  if (size_ == 1) return;
  KBNN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm_));
}

}  // namespace kbnn
