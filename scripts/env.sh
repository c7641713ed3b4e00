# Sourced by kbnn's scripts: the run-time environment for a CPU node.
# - One BLAS thread per MPI rank: ranks, not BLAS threads, share the cores.
# - OpenBLAS picks its kernels from the CPU model it recognises; on CPUs it does not
#   know (common in VMs) it falls back to SSE3 "Prescott" kernels, ~5x slower than
#   AVX-512 ones. Name the kernel family from the CPU flags unless the user did.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
if [[ -z "${OPENBLAS_CORETYPE:-}" && -r /proc/cpuinfo ]]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
# OpenMPI refuses root unless told; CI and containers run as root.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
