// Uses the installed kbnn: a header-only class (ParameterStore), a compiled one
// (Communicator, from libkbnn) and both include styles. Prints "ok" and exits 0.
#include <kbnn/core/parameter_store.hpp>
#include "parallel/communicator.hpp"

#include <cstdio>

int main(int argc, char* argv[]) {
  MPI_Init(&argc, &argv);
  int failed = 1;
  {
    Kokkos::ScopeGuard guard(argc, argv);
    kbnn::Communicator comm(MPI_COMM_WORLD);
    using Store = kbnn::ParameterStore<float>;
    Store store;
    store.declare("dense_0/kernel", {4, 3}, Store::Kind::gaussian);
    store.declare("dense_0/bias", {3}, Store::Kind::point);
    store.allocate();  // (2 * 12 + 3): mu, rho, bias
    Kokkos::deep_copy(store.values(), 1.0f);
    comm.allreduce_sum(kbnn::ExecSpace(), store.values());
    auto values = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), store.values());
    const auto [begin, end] = comm.shard(10);
    failed = !(store.size() == 27 && values(26) == float(comm.size()) && end - begin >= 10 / comm.size());
    if (comm.is_root())
      std::printf("kbnn %s consumer on %d ranks: %s\n", KBNN_VERSION, comm.size(), failed ? "FAILED" : "ok");
  }
  MPI_Finalize();
  return failed;
}
