// The MPI communicator of a run: owns a duplicate of the user's communicator (so our
// messages never mix with the caller's), and moves Views: the gradient allreduce,
// the parameter broadcast, the all-to-all of split-samples prediction, and scalar
// reductions for logs and metrics; and gathers one small struct per rank (what each
// rank holds, for checks all ranks run alike). Raw MPI calls live in parallel/ only.
//
// Errors on it are returned, not fatal (MPI_ERRORS_RETURN), so KBNN_MPI_CHECK turns a
// failed call into an exception that names the call. MPI counts are int: reductions
// and broadcasts go in pieces of at most kMaxPiece elements, so buffers of any size
// work; the v-collectives (one count per rank) refuse a count or offset over INT_MAX.
//
// Device data: the View overloads take the execution-space instance whose work wrote
// (or will read) the View, as ArborX's and Cabana's collectives do, and fence that
// instance, not the whole device, before MPI touches the memory. Without GPU-aware
// MPI, device data goes through one pinned host buffer (page-locked, so the device
// copies run at full speed), grown on demand and then reused.
#pragma once

#include "core/types.hpp"
#include "parallel/mpi_check.hpp"

#include <mpi.h>

#include <algorithm>
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

namespace detail {
// The int counts and displacements of one block per rank, blocks laid end to end in
// rank order, for MPI's v-collectives. Throws RuntimeError naming `call` if a count or
// an offset exceeds INT_MAX (more than one MPI message can say).
struct MpiBlocks {
  std::vector<int> counts, offsets;
  std::int64_t total = 0;  // the sum of the counts
};
MpiBlocks mpi_blocks(const std::vector<std::int64_t>& counts, int ranks, const char* call);
}  // namespace detail

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
  void allreduce_sum(const ExecSpace& space, const View1<Scalar>& data) const;

  // Every rank gets root's data (the initial parameters: BroadcastGlobalVariablesHook).
  template <class Scalar>
  void broadcast(const ExecSpace& space, const View1<Scalar>& data, int root = 0) const;

  // Personalised all-to-all (MPI_Alltoallv): this rank sends send_counts[q] elements
  // to rank q, the blocks taken from `send` end to end in rank order, and receives
  // recv_counts[q] from rank q into `recv`, likewise. The counts must add up to the
  // Views' sizes.
  template <class Scalar>
  void alltoallv(const ExecSpace& space, const View1<Scalar>& send,
                 const std::vector<std::int64_t>& send_counts, const View1<Scalar>& recv,
                 const std::vector<std::int64_t>& recv_counts) const;

  // Host buffers: `count` elements summed over ranks in place, or taken from root.
  template <class Scalar>
  void allreduce_sum(Scalar* values, std::size_t count) const;
  template <class Scalar>
  void broadcast(Scalar* values, std::size_t count, int root = 0) const;
  // Host buffers (MPI_Allgatherv): every rank's counts[rank] values `mine`, in rank
  // order, into `all` (the sum of counts, on every rank).
  template <class Scalar>
  void allgatherv(const Scalar* mine, const std::vector<std::int64_t>& counts, Scalar* all) const;
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
  using HostBuffer = Kokkos::View<char*, PinnedHostSpace>;
  template <class Scalar>
  using Unmanaged = Kokkos::View<Scalar*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  // Whether device Views must pass through the host buffer to reach MPI.
  bool stages() const { return !gpu_aware_ && !host_accessible; }
  // Grows the staging buffer to hold `bytes` (only where device data is staged).
  void reserve_staging(std::size_t bytes) const;
  // MPI's copy of `data`: data's own memory where MPI may touch it, else bytes
  // [at, at + data's bytes) of the staging buffer (reserve_staging first).
  template <class Scalar>
  Scalar* mpi_side(const View1<Scalar>& data, std::size_t at) const;
  // Copy data to / from its MPI side (nothing when it is data itself), then fence space.
  template <class Scalar>
  void to_mpi(const ExecSpace& space, const View1<Scalar>& data, Scalar* side) const;
  template <class Scalar>
  void from_mpi(const ExecSpace& space, Scalar* side, const View1<Scalar>& data) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool gpu_aware_;
  mutable HostBuffer staging_;  // a cache reused between calls, not state
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
void Communicator::allgatherv(const Scalar* mine, const std::vector<std::int64_t>& counts,
                              Scalar* all) const {
  const detail::MpiBlocks blocks = detail::mpi_blocks(counts, size_, "Communicator::allgatherv");
  KBNN_MPI_CHECK(MPI_Allgatherv(mine, blocks.counts[rank_], mpi_type<Scalar>(), all,
                                blocks.counts.data(), blocks.offsets.data(), mpi_type<Scalar>(),
                                comm_));
}

