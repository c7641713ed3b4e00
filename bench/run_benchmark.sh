#!/usr/bin/env bash
# kbnn against its PyTorch Flipout LeNet-5 peer (bench/peer_torch_flipout.py), back to
# back on this machine: training images/s, GFLOP/s in the conv+dense products (4.53
# MFLOP per image, 579.6 per batch-128 step), MC-inference image-passes/s and test accuracy.
#
#   bench/run_benchmark.sh [EPOCHS] [SAMPLES]        (defaults: 1 epoch, S = 10)
#
# Rows: kbnn on 1 rank vs the peer on 1 thread; kbnn on 2 ranks vs the peer on 2
# threads; then kbnn on 1 rank with the other estimators (the deterministic twin and
# local reparameterization), to compare with the Flipout row of the same run.
# Shared machines are noisy: compare the ratios of one run, not absolute rates.
# A header names the CPU, the ISA and flags the kbnn build targets, the OpenBLAS core
# type and the kbnn revision. See bench/README.md.
#
# Environment:
#   KBNN_BUILD_DIR     the kbnn build to measure (default: build/; built if missing)
#   KBNN_PEER          another peer script (default: bench/peer_torch_flipout.py)
#   OPENBLAS_CORETYPE  OpenBLAS kernels for kbnn and the peer (default: scripts/env.sh's
#                      choice from the CPU flags)
#   KBNN_BENCH_WAIT    seconds to wait for an idle machine first (default 120, 0: don't)
#   KBNN_BENCH_ESTIMATORS  model.estimator values for the extra 1-rank kbnn rows
#                      (default "deterministic local_reparam"; empty: no extra rows)
#   KBNN_BENCH_HEADER_ONLY=1   print the header (CPU, build, flags) and stop
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
export LC_NUMERIC=C   # "1.5", not "1,5", in $EPOCHREALTIME and awk
root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${1:-1}
samples=${2:-10}
build=${KBNN_BUILD_DIR:-$root/build}
[[ $build == /* ]] || build=$PWD/$build   # relative to the caller, as in scripts/build.sh
peer=${KBNN_PEER:-$root/bench/peer_torch_flipout.py}
coretype_from_user=${OPENBLAS_CORETYPE:-}
# shellcheck source=../scripts/env.sh
source "$root/scripts/env.sh"
# glibc gives a freed block above its mmap threshold (at most 32 MiB) back to the kernel
# at once, and trims the heap's top, so a code that allocates large tensors afresh every
# batch page-faults them in again each time: the peer's MC inference (eval batch 1000)
# ran at 857 image-passes/s instead of 6,279 on a 2-core AVX-512 EPYC. PyTorch's CPU
# tuning guide suggests jemalloc or tcmalloc for the same reason; these two keep freed
# memory in glibc for both codes (kbnn allocates its buffers once).
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
if [[ -z ${KBNN_BENCH_HEADER_ONLY:-} && ! -x $build/src/kbnn ]]; then
  KBNN_BUILD_DIR=$build "$root/scripts/build.sh" >/dev/null
fi
kbnn="$build/src/kbnn"
out=$(mktemp -d /tmp/kbnn-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

# ----------------------------------------------------------------------------- machine load
cpu_ticks() {  # "busy idle" jiffies of the whole machine; steal counts as busy
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat
}
wait_for_idle() {  # max_busy_percent timeout_s -> prints one note
  local max=$1 limit=$2 start=$SECONDS b0 i0 b1 i1 busy
  while :; do
    read -r b0 i0 < <(cpu_ticks); sleep 3; read -r b1 i1 < <(cpu_ticks)
    busy=$(( 100 * (b1 - b0) / (b1 - b0 + i1 - i0 + 1) ))
    if (( busy <= max )); then
      echo "machine ${busy}% busy at the start (waited $(( SECONDS - start )) s)"; return
    fi
    if (( SECONDS - start >= limit )); then
      echo "machine still ${busy}% busy after ${limit} s: expect contaminated timings"; return
    fi
    sleep 7
  done
}
busy_cores() {  # ticks_before wall_before -> average busy cores since then
  local b1 i1; read -r b1 i1 < <(cpu_ticks)
  awk -v b="$(( b1 - $1 ))" -v hz="$(getconf CLK_TCK)" -v t0="$2" -v t1="$EPOCHREALTIME" \
    'BEGIN {printf "%.2f", b / hz / (t1 - t0)}'
}

# ----------------------------------------------------------------------------- the build
cache_value() {  # NAME -> its value in the build's CMakeCache.txt
  sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2>/dev/null | head -1
}
build_flags() {  # the compile flags of kbnn's own sources (Ninja or Makefile build)
  if [[ -r $build/build.ninja ]]; then
    awk '/^build src\/CMakeFiles\/[^ ]*\.(cpp|cc|cxx)\.o:/ {f = 1; next}
         f && /^  FLAGS = / {sub(/^  FLAGS = /, ""); print; f = 0}' "$build/build.ninja"
  else
    cat "$build"/src/CMakeFiles/*.dir/flags.make 2>/dev/null | sed -n 's/^CXX_FLAGS = //p'
  fi | sort | uniq -c | sort -rn | head -1 | sed 's/^ *[0-9]* //'
}
isa_of() {  # "compiler flags" -> the widest x86 vector ISA they let the compiler use
  local cxx macros flag; local -a all march=()
  cxx=$(cache_value CMAKE_CXX_COMPILER); [[ -x $cxx ]] || cxx=c++
  # Only the -m options matter, and every gcc/clang understands them.
  read -ra all <<< "$1"
  for flag in "${all[@]}"; do if [[ $flag == -m* ]]; then march+=("$flag"); fi; done
  macros=$("$cxx" "${march[@]}" -dM -E -x c++ - </dev/null 2>/dev/null) || { echo "unknown"; return; }
  case $macros in
    *__AVX512F__*) echo "AVX-512F" ;;
    *__AVX2__*)    echo "AVX2$([[ $macros == *__FMA__* ]] && echo +FMA)" ;;
    *__SSE4_2__*)  echo "SSE4.2" ;;
    *)             echo "SSE2 (x86-64 baseline)" ;;
  esac
}
cpu_isa() {
  local f; f=$(grep -m1 '^flags' /proc/cpuinfo || true)
  if [[ $f == *" avx512f"* ]]; then echo "AVX-512F"
  elif [[ $f == *" avx2"* ]]; then echo "AVX2$([[ $f == *" fma"* ]] && echo +FMA)"
  elif [[ $f == *" sse4_2"* ]]; then echo "SSE4.2"
  else echo "SSE2"; fi
}

flags=$(build_flags)
revision=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git --no-optional-locks -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  revision+=" + uncommitted changes"
fi
if [[ -n $coretype_from_user ]]; then coretype="$OPENBLAS_CORETYPE (set by the user)"
elif [[ -n ${OPENBLAS_CORETYPE:-} ]]; then coretype="$OPENBLAS_CORETYPE (scripts/env.sh, from the CPU flags)"
else coretype="auto (OpenBLAS's own detection)"; fi
openblas=$( (ldd "$kbnn" 2>/dev/null || true) | awk '/openblas/ {print $3; exit} /libblas\./ {b = $3} END {print b}' | head -1)
if [[ -n $openblas ]]; then openblas=$(readlink -f "$openblas"); fi
compiler=$(cache_value CMAKE_CXX_COMPILER)
compiler_version=$("${compiler:-c++}" --version 2>/dev/null | head -1 || true)

echo "# kbnn benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'): $epochs epoch(s), S=$samples"
echo "# CPU:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) logical CPUs, $(cpu_isa)"
echo "# kbnn:     revision $revision; build $build"
echo "# compiler: ${compiler:-?} (${compiler_version:-?}), KBNN_ENABLE_NATIVE=$(cache_value KBNN_ENABLE_NATIVE)"
echo "# flags:    ${flags:-unknown}"
echo "# targets:  $(isa_of "$flags")"
echo "# OpenBLAS: core type $coretype; ${openblas:-library not found}"
echo "# peer:     $peer (torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '?'))"
echo "# malloc:   glibc, MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_"
if [[ -n $(find "$root/src" -newer "$kbnn" -print -quit 2>/dev/null) ]]; then
  echo "# warning:  src/ has files newer than $kbnn: rebuild to measure this revision"
fi
[[ -z ${KBNN_BENCH_HEADER_ONLY:-} ]] || exit 0
if (( ${KBNN_BENCH_WAIT:-120} > 0 )); then echo "# load:     $(wait_for_idle 25 "${KBNN_BENCH_WAIT:-120}")"; fi

# ----------------------------------------------------------------------------- the runs
run_kbnn() {  # ranks name [deck options] -> "images/s gflops passes/s accuracy busy_cores"
  local ranks=$1 name=$2; shift 2
  local log=$out/kbnn_$name.log b0 i0 t0=$EPOCHREALTIME
  read -r b0 i0 < <(cpu_ticks)
  mpiexec --oversubscribe -n "$ranks" "$kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
    --train.epochs="$epochs" --eval.samples="$samples" --train.log_every=1000 \
    --output.dir="$out" --output.name="bench_$name" "$@" > "$log" 2>&1 || return 1
  awk -v busy="$(busy_cores "$b0" "$t0")" \
    '/^training:/ {for (i = 1; i <= NF; i++) { if ($i == "images/s,") ips = $(i-1); if ($i == "GFLOP/s") gf = $(i-1) } }
     /^inference:/ {ps = $2}
     /^test \(MC/ {for (i = 1; i <= NF; i++) if ($i == "accuracy") acc = $(i+1)}
     END {print ips, gf, ps, acc, busy}' "$log"
}
run_peer() {  # threads -> "images/s gflops passes/s accuracy busy_cores"
  local log=$out/peer_$1.log b0 i0 t0=$EPOCHREALTIME
  read -r b0 i0 < <(cpu_ticks)
  /usr/bin/python3 "$peer" --threads "$1" --epochs "$epochs" --mc-samples "$samples" > "$log" 2>&1 || return 1
  # "TRAIN throughput (excl. first 10 steps): 2882 img/s, achieved conv+dense 13.05 GFLOP/s, ..."
  awk -v busy="$(busy_cores "$b0" "$t0")" \
    '/^TRAIN throughput/ {for (i = 1; i <= NF; i++) { if ($i == "img/s,") ips = $(i-1); if ($i == "GFLOP/s," && !gf) gf = $(i-1) } }
     /^TEST/ {for (i = 1; i <= NF; i++) { if ($i == "acc") acc = $(i+1); if ($i == "img-passes/s") ps = $(i-1) } }
     END {print ips, gf, ps, acc, busy}' "$log"
}

notes=()
printf '%-30s %12s %10s %16s %9s\n' "run" "train img/s" "GFLOP/s" "MC img-passes/s" "accuracy"
for n in 1 2; do
  k=$(run_kbnn "$n" "$n") || { echo "kbnn on $n rank(s) failed:"; tail -20 "$out/kbnn_$n.log"; exit 1; } >&2
  read -r ki kg kp ka kb <<< "$k"
  if [[ -r "$peer" ]]; then
    p=$(run_peer "$n") || { echo "the peer on $n thread(s) failed:"; tail -20 "$out/peer_$n.log"; exit 1; } >&2
    read -r pi pg pp pa pb <<< "$p"
  else
    pi=nan pg=nan pp=nan pa=nan pb=nan
  fi
  printf '%-30s %12s %10s %16s %9s\n' "kbnn, $n rank(s)" "$ki" "$kg" "$kp" "$ka"
  printf '%-30s %12s %10s %16s %9s\n' "peer, $n thread(s)" "$pi" "$pg" "$pp" "$pa"
  awk -v a="$ki" -v b="$pi" -v c="$kp" -v d="$pp" \
    'BEGIN {if (b > 0 && d > 0) printf "%-30s %11.2fx %10s %15.2fx\n", "ratio kbnn/peer", a / b, "", c / d}'
  notes+=("kbnn $n rank(s) $kb, peer $n thread(s) $pb")
done
# The same deck with other estimators on 1 rank: their cost next to Flipout's row above.
for estimator in ${KBNN_BENCH_ESTIMATORS-deterministic local_reparam}; do
  k=$(run_kbnn 1 "$estimator" --model.estimator="$estimator") ||
    { echo "kbnn with $estimator failed:"; tail -20 "$out/kbnn_$estimator.log"; exit 1; } >&2
  read -r ki kg kp ka kb <<< "$k"
  printf '%-30s %12s %10s %16s %9s\n' "kbnn, 1 rank, $estimator" "$ki" "$kg" "$kp" "$ka"
  notes+=("kbnn 1 rank $estimator $kb")
done
echo "# busy cores (machine average while each run ran; a run uses about its own count):"
printf '#   %s\n' "${notes[@]}"
