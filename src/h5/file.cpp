#include "h5/file.hpp"

#include "core/error.hpp"
#include "h5/error.hpp"
#include "parallel/agree.hpp"

namespace kbnn::h5 {

PropList mpi_file_access(const Communicator& comm, const std::string& path) {
  PropList fapl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_FILE_ACCESS), path));
#ifdef H5_HAVE_PARALLEL
  KBNN_H5_CHECK_AT(H5Pset_fapl_mpio(fapl, comm.get(), MPI_INFO_NULL), path);
#else
  if (comm.size() > 1)
    throw RuntimeError(concat(path, ": this HDF5 is not a parallel build; cannot write "
                              "one file from ", comm.size(), " ranks"));
#endif
  return fapl;
}

PropList collective_transfer(const std::string& path) {
  PropList dxpl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_DATASET_XFER), path));
#ifdef H5_HAVE_PARALLEL
  KBNN_H5_CHECK_AT(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), path);
#endif
  return dxpl;
}

CollectiveFile create_collective_file(const std::string& path, const Communicator& comm,
                                      const std::string& kind) {
  hid_t id = -1;
  agree_or_throw(comm.get(), [&] {
    const PropList fapl = mpi_file_access(comm, path);
    id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (id < 0)
      throw InputError(concat(path, ": cannot create the ", kind, " (", error_stack_reason(), ")"));
  });
  return CollectiveFile(id, path);
}

}  // namespace kbnn::h5
