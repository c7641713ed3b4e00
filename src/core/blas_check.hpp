// A run-time check of the BLAS that gemm lands in. OpenBLAS picks its kernels from
// the CPU model it recognises; on CPUs it does not know (common in VMs) it falls back
// to SSE3 "Prescott" kernels, 5x slower than AVX-512 ones. We say so, with the fix.
#pragma once

#include <string>

namespace kbnn {

// Empty when all is well (or the BLAS is not OpenBLAS); otherwise a one-line warning
// naming the kernels in use and the OPENBLAS_CORETYPE to set.
std::string blas_warning();

// "OpenBLAS (SkylakeX kernels, 1 thread)", or "BLAS" when it is not OpenBLAS.
std::string blas_description();

// OpenBLAS starts one thread per core unless told otherwise, and every MPI rank starts
// its own: on a node full of ranks, ranks x cores threads spin on the same cores (a
// 1-rank run on 2 cores spent a third of its time in the kernel and trained 20% slower).
// So OpenBLAS gets OPENBLAS_NUM_THREADS threads when that is set, otherwise the thread
// count of the Kokkos host space (1 for Serial, which calls gemm from one thread per
// rank). The count is always set, never left to OpenBLAS: it would start min(its
// variable, the cores the launcher's binding leaves the rank), and sgemm rounds
// differently with another count, so the same run launched with another binding (Open
// MPI binds 2 ranks to a core each, 4 to the socket) gave other bits.
// Other BLAS libraries are left alone.
void match_blas_threads(int host_threads);

}  // namespace kbnn
