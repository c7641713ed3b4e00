// A run-time check of the BLAS that gemm lands in. OpenBLAS picks its kernels from
// the CPU model it recognises; on CPUs it does not know (common in VMs) it falls back
// to SSE3 "Prescott" kernels, 5x slower than AVX-512 ones. We say so, with the fix.
#pragma once

#include <string>

namespace kbnn {

// Empty when all is well (or the BLAS is not OpenBLAS); otherwise a one-line warning
// naming the kernels in use and the OPENBLAS_CORETYPE to set.
std::string blas_warning();

// "OpenBLAS (SkylakeX kernels)", or "BLAS" when it is not OpenBLAS.
std::string blas_description();

}  // namespace kbnn
