#!/usr/bin/env bash
# Sourced by the bench scripts that run kbnn over MPI on RANKS ranks: one thread per
# rank (the numbers, not the speed, are the point), Open MPI allowed to run as root, and
# `mpi`, the launcher: "${mpi[@]}" "$kbnn" train ... (--oversubscribe under Open MPI,
# which refuses more ranks than cores otherwise).
#   usage: source "$(dirname "$0")/mpi.sh" RANKS
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
mpi=(mpiexec -n "$1")
case $(mpiexec --version 2>&1) in *"Open MPI"* | *OpenRTE*) mpi+=(--oversubscribe) ;; esac
