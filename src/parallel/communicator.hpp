// The MPI communicator of a run: owns a duplicate of the user's communicator (so our
// messages never mix with the caller's), and moves Views: the gradient allreduce,
// the parameter broadcast, and scalar reductions for logs and metrics.
//
// Without GPU-aware MPI, device data goes through a host mirror allocated once.
#pragma once

#include "core/types.hpp"
#include "parallel/mpi_check.hpp"

#include <mpi.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace kbnn {

template <class Scalar>
MPI_Datatype mpi_type();
template <>
inline MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

// Rows [begin, end) of n that rank r of `ranks` owns: contiguous, sizes differ by <= 1.
inline std::pair<std::int64_t, std::int64_t> shard(std::int64_t n, int rank, int ranks) {
  return {n * rank / ranks, n * (rank + 1) / ranks};
}

class Communicator {
 public:
  explicit Communicator(MPI_Comm comm, bool gpu_aware = false);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  std::pair<std::int64_t, std::int64_t> shard(std::int64_t n) const {
    return kbnn::shard(n, rank_, size_);
  }

  // data = sum over ranks of data, in place: the one gradient message of a step.
  template <class Scalar>
  void allreduce_sum(const View1<Scalar>& data);

  // Every rank gets root's data (the initial parameters: BroadcastGlobalVariablesHook).
  template <class Scalar>
  void broadcast(const View1<Scalar>& data, int root = 0);

  // Host scalars and arrays, summed over ranks in place.
  void allreduce_sum(double* values, int count) const;
  double allreduce_sum(double value) const {
    allreduce_sum(&value, 1);
    return value;
  }
  void barrier() const { KBNN_MPI_CHECK(MPI_Barrier(comm_)); }

 private:
  template <class Scalar>
  Scalar* host_buffer(const View1<Scalar>& data);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool gpu_aware_;
  std::vector<char> staging_;  // host mirror for device data when MPI is not GPU-aware
};

template <class Scalar>
Scalar* Communicator::host_buffer(const View1<Scalar>& data) {
  // Host-accessible memory goes to MPI directly; otherwise stage through the host.
  if (gpu_aware_ || Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible)
    return data.data();
  staging_.resize(data.size() * sizeof(Scalar));
  Scalar* host = reinterpret_cast<Scalar*>(staging_.data());
  Kokkos::deep_copy(Kokkos::View<Scalar*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                        host, data.size()),
                    data);
  return host;
}

template <class Scalar>
void Communicator::allreduce_sum(const View1<Scalar>& data) {
  if (size_ == 1) return;
  Kokkos::fence();
  Scalar* buffer = host_buffer(data);
  KBNN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buffer, int(data.size()), mpi_type<Scalar>(),
                               MPI_SUM, comm_));
  if (buffer != data.data())
    Kokkos::deep_copy(data, Kokkos::View<Scalar*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                buffer, data.size()));
}

template <class Scalar>
void Communicator::broadcast(const View1<Scalar>& data, int root) {
  if (size_ == 1) return;
  Kokkos::fence();
  Scalar* buffer = host_buffer(data);
  KBNN_MPI_CHECK(MPI_Bcast(buffer, int(data.size()), mpi_type<Scalar>(), root, comm_));
  if (buffer != data.data())
    Kokkos::deep_copy(data, Kokkos::View<Scalar*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                buffer, data.size()));
}

}  // namespace kbnn
