// The MPI communicator of a run: owns a duplicate of the user's communicator (so our
// messages never mix with the caller's), and moves Views: the gradient allreduce,
// the parameter broadcast, and scalar reductions for logs and metrics; and gathers
// one small struct per rank (what each rank holds, for checks all ranks run alike).
//
// Errors on it are returned, not fatal (MPI_ERRORS_RETURN), so KBNN_MPI_CHECK turns a
// failed call into an exception that names the call. MPI counts are int: every
// transfer goes in pieces of at most kMaxPiece elements, so buffers of any size work.
// Without GPU-aware MPI, device data goes through one pinned host buffer (page-locked,
// so the device copies run at full speed), grown on demand and then reused.
#pragma once

#include "core/types.hpp"
#include "parallel/mpi_check.hpp"

#include <mpi.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace kbnn {

// Page-locked host memory where the backend has it: the staging buffer for MPI.
#if defined(KOKKOS_ENABLE_CUDA)
using PinnedHostSpace = Kokkos::CudaHostPinnedSpace;
#elif defined(KOKKOS_ENABLE_HIP) && KOKKOS_VERSION >= 40000
using PinnedHostSpace = Kokkos::HIPHostPinnedSpace;
#else
using PinnedHostSpace = Kokkos::HostSpace;
#endif

template <class Scalar>
MPI_Datatype mpi_type();
template <>
inline MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
template <>
inline MPI_Datatype mpi_type<char>() { return MPI_BYTE; }
template <>
inline MPI_Datatype mpi_type<std::uint8_t>() { return MPI_UINT8_T; }
template <>
inline MPI_Datatype mpi_type<int>() { return MPI_INT; }
template <>
inline MPI_Datatype mpi_type<std::int64_t>() { return MPI_INT64_T; }
template <>
inline MPI_Datatype mpi_type<std::uint64_t>() { return MPI_UINT64_T; }

// Rows [begin, end) of n that rank r of `ranks` owns: contiguous, sizes differ by <= 1.
inline std::pair<std::int64_t, std::int64_t> shard(std::int64_t n, int rank, int ranks) {
  return {n * rank / ranks, n * (rank + 1) / ranks};
}

class Communicator {
 public:
  // The most elements one MPI call moves (2^30: far below INT_MAX, a whole number of
  // pieces for any element size).
  static constexpr std::size_t kMaxPiece = std::size_t(1) << 30;

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

  // Host buffers: `count` elements summed over ranks in place, or taken from root.
  template <class Scalar>
  void allreduce_sum(Scalar* values, std::size_t count) const;
  template <class Scalar>
  void broadcast(Scalar* values, std::size_t count, int root = 0) const;
  // Root's string, on every rank (any length).
  void broadcast(std::string& text, int root = 0) const;

  // Every rank's `value`, in rank order. T is a plain struct (trivially copyable):
  // it travels as its bytes, so every rank must pass the same type.
  template <class T>
  std::vector<T> allgather(const T& value) const;

  double allreduce_sum(double value) const {
    allreduce_sum(&value, 1);
    return value;
  }
  void barrier() const { KBNN_MPI_CHECK(MPI_Barrier(comm_)); }

 private:
  template <class Scalar>
  Scalar* host_buffer(const View1<Scalar>& data);
  template <class Scalar>
  void copy_back(Scalar* buffer, const View1<Scalar>& data);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool gpu_aware_;
  Kokkos::View<char*, PinnedHostSpace> staging_;  // for device data, MPI not GPU-aware
};

template <class Scalar>
void Communicator::allreduce_sum(Scalar* values, std::size_t count) const {
  if (size_ == 1) return;
  for (std::size_t done = 0; done < count; done += kMaxPiece)
    KBNN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values + done, int(std::min(kMaxPiece, count - done)),
                                 mpi_type<Scalar>(), MPI_SUM, comm_));
}

template <class Scalar>
void Communicator::broadcast(Scalar* values, std::size_t count, int root) const {
  if (size_ == 1) return;
  for (std::size_t done = 0; done < count; done += kMaxPiece)
    KBNN_MPI_CHECK(MPI_Bcast(values + done, int(std::min(kMaxPiece, count - done)),
                             mpi_type<Scalar>(), root, comm_));
}

template <class T>
std::vector<T> Communicator::allgather(const T& value) const {
  static_assert(std::is_trivially_copyable_v<T>, "allgather moves plain structs as bytes");
  std::vector<T> all(static_cast<std::size_t>(size_));
  KBNN_MPI_CHECK(MPI_Allgather(&value, int(sizeof(T)), MPI_BYTE, all.data(), int(sizeof(T)),
                               MPI_BYTE, comm_));
  return all;
}

template <class Scalar>
Scalar* Communicator::host_buffer(const View1<Scalar>& data) {
  // Host-accessible memory goes to MPI directly; otherwise stage through the host.
  if (gpu_aware_ || Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible)
    return data.data();
  const std::size_t bytes = data.size() * sizeof(Scalar);
  if (staging_.size() < bytes)
    staging_ = Kokkos::View<char*, PinnedHostSpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Communicator::staging"), bytes);
  Scalar* host = reinterpret_cast<Scalar*>(staging_.data());
  Kokkos::deep_copy(Kokkos::View<Scalar*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                        host, data.size()),
                    data);
  return host;
}

template <class Scalar>
void Communicator::copy_back(Scalar* buffer, const View1<Scalar>& data) {
  if (buffer != data.data())
    Kokkos::deep_copy(data, Kokkos::View<Scalar*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                buffer, data.size()));
}

template <class Scalar>
void Communicator::allreduce_sum(const View1<Scalar>& data) {
  if (size_ == 1) return;
  Kokkos::fence();
  Scalar* buffer = host_buffer(data);
  allreduce_sum(buffer, data.size());
  copy_back(buffer, data);
}

template <class Scalar>
void Communicator::broadcast(const View1<Scalar>& data, int root) {
  if (size_ == 1) return;
  Kokkos::fence();
  Scalar* buffer = host_buffer(data);
  broadcast(buffer, data.size(), root);
  copy_back(buffer, data);
}

}  // namespace kbnn
