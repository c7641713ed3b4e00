#!/usr/bin/env bash
# Runs the GPU check kit (made by scripts/gpu/prepare.sh) on a GPU machine, in one go:
#
#   scripts/gpu/run.sh OUT_DIR             # on the GPU machine, from the checkout
#   scripts/gpu/run.sh --dry-run OUT_DIR   # on the CPU machine that prepared the kit
#
# Steps, each under `timeout` and all within one budget (KBNN_KIT_BUDGET_S, 480 s), so
# that a hang cannot eat the machine's window:
#   device   the GPU (nvidia-smi), the kit's mpiexec starting 2 ranks of mpi_check
#            (allreduce and MPI-IO) and of `kbnn --version`
#   unit     kbnn_tests one test file at a time (as ctest does), on the GPU backend
#   mpi_1, mpi_2   the [mpi] test cases on 1 and 2 ranks
#   train_1, train_2   one epoch of the default deck on the kit's data slice, 1 and 2
#            ranks: test accuracy against the CPU reference recorded at prepare time,
#            and 2 ranks against 1 (rank invariance)
#   predict  `kbnn predict` on train_1's run file with an OOD set: the Monte-Carlo
#            predictive must repeat train_1's test metrics, and the OOD AUROCs exist
#   peer     bench/peer_torch_flipout.py --device cuda on the same data
# OUT_DIR gets summary.txt (a line per step, the comparisons, images/s against the
# peer), metrics.txt (key=value) and logs.tar.gz (every step's log).
#
# --dry-run checks on the CPU machine all that does not need the GPU: the kit's files
# against their checksums; the shared-library closure of every binary, library and MPI
# component with only the kit, glibc and the CUDA libraries visible (a mount namespace
# with an empty /usr/lib, glibc copied back in, and no ld.so.cache); in that namespace,
# the kit's mpiexec starting 2 ranks of mpi_check and of kbnn --version; the data
# slice; that the peer parses; and then a rehearsal of every step above with the CPU
# build standing in for the GPU one (build/src/kbnn, build/tests/kbnn_tests on two test
# files, the peer on --device cpu), through the same command lines and the same summary.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/kit_env.sh"

dry_run=0
if [[ ${1:-} == --dry-run ]]; then dry_run=1; shift; fi
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu/run.sh [--dry-run] OUT_DIR" >&2
  exit 2
fi
mkdir -p "$1" && out=$(cd "$1" && pwd)
kit_dir=${KBNN_GPU_KIT:-$root/gpu-kit}
[[ -r $kit_dir/manifest.txt ]] || { echo "run.sh: no kit at $kit_dir (scripts/gpu/prepare.sh)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kbnn-kit-run.XXXXXX")
logs=$work/logs
mkdir -p "$logs"
budget=${KBNN_KIT_BUDGET_S:-480}
deadline=$(( SECONDS + budget ))
results=()   # "name|result|seconds|note"

# ------------------------------------------------------------------------ step running
# timed LOG LIMIT CMD...: CMD's output appended to LOG, killed after LIMIT seconds
# (or what is left of the budget, less 20 s for the summary). Returns CMD's status.
timed() {
  local log=$1 limit=$2 left; shift 2
  left=$(( deadline - SECONDS - 20 ))
  (( limit > left )) && limit=$left
  if (( limit < 5 )); then echo "# out of time: $*" >> "$log"; return 125; fi
  echo "# $(date -u +%H:%M:%S) limit ${limit}s: $*" >> "$log"
  timeout -k 10 "$limit" "$@" >> "$log" 2>&1
}

# record NAME STATUS SECONDS [NOTE]: a summary row; STATUS is a command status or a word.
record() {
  local result=$2
  case $2 in
    0) result=PASS ;;
    124 | 137) result=TIMEOUT ;;
    125) result=SKIPPED ;;
    [0-9]*) result="FAIL(rc=$2)" ;;
  esac
  results+=("$1|$result|$3|${4:-}")
}

# step NAME LIMIT CMD...: CMD as one step, logged to logs/NAME.log.
step() {
  local name=$1 limit=$2 t0=$SECONDS rc; shift 2
  timed "$logs/$name.log" "$limit" "$@"; rc=$?
  record "$name" "$rc" $(( SECONDS - t0 ))
  return $rc
}

passed() { [[ ${results[-1]} == *"|PASS|"* ]]; }

