/* The GPU kit's MPI check: what kbnn needs from the MPI it carries, in a program that
 * needs no GPU, so that the dry run proves the relocated Open MPI on a CPU machine.
 * Every rank adds its rank to an allreduce (the gradient sum) and writes its row of a
 * file collectively through MPI-IO (parallel HDF5's transport); rank 0 checks both.
 *   mpiexec -n 2 mpi_check FILE    ->  "mpi_check: 2 ranks, allreduce agrees and MPI-IO agrees"
 * scripts/gpu/prepare.sh builds it with mpicc into the kit. */
#include <mpi.h>
#include <stdio.h>

#define CHECK(call)                                                       \
  do {                                                                    \
    int rc_ = (call);                                                     \
    if (rc_ != MPI_SUCCESS) {                                             \
      fprintf(stderr, "mpi_check: %s failed (%d) at line %d\n", #call, rc_, __LINE__); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                       \
    }                                                                     \
  } while (0)

int main(int argc, char** argv) {
  int rank = 0, size = 0, sum = 0, io_ok = 1;
  MPI_File file;
  CHECK(MPI_Init(&argc, &argv));
  CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  if (argc != 2) {
    if (rank == 0) fprintf(stderr, "usage: mpi_check FILE\n");
    MPI_Finalize();
    return 2;
  }
  CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  const int sum_ok = sum == size * (size - 1) / 2;

  /* Each rank writes rank + 1 at its own offset; rank 0 reads all of them back. */
  int mine = rank + 1;
  CHECK(MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_RDWR,
                      MPI_INFO_NULL, &file));
  CHECK(MPI_File_write_at_all(file, (MPI_Offset)rank * (MPI_Offset)sizeof mine, &mine, 1,
                              MPI_INT, MPI_STATUS_IGNORE));
  CHECK(MPI_File_sync(file));
  CHECK(MPI_Barrier(MPI_COMM_WORLD));
  if (rank == 0) {
    for (int r = 0; r < size; ++r) {
      int seen = 0;
      CHECK(MPI_File_read_at(file, (MPI_Offset)r * (MPI_Offset)sizeof seen, &seen, 1, MPI_INT,
                             MPI_STATUS_IGNORE));
      if (seen != r + 1) io_ok = 0;
    }
  }
  CHECK(MPI_File_close(&file));
  CHECK(MPI_Bcast(&io_ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (rank == 0)
    printf("mpi_check: %d ranks, allreduce %s and MPI-IO %s\n", size,
           sum_ok ? "agrees" : "DISAGREES", io_ok ? "agrees" : "DISAGREES");
  MPI_Finalize();
  return sum_ok && io_ok ? 0 : 1;
}
