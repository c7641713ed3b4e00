#!/bin/bash
# Polaris: one A100 per MPI rank, chosen from the rank's index on its node (PALS sets
# PALS_LOCAL_RANKID; PMI_LOCAL_RANK on older PALS), then runs the command.
#   mpiexec ... --ppn 4 --depth 8 --cpu-bind depth jobscripts/set_affinity_gpu_polaris.sh kbnn ...
# GPUs are handed out in reverse order, as in ALCF's own script: with --depth 8 local
# rank 0 runs on cores 0-7, and GPU 3 is the one attached to that part of the CPU.
num_gpus=${KBNN_GPUS_PER_NODE:-4}
local_rank=${PALS_LOCAL_RANKID:-${PMI_LOCAL_RANK:-0}}
export CUDA_VISIBLE_DEVICES=$((num_gpus - 1 - local_rank % num_gpus))
exec "$@"