# ------------------------------------------------------------------------ what runs
kit_env "$kit_dir" || { echo "run.sh: the kit's environment is incomplete" >&2; exit 1; }
manifest() { sed -n "s/^$1=//p" "$KIT/manifest.txt" | head -1; }
reference() { sed -n "s/^$1=//p" "$KIT/reference.txt" | head -1; }
run_env=(env "LD_LIBRARY_PATH=$KIT_LIBRARY_PATH")
mpiexec=("${run_env[@]}" "$KIT_MPIEXEC")
kbnn=$KIT/bin/kbnn
tests=$KIT/bin/kbnn_tests
unit_files=$(manifest test_files)
peer_device=cuda
peer_rehearsal=()
python=${KBNN_KIT_PYTHON:-python3}
# The compiled-in source directory of the kit's kbnn_tests (decks under input/).
source_link=$(manifest source_dir)

if (( dry_run )); then
  # The CPU build stands in for the GPU one; same mpiexec, data, reference and steps.
  kbnn=${KBNN_CPU_KBNN:-$root/build/src/kbnn}
  tests=${KBNN_CPU_TESTS:-$root/build/tests/kbnn_tests}
  unit_files=${KBNN_KIT_REHEARSAL_FILES:-test_device_passes test_float_math}
  peer_device=cpu
  peer_rehearsal=(--max-steps 30 --mc-samples 2)   # the command line, not the CPU's speed
  python=${KBNN_KIT_PYTHON:-/usr/bin/python3}
fi
deck=$root/input/fashion_mnist_lenet5.cfg

# ------------------------------------------------------------------------ the GPU steps
device_step() {
  local log=$logs/device.log t0=$SECONDS rc=0
  if (( dry_run )); then
    echo "# dry run: no GPU here" >> "$log"
  else
    timed "$log" 30 nvidia-smi || rc=$?
    timed "$log" 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || rc=$?
  fi
  timed "$log" 60 "${mpiexec[@]}" -n 2 "$KIT/bin/mpi_check" "$work/mpi_check.bin" || rc=$?
  timed "$log" 60 "${mpiexec[@]}" -n 2 "$kbnn" --version || rc=$?
  record device "$rc" $(( SECONDS - t0 )) "$(grep -m1 '^mpi_check:' "$log")"
  return $rc
}

