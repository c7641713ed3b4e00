// Communicator's typed collectives against known answers: every rank can work out
// what each other rank sent, so the checks hold on any rank count (run alone and by
// ctest under mpiexec with 2 and 3 ranks, [mpi]).
#include "catch.hpp"

#include "parallel/agree.hpp"
#include "parallel/communicator.hpp"

#include <climits>
#include <cstdint>
#include <vector>

namespace {

// What rank `from` sends rank `to`: (from + to + 1) values, element i = 1000 from + 100 to + i.
std::int64_t block_size(int from, int to) { return from + to + 1; }
double block_value(int from, int to, std::int64_t i) {
  return 1000.0 * from + 100.0 * to + double(i);
}

}  // namespace

TEST_CASE("alltoallv gives each rank its block from every rank, in rank order", "[mpi]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const int me = comm.rank(), ranks = comm.size();
  std::vector<std::int64_t> send_counts, recv_counts;
  std::vector<double> send, expected;
  for (int q = 0; q < ranks; ++q) {
    send_counts.push_back(block_size(me, q));
    recv_counts.push_back(block_size(q, me));
    for (std::int64_t i = 0; i < block_size(me, q); ++i) send.push_back(block_value(me, q, i));
    for (std::int64_t i = 0; i < block_size(q, me); ++i) expected.push_back(block_value(q, me, i));
  }
  kbnn::View1<double> send_view("send", send.size()), recv_view("recv", expected.size());
  using HostValues =
      Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Kokkos::deep_copy(send_view, HostValues(send.data(), send.size()));
  comm.alltoallv(kbnn::ExecSpace(), send_view, send_counts, recv_view, recv_counts);
  const auto received = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), recv_view);
  CHECK(std::vector<double>(received.data(), received.data() + received.size()) == expected);

  recv_counts[0] += 1;
  REQUIRE_THROWS_WITH(
      comm.alltoallv(kbnn::ExecSpace(), send_view, send_counts, recv_view, recv_counts),
      kbnn::test::contains("Communicator::alltoallv: the counts add up to"));
}

TEST_CASE("allgatherv gives every rank all ranks' values, in rank order", "[mpi]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  std::vector<std::int64_t> counts;
  std::vector<float> expected;
  for (int q = 0; q < comm.size(); ++q) {
    counts.push_back(2 * q + 1);
    for (int i = 0; i < 2 * q + 1; ++i) expected.push_back(float(10 * q + i));
  }
  std::vector<float> mine;
  for (int i = 0; i < 2 * comm.rank() + 1; ++i) mine.push_back(float(10 * comm.rank() + i));
  std::vector<float> all(expected.size());
  comm.allgatherv(mine.data(), counts, all.data());
  CHECK(all == expected);
}

TEST_CASE("v-collectives refuse a count or an offset beyond INT_MAX", "[parallel]") {
  using kbnn::detail::mpi_blocks;
  const std::int64_t most = INT_MAX;
  const auto fits = mpi_blocks({most, 0, 7}, 3, "call");
  CHECK(fits.counts == std::vector<int>{INT_MAX, 0, 7});
  CHECK(fits.offsets == std::vector<int>{0, INT_MAX, INT_MAX});
  CHECK(fits.total == most + 7);
  REQUIRE_THROWS_WITH(mpi_blocks({1, most + 1}, 2, "call"),
                      kbnn::test::contains("call: the block of rank 1 (2147483648 elements from "
                                           "offset 1) exceeds one MPI message"));
  REQUIRE_THROWS_WITH(
      mpi_blocks({most, 1, 1}, 3, "call"),
      kbnn::test::contains("the block of rank 2 (1 elements from offset 2147483648)"));
  REQUIRE_THROWS_WITH(mpi_blocks({1, 2}, 3, "call"),
                      kbnn::test::contains("call: 2 counts for 3 ranks"));
}

TEST_CASE("agree_or_throw: one rank's error is every rank's, and says when it was alone",
          "[mpi]") {
  const kbnn::Communicator comm(MPI_COMM_WORLD);
  const int me = comm.rank(), ranks = comm.size();
  const auto fail_on = [&](int rank, const char* what) {
    kbnn::agree_or_throw(comm.get(), [&] {
      if (me == rank) throw kbnn::InputError(what);
    });
  };
  // The last rank alone (rank 0 on one rank): every rank throws its message as an
  // agreed InputError, with the rank named when it is not rank 0.
  const int last = ranks - 1;
  const std::string expected =
      last > 0 ? kbnn::concat("on rank ", last, " alone: bad file") : std::string("bad file");
  REQUIRE_THROWS_AS(fail_on(last, "bad file"), kbnn::AgreedInputError);
  REQUIRE_THROWS_WITH(fail_on(last, "bad file"), expected);
  // Every rank failing: the lowest rank's message, with no rank named.
  REQUIRE_THROWS_WITH(kbnn::agree_or_throw(comm.get(),
                                           [&] { throw kbnn::RuntimeError(kbnn::concat("rank ", me)); }),
                      "rank 0");
  REQUIRE_THROWS_AS(kbnn::agree_or_throw(comm.get(), [&] { throw kbnn::RuntimeError("x"); }),
                    kbnn::AgreedRuntimeError);
  CHECK_NOTHROW(kbnn::agree_or_throw(comm.get(), [] {}));
}
