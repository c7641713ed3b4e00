#!/bin/bash
# Aurora: one PVC tile (of 6 GPUs x 2 tiles) per MPI rank, chosen from the rank's index on
# its node, as the Aurora PE's gpu_tile_compact.sh does; then runs the command.
#   mpiexec ... --ppn 12 --cpu-bind=list:... jobscripts/set_affinity_gpu_aurora.sh kbnn ...
# Level Zero's default FLAT hierarchy shows every tile as a device (0-11); in COMPOSITE
# mode a tile is named GPU.TILE.
num_gpus=${KBNN_GPUS_PER_NODE:-6}
num_tiles=${KBNN_TILES_PER_GPU:-2}
local_rank=${PALS_LOCAL_RANKID:-${PMI_LOCAL_RANK:-0}}
if [[ ${ZE_FLAT_DEVICE_HIERARCHY:-FLAT} == COMPOSITE ]]; then
  export ZE_AFFINITY_MASK=$(((local_rank / num_tiles) % num_gpus)).$((local_rank % num_tiles))
else
  export ZE_AFFINITY_MASK=$((local_rank % (num_gpus * num_tiles)))
fi
exec "$@"
