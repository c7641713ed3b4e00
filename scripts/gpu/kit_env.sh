# shellcheck shell=bash disable=SC2034  # (sourced; the variables are for run.sh)
# The GPU kit's environment, sourced by scripts/gpu/run.sh: where the kit's programs,
# libraries and relocated Open MPI are, and where this machine keeps its CUDA libraries.
#
#   source scripts/gpu/kit_env.sh; kit_env KIT_DIR
#   env LD_LIBRARY_PATH="$KIT_LIBRARY_PATH" "$KIT_MPIEXEC" -n 2 "$KIT/bin/kbnn" ...
#
# LD_LIBRARY_PATH is given per command, never exported: the kit carries its own
# libstdc++ (GCC 12), which must not reach the machine's Python and PyTorch.

# The directories that hold the CUDA libraries the kit's programs need (the sonames in
# KIT/cuda-libs.txt), searched in the usual places of a CUDA install and, last, in
# pip's nvidia-* wheels beside PyTorch. Prints them ':'-joined; fails naming a missing one.
kit_cuda_libdirs() {
  local kit=$1 soname dir found dirs=() candidates=()
  local home=${CUDA_HOME:-${CUDA_PATH:-/usr/local/cuda}}
  candidates+=("$home/lib64" "$home/lib" "$home/targets/x86_64-linux/lib" /usr/local/cuda/lib64)
  candidates+=(/usr/local/cuda-1[3-9]*/lib64 /usr/lib/x86_64-linux-gnu)
  candidates+=(/usr/local/lib/python3*/dist-packages/nvidia/*/lib /usr/lib/python3/dist-packages/nvidia/*/lib)
  candidates+=(/usr/local/lib/python3*/site-packages/nvidia/*/lib)
  local wheels
  wheels=$(python3 -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null) &&
    candidates+=("$wheels"/nvidia/*/lib)
  while read -r soname; do
    [[ -n $soname ]] || continue
    found=
    for dir in "${dirs[@]}" "${candidates[@]}"; do
      if [[ -e $dir/$soname ]]; then found=$dir; break; fi
    done
    if [[ -z $found ]]; then
      found=$(ldconfig -p 2>/dev/null | awk -v s="$soname" '$1 == s {print $NF; exit}')
      found=${found%/*}
    fi
    if [[ -z $found ]]; then echo "kit: CUDA library $soname not found (set CUDA_HOME)" >&2; return 1; fi
    [[ " ${dirs[*]} " == *" $found "* ]] || dirs+=("$found")
  done < "$kit/cuda-libs.txt"
  local IFS=:
  echo "${dirs[*]}"
}

# Sets KIT, KIT_LIBRARY_PATH and KIT_MPIEXEC, and exports the variables that relocate the
# kit's Open MPI 4.1 (OPAL_*), its PMIx (PMIX_*) and hwloc, with the MCA choices of one
# node: no ssh (plm isolated), shared memory without CMA (containers forbid ptrace),
# root allowed, more ranks than cores allowed.
kit_env() {
  KIT=$(cd "$1" && pwd) || return 1
  local cuda
  cuda=$(kit_cuda_libdirs "$KIT") || return 1
  KIT_LIBRARY_PATH=$KIT/lib${cuda:+:$cuda}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  KIT_MPIEXEC=$KIT/mpi/bin/mpiexec
  kit_args "$KIT"
  export OPAL_PREFIX=$KIT/mpi OPAL_EXEC_PREFIX=$KIT/mpi OPAL_BINDIR=$KIT/mpi/bin
  export OPAL_LIBDIR=$KIT/lib OPAL_PKGLIBDIR=$KIT/mpi/lib/openmpi3
  export OPAL_DATAROOTDIR=$KIT/mpi/share OPAL_DATADIR=$KIT/mpi/share
  export OPAL_PKGDATADIR=$KIT/mpi/share/openmpi OPAL_SYSCONFDIR=$KIT/mpi/etc
  export PMIX_PREFIX=$KIT/mpi PMIX_EXEC_PREFIX=$KIT/mpi PMIX_LIBDIR=$KIT/lib
  export PMIX_PKGLIBDIR=$KIT/mpi/lib/pmix PMIX_PKGDATADIR=$KIT/mpi/share/pmix
  export PMIX_DATADIR=$KIT/mpi/share PMIX_SYSCONFDIR=$KIT/mpi/etc
  export HWLOC_PLUGINS_PATH=$KIT/mpi/lib/hwloc
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_plm=isolated OMPI_MCA_rmaps_base_oversubscribe=1
  export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
  export OMPI_MCA_mca_base_component_show_load_errors=1
}

# The arguments that prepare.sh's CPU reference and run.sh's steps share (KIT_DIR):
# one epoch of the default deck on the kit's data slice (KIT_TRAIN_ARGS), and the OOD
# set, the kit's MNIST digits or, where prepare.sh had none, the test set turned by 90
# degrees (KIT_OOD_ARGS for kbnn, KIT_PEER_OOD_ARGS for the peer).
kit_args() {
  local kit=$1
  KIT_TRAIN_ARGS=(--data.dir="$kit/data/fashion-mnist" --train.log_every=50 --eval.samples=10)
  KIT_OOD_ARGS=(--ood.shift=rot90) KIT_PEER_OOD_ARGS=()
  if [[ -d $kit/data/mnist ]]; then
    KIT_OOD_ARGS=(--ood.format=idx "--ood.dir=$kit/data/mnist")
    KIT_PEER_OOD_ARGS=(--ood-dir "$kit/data/mnist")
  fi
}
