#include "parallel/agree.hpp"

#include "parallel/mpi_check.hpp"

namespace kbnn::detail {

void agree_on(MPI_Comm comm, int kind, std::string message) {
  int rank = 0, ranks = 1;
  KBNN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  KBNN_MPI_CHECK(MPI_Comm_size(comm, &ranks));
  int failed = kind ? rank : ranks;
  KBNN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MIN, comm));
  if (failed == ranks) return;
  int length = int(message.size());
  KBNN_MPI_CHECK(MPI_Bcast(&kind, 1, MPI_INT, failed, comm));
  KBNN_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT, failed, comm));
  message.resize(std::size_t(length));
  KBNN_MPI_CHECK(MPI_Bcast(message.data(), length, MPI_CHAR, failed, comm));
  if (kind == 1) throw AgreedInputError(message);
  throw AgreedRuntimeError(message);
}

}  // namespace kbnn::detail
