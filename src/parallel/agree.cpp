#include "parallel/agree.hpp"

#include "parallel/mpi_check.hpp"

namespace kbnn::detail {

void agree_on(MPI_Comm comm, int kind, std::string message) {
  int rank = 0, ranks = 1;
  KBNN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  KBNN_MPI_CHECK(MPI_Comm_size(comm, &ranks));
  // One MIN over two numbers: the lowest failing rank, and minus the highest, so that a
  // failure on a single rank (a node-local path) can say so. Not of rank 0: it is often
  // the only one that reads (a checkpoint, kbnn info's file).
  int span[2] = {kind ? rank : ranks, kind ? -rank : 1};
  KBNN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, span, 2, MPI_INT, MPI_MIN, comm));
  const int failed = span[0];
  if (failed == ranks) return;
  int length = int(message.size());
  KBNN_MPI_CHECK(MPI_Bcast(&kind, 1, MPI_INT, failed, comm));
  KBNN_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT, failed, comm));
  message.resize(std::size_t(length));
  KBNN_MPI_CHECK(MPI_Bcast(message.data(), length, MPI_CHAR, failed, comm));
  if (failed > 0 && failed == -span[1]) message = concat("on rank ", failed, " alone: ", message);
  if (kind == 1) throw AgreedInputError(message);
  throw AgreedRuntimeError(message);
}

}  // namespace kbnn::detail