unit_step() {
  local log=$logs/unit.log t0=$SECONDS rc file failed=() n=0
  for file in $unit_files; do
    n=$(( n + 1 ))
    timed "$log" 120 "${mpiexec[@]}" -n 1 "$tests" "[#$file]" -# --warn NoTests --use-colour no
    rc=$?
    (( rc == 0 )) || failed+=("$file(rc=$rc)")
    (( rc == 125 )) && break
  done
  record unit $(( ${#failed[@]} > 0 )) $(( SECONDS - t0 )) \
    "$(( n - ${#failed[@]} ))/$(wc -w <<< "$unit_files") test files passed${failed:+; failed: ${failed[*]}}"
}

train_step() {  # ranks
  local ranks=$1
  step "train_$ranks" 120 "${mpiexec[@]}" -n "$ranks" "$kbnn" train "$deck" "${KIT_TRAIN_ARGS[@]}" \
    "--output.dir=$work/train_$ranks" --output.name=kit
}

predict_step() {
  step predict 90 "${mpiexec[@]}" -n 2 "$kbnn" predict "$work/train_1/kit.h5" "${KIT_OOD_ARGS[@]}" \
    --output "$work/predict.h5"
}

peer_step() {
  # glibc keeping freed memory, as bench/run_benchmark.sh runs the peer (its CPU
  # inference page-faults fresh tensors otherwise; bench/README.md).
  step peer 180 env MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \
    "$python" "$root/bench/peer_torch_flipout.py" --device "$peer_device" \
    --data-dir "$KIT/data/fashion-mnist" --epochs 1 --mc-samples 10 --threads 2 \
    "${KIT_PEER_OOD_ARGS[@]}" "${peer_rehearsal[@]}"
}

# ------------------------------------------------------------------------ dry-run checks
# The kit's files against the checksums prepare.sh wrote, and its size.
check_files() {
  local log=$logs/files.log t0=$SECONDS rc=0 size
  (cd "$KIT" && timed "$log" 60 sha256sum --quiet -c sha256sums.txt) || rc=$?
  size=$(du -sm "$KIT" | cut -f1)
  echo "kit size: $size MiB (limit 60)" >> "$log"
  (( size <= 60 )) || rc=1
  record files "$rc" $(( SECONDS - t0 )) "$size MiB, $(wc -l < "$KIT/sha256sums.txt") files"
}

# Every ELF file of the kit resolved with only the kit, glibc and the CUDA libraries
# visible, then the kit's mpiexec there: see hidden_system.sh.
check_closure() {
  local log=$logs/closure.log t0=$SECONDS rc=0
  timed "$log" 120 bash "$here/hidden_system.sh" "$KIT" "$KIT_LIBRARY_PATH" "$work/hidden" || rc=$?
  record closure "$rc" $(( SECONDS - t0 )) "$(tail -1 "$log")"
}

check_data() {
  step data 60 "$python" - "$KIT" <<'EOF'
import gzip, os, struct, sys
kit = sys.argv[1]
expected = dict(line.strip().split("=", 1) for line in open(os.path.join(kit, "manifest.txt")) if "=" in line)
for split, key in (("train", "data_train_images"), ("t10k", "data_test_images")):
    counts = []
    for kind in ("images-idx3", "labels-idx1"):
        path = os.path.join(kit, "data", "fashion-mnist", f"{split}-{kind}-ubyte.gz")
        raw = gzip.open(path).read()
        zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
        dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        assert zero == 0 and dtype == 8 and len(raw) == 4 + 4 * ndim + eval("*".join(map(str, dims))), path
        counts.append(dims[0])
    assert counts[0] == counts[1] == int(expected[key]), (split, counts, expected[key])
    print(f"{split}: {counts[0]} images and labels, as the manifest says")
EOF
}

check_peer_parses() {
  local log=$logs/peer_parses.log t0=$SECONDS rc=0
  # compile(), not py_compile: that would leave bench/__pycache__ in the checkout.
  timed "$log" 60 "$python" -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' \
    "$root/bench/peer_torch_flipout.py" || rc=$?
  timed "$log" 60 "$python" "$root/bench/peer_torch_flipout.py" --help > /dev/null || rc=$?
  record peer_parses "$rc" $(( SECONDS - t0 ))
}

# ------------------------------------------------------------------------ the summary
# kbnn_metric LOG KEY: accuracy, nll (final test line), ips (training images/s), passes
# (MC image-passes/s), loss (last progress line), auroc (entropy AUROC of the OOD line).
kbnn_metric() {
  [[ -r $1 ]] || return 0
  awk -v key="$2" '
    /^test \(MC|^test \(/ { for (i = 1; i <= NF; i++) { if ($i == "accuracy") acc = $(i+1); if ($i == "NLL") nll = $(i+1) } }
    /^training:/ { for (i = 1; i <= NF; i++) if ($i == "images/s,") ips = $(i-1) }
    /^inference:/ { passes = $2 }
    /^step / { for (i = 1; i <= NF; i++) if ($i == "loss") loss = $(i+1) }
    /^OOD:/ { for (i = 1; i <= NF; i++) if ($i == "entropy") { auroc = $(i+2); break } }
    END { v["accuracy"] = acc; v["nll"] = nll; v["ips"] = ips; v["passes"] = passes
          v["loss"] = loss; v["auroc"] = auroc; printf "%s", v[key] }' "$1"
}
peer_metric() {  # LOG ips|passes|accuracy
  [[ -r $1 ]] || return 0
  awk -v key="$2" '
    /^TRAIN throughput/ { for (i = 1; i <= NF; i++) if ($i == "img/s,") ips = $(i-1) }
    /^TEST/ { for (i = 1; i <= NF; i++) { if ($i == "acc") acc = $(i+1); if ($i == "img-passes/s") passes = $(i-1) } }
    END { v["ips"] = ips; v["passes"] = passes; v["accuracy"] = acc; printf "%s", v[key] }' "$1"
}

# compare NAME A B TOLERANCE [relative]: a PASS/FAIL row for |A - B| <= TOLERANCE.
compare() {
  local verdict
  verdict=$(awk -v a="$2" -v b="$3" -v t="$4" -v rel="${5:-}" 'BEGIN {
    if (a == "" || b == "") { print "MISSING"; exit }
    d = a - b; if (d < 0) d = -d; if (rel != "") d /= (b < 0 ? -b : b)
    printf "%s %.3g", (d <= t ? "PASS" : "FAIL"), d }')
  record "$1" "${verdict%% *}" 0 "$2 vs $3: |diff|${5:+ rel} ${verdict#* } <= $4"
  metrics+=("$1_diff=${verdict#* }")
}

summarize() {
  local t1=$logs/train_1.log t2=$logs/train_2.log pl=$logs/predict.log peer=$logs/peer.log
  metrics=()
  local k
  for k in accuracy nll ips passes loss; do
    metrics+=("kbnn_1rank_$k=$(kbnn_metric "$t1" $k)" "kbnn_2ranks_$k=$(kbnn_metric "$t2" $k)")
  done
  metrics+=("predict_accuracy=$(kbnn_metric "$pl" accuracy)" "predict_entropy_auroc=$(kbnn_metric "$pl" auroc)")
  for k in ips passes accuracy; do metrics+=("peer_$k=$(peer_metric "$peer" $k)"); done
  # What the steps must agree on. The CPU reference is the CPU build on this slice;
  # a GPU sums in another order, which one epoch amplifies to about 0.01 in accuracy
  # (as 1 against 2 ranks does on CPUs, README "Parallel runs").
  compare accuracy_vs_cpu "$(kbnn_metric "$t1" accuracy)" "$(reference train_1_accuracy)" 0.02
  compare accuracy_2_vs_1_ranks "$(kbnn_metric "$t2" accuracy)" "$(kbnn_metric "$t1" accuracy)" 0.01
  compare loss_2_vs_1_ranks "$(kbnn_metric "$t2" loss)" "$(kbnn_metric "$t1" loss)" 0.01 relative
  # The same seed's Monte-Carlo predictive, on any rank count, is the same: exactly.
  compare predict_repeats_training "$(kbnn_metric "$pl" accuracy)" "$(kbnn_metric "$t1" accuracy)" 0
  {
    echo "# kbnn GPU kit $( ((dry_run)) && echo "DRY RUN (no GPU: CPU stand-ins) ")on $(hostname), $(date -u +%FT%TZ)"
    echo "# kit: $(manifest revision) built $(manifest built) for $(manifest arch) with $(manifest kokkos); $(du -sm "$KIT" | cut -f1) MiB"
    (( dry_run )) || echo "# GPU: $(grep -A1 '^name, driver_version' "$logs/device.log" | tail -1)"
    echo "# budget ${budget}s, used $(( SECONDS - deadline + budget ))s"
    printf '%-26s %-12s %7s  %s\n' step result seconds note
    local row name result secs note pass=0 total=0
    for row in "${results[@]}"; do
      IFS='|' read -r name result secs note <<< "$row"
      printf '%-26s %-12s %7s  %s\n' "$name" "$result" "$secs" "$note"
      total=$(( total + 1 )); [[ $result == PASS ]] && pass=$(( pass + 1 ))
    done
    echo
    awk -v a="$(kbnn_metric "$t1" ips)" -v b="$(kbnn_metric "$t2" ips)" -v p="$(peer_metric "$peer" ips)" \
        -v ma="$(kbnn_metric "$t1" passes)" -v mb="$(kbnn_metric "$t2" passes)" -v mp="$(peer_metric "$peer" passes)" \
        -v c="$(reference train_1_ips)" -v dev="$peer_device" 'BEGIN {
      printf "training images/s:   kbnn 1 rank %s, 2 ranks %s; peer (%s) %s", a, b, dev, p
      if (a > 0 && p > 0) printf "; kbnn/peer %.2fx", a / p
      printf " (CPU reference, 1 rank: %s)\n", c
      printf "MC image-passes/s:   kbnn 1 rank %s, 2 ranks %s; peer (%s) %s", ma, mb, dev, mp
      if (ma > 0 && mp > 0) printf "; kbnn/peer %.2fx", ma / mp
      printf "\n" }'
    echo "test accuracy:       kbnn 1 rank $(kbnn_metric "$t1" accuracy), 2 ranks $(kbnn_metric "$t2" accuracy), CPU reference $(reference train_1_accuracy); peer $(peer_metric "$peer" accuracy)"
    echo "OOD entropy AUROC:   kbnn predict $(kbnn_metric "$pl" auroc) (CPU reference $(reference predict_entropy_auroc))"
    echo "overall: $pass of $total PASS"
  } > "$out/summary.txt"
  printf '%s\n' "${metrics[@]}" > "$out/metrics.txt"
  tar -czf "$out/logs.tar.gz" -C "$work" logs
  cat "$out/summary.txt"
}

# ------------------------------------------------------------------------ main
# kbnn_tests finds the decks under the source directory it was built from: a link to
# this checkout under that name (prepare.sh builds from such a link in /tmp).
if [[ -n $source_link && $source_link != "$root" ]]; then
  ln -sfn "$root" "$source_link" 2>/dev/null || echo "run.sh: cannot link $source_link: deck tests will fail" >&2
fi
cd "$work" || exit 1
if (( dry_run )); then
  check_files
  check_closure
  check_data
  check_peer_parses
fi
device_step
if passed || (( dry_run )); then
  unit_step
  step mpi_1 60 "${mpiexec[@]}" -n 1 "$tests" "[mpi]" --use-colour no
  step mpi_2 90 "${mpiexec[@]}" -n 2 "$tests" "[mpi]" --use-colour no
  train_step 1
  train_step 2
  if [[ -r $work/train_1/kit.h5 ]]; then predict_step; else record predict SKIPPED 0 "no train_1 run file"; fi
else
  record kbnn_steps SKIPPED 0 "the device step failed: see logs/device.log"
fi
peer_step
summarize
grep -q '^overall: \([0-9]*\) of \1 PASS' "$out/summary.txt"