template <class Scalar>
Scalar* Communicator::mpi_side(const View1<Scalar>& data, std::size_t at) const {
  if (!stages()) return data.data();
  return reinterpret_cast<Scalar*>(staging_.data() + at);
}

template <class Scalar>
void Communicator::to_mpi(const ExecSpace& space, const View1<Scalar>& data, Scalar* side) const {
  if (side != data.data()) Kokkos::deep_copy(space, Unmanaged<Scalar>(side, data.size()), data);
  space.fence();
}

template <class Scalar>
void Communicator::from_mpi(const ExecSpace& space, Scalar* side, const View1<Scalar>& data) const {
  if (side == data.data()) return;
  Kokkos::deep_copy(space, data, Unmanaged<Scalar>(side, data.size()));
  // The staging buffer is reused (or regrown) by the next call: the copy must be done.
  space.fence();
}

template <class Scalar>
void Communicator::allreduce_sum(const ExecSpace& space, const View1<Scalar>& data) const {
  if (size_ == 1) return;
  reserve_staging(data.size() * sizeof(Scalar));
  Scalar* side = mpi_side(data, 0);
  to_mpi(space, data, side);
  allreduce_sum(side, data.size());
  from_mpi(space, side, data);
}

template <class Scalar>
void Communicator::broadcast(const ExecSpace& space, const View1<Scalar>& data, int root) const {
  if (size_ == 1) return;
  reserve_staging(data.size() * sizeof(Scalar));
  Scalar* side = mpi_side(data, 0);
  to_mpi(space, data, side);
  broadcast(side, data.size(), root);
  from_mpi(space, side, data);
}

template <class Scalar>
void Communicator::alltoallv(const ExecSpace& space, const View1<Scalar>& send,
                             const std::vector<std::int64_t>& send_counts,
                             const View1<Scalar>& recv,
                             const std::vector<std::int64_t>& recv_counts) const {
  const detail::MpiBlocks out = detail::mpi_blocks(send_counts, size_, "Communicator::alltoallv");
  const detail::MpiBlocks in = detail::mpi_blocks(recv_counts, size_, "Communicator::alltoallv");
  if (out.total != std::int64_t(send.size()) || in.total != std::int64_t(recv.size()))
    throw RuntimeError(concat("Communicator::alltoallv: the counts add up to ", out.total,
                              " sent and ", in.total, " received, the Views hold ", send.size(),
                              " and ", recv.size()));
  const std::size_t send_bytes = send.size() * sizeof(Scalar);
  reserve_staging(send_bytes + recv.size() * sizeof(Scalar));
  Scalar* send_side = mpi_side(send, 0);
  Scalar* recv_side = mpi_side(recv, send_bytes);
  to_mpi(space, send, send_side);
  KBNN_MPI_CHECK(MPI_Alltoallv(send_side, out.counts.data(), out.offsets.data(), mpi_type<Scalar>(),
                               recv_side, in.counts.data(), in.offsets.data(), mpi_type<Scalar>(),
                               comm_));
  from_mpi(space, recv_side, recv);
}

}  // namespace kbnn
