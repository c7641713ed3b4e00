#!/usr/bin/env bash
# Makes the GPU check kit: everything a bare CUDA node lacks to run kbnn's GPU checks
# (scripts/gpu/run.sh), in one git-ignored folder of at most 60 MiB, gpu-kit/:
#
#   bin/       kbnn, kbnn_tests (built here with nvcc for the GPU), mpi_check
#   lib/       libkbnn, Kokkos, Kokkos Kernels and every shared library they and Open
#              MPI need but glibc and CUDA (libstdc++, Open MPI, PMIx, hwloc, HDF5, Boost...)
#   mpi/       Open MPI's mpiexec, its MCA components, PMIx's, their help texts
#   data/      a slice of Fashion-MNIST (and MNIST digits as the OOD set, if found)
#   reference.txt   the CPU build's numbers on that slice (run.sh compares against them)
#   manifest.txt, cuda-libs.txt, sha256sums.txt
#
#   scripts/gpu/prepare.sh --kokkos DIR [--arch sm_90] [--train-images 16000]
#                          [--ood-dir DIR] [--kit DIR]
#
# DIR (or KBNN_KOKKOS_CUDA) is an installed CUDA build of Kokkos 4 and Kokkos Kernels
# (README, "GPU builds"); nvcc comes from CUDA_HOME (/usr/local/cuda). The GPU build goes
# to build-gpu-kit/; the CPU reference uses build/src/kbnn (scripts/build.sh first).
# The target machine needs x86-64 Linux with glibc >= this machine's, an NVIDIA driver
# for CUDA 13, and CUDA 13's cuBLAS, cuRAND and cudart. Ends with run.sh --dry-run.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/kit_env.sh"

kokkos=${KBNN_KOKKOS_CUDA:-}
arch=sm_90
kit=$root/gpu-kit
build=$root/build-gpu-kit
train_images=16000  # 20000 made a 61 MiB kit at f4c875a
ood_dir=$root/build/tests/ood_data/mnist   # where ctest's predict test fetches MNIST
while [[ $# -gt 0 ]]; do
  case $1 in
    --kokkos) kokkos=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --kit) kit=$2; shift 2 ;;
    --train-images) train_images=$2; shift 2 ;;
    --ood-dir) ood_dir=$2; shift 2 ;;
    *) echo "prepare.sh: unknown argument $1 (see the header)" >&2; exit 2 ;;
  esac
done
cuda_home=$(readlink -f "${CUDA_HOME:-/usr/local/cuda}")
cpu_kbnn=$root/build/src/kbnn
fashion=/usr/share/datasets/fashion-mnist
# kbnn_tests keep the source directory they were built from (the decks in input/): a
# fixed link, which run.sh points at the checkout on the GPU machine.
source_link=/tmp/kbnn-gpu-kit-src

die() { echo "prepare.sh: $*" >&2; exit 1; }
[[ -x ${kokkos:-/nonexistent}/bin/nvcc_wrapper ]] ||
  die "--kokkos DIR must be a CUDA Kokkos install with bin/nvcc_wrapper (got '${kokkos}')"
grep -qs 'CUDA' "$kokkos"/lib*/cmake/Kokkos/KokkosConfigCommon.cmake ||
  die "$kokkos is not a CUDA build of Kokkos"
[[ -x $cuda_home/bin/nvcc ]] || die "no nvcc under $cuda_home (set CUDA_HOME)"
[[ -x $cpu_kbnn ]] || die "no CPU build at $cpu_kbnn (scripts/build.sh) for the reference"
[[ -r $fashion/train-images-idx3-ubyte.gz ]] || die "no Fashion-MNIST in $fashion"

# ------------------------------------------------------------------ build for the GPU
build_kbnn() {
  ln -sfn "$root" "$source_link"
  # Device code compressed for size (nvcc --compress-mode=size; CUDA 13's driver, 580+,
  # loads it): libkbnn's fatbinary shrinks from 10.5 to about 1.5 MB. nvcc_wrapper passes
  # no such flag on, so nvcc reads it from NVCC_APPEND_FLAGS, set by the launcher; ccache
  # does not see that variable, so a file naming the flag joins every cache key.
  mkdir -p "$build"
  echo "NVCC_APPEND_FLAGS=--compress-mode=size" > "$build/nvcc-append-flags.txt"
  local launcher="env;NVCC_APPEND_FLAGS=--compress-mode=size"
  command -v ccache > /dev/null && launcher+=";CCACHE_EXTRAFILES=$build/nvcc-append-flags.txt;ccache"
  # -arch: nvcc_wrapper's own default (sm_70) is gone from CUDA 13, and CMake's
  # compiler check runs before Kokkos adds its flags. No RPATH: the kit's programs find
  # their libraries through LD_LIBRARY_PATH only, which the dry run can then prove.
  PATH=$cuda_home/bin:$PATH cmake -S "$source_link" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$kokkos/bin/nvcc_wrapper" \
    -DCMAKE_CXX_FLAGS="-arch=$arch" -DCMAKE_PREFIX_PATH="$kokkos" \
    -DCUDAToolkit_ROOT="$cuda_home" -DKBNN_ENABLE_NATIVE=OFF -DBUILD_SHARED_LIBS=ON \
    -DCMAKE_SKIP_RPATH=ON "-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher"
  PATH=$cuda_home/bin:$PATH nice -n 19 cmake --build "$build" --parallel "${KBNN_KIT_JOBS:-$(nproc)}"
}

# ------------------------------------------------------------------ the kit's files
# glibc's sonames: the target has its own (and must: the loader comes with it).
glibc_sonames=$(dpkg -L libc6 | sed -n 's|.*/lib/x86_64-linux-gnu/\([^/]*\.so[.0-9]*\)$|\1|p' | sort -u)

# copy_closure FILE...: every shared library FILE needs, but glibc and CUDA, into lib/;
# the CUDA sonames (but the driver's libcuda.so.1) into cuda-libs.txt.
copy_closure() {
  local f line name path
  for f in "$@"; do
    while read -r line; do
      [[ $line == *" => "* ]] || continue
      name=${line%% =>*} path=${line#*=> } path=${path%% (*}
      grep -qx "$name" <<< "$glibc_sonames" && continue
      if [[ $path == "not found" ]]; then
        [[ $name == libcuda.so.1 ]] && continue
        die "$f needs $name, which is not found"
      fi
      if [[ $(readlink -f "$path") == "$cuda_home"/* ]]; then
        echo "$name" >> "$kit/cuda-libs.txt"
      elif [[ ! -e $kit/lib/$name ]]; then
        cp -L "$path" "$kit/lib/$name"
      fi
    done < <(LD_LIBRARY_PATH="$kit/lib:$kokkos/lib:$build/src:$cuda_home/lib64" ldd "$f")
  done
}

# Open MPI's orterun, the MCA components a single node uses (not those of networks the
# kit does not carry: UCX, libfabric, verbs, PSM; nor OpenSHMEM's), PMIx's components,
# and their help texts, laid out for kit_env.sh's OPAL_* and PMIX_* variables.
copy_open_mpi() {
  local pkglib pkgdata pmix c
  pkglib=$(ompi_info --path pkglibdir | awk '{print $NF}')
  pkgdata=$(ompi_info --path pkgdatadir | awk '{print $NF}')
  pmix=$(dirname "$(readlink -f "$(ldconfig -p | awk '$1 == "libpmix.so.2" {print $NF; exit}')")")
  mkdir -p "$kit/mpi/bin" "$kit/mpi/lib/openmpi3" "$kit/mpi/lib/pmix" "$kit/mpi/share/openmpi" \
    "$kit/mpi/share/pmix" "$kit/mpi/etc"
  cp -L "$(command -v orterun)" "$kit/mpi/bin/orterun"
  ln -s orterun "$kit/mpi/bin/mpiexec"
  ln -s orterun "$kit/mpi/bin/mpirun"
  for c in "$pkglib"/*.so; do
    case ${c##*/} in
      *ucx* | *ofi* | *openib* | *psm* | *verbs* | *_memheap_* | *_scoll_* | *_spml_* | \
        *_sshmem_* | *_atomic_* | *monitoring*) continue ;;
    esac
    if LD_LIBRARY_PATH="$kit/lib" ldd "$c" | grep -qE 'lib(fabric|uc[pst]|ibverbs|rdmacm|psm)'; then
      continue
    fi
    cp "$c" "$kit/mpi/lib/openmpi3/"
  done
  cp "$pmix"/pmix/*.so "$kit/mpi/lib/pmix/"
  cp "$pkgdata"/help-*.txt "$kit/mpi/share/openmpi/"
  cp "$(dirname "$pmix")"/share/pmix/help-*.txt "$kit/mpi/share/pmix/" 2>/dev/null ||
    cp "$pmix"/../share/pmix/help-*.txt "$kit/mpi/share/pmix/"
  mpicc -O2 -o "$kit/bin/mpi_check" "$here/mpi_check.c"
}

# The first N training images and the whole test set, as gzipped IDX files; MNIST's
# test digits as the OOD set.
copy_data() {
  mkdir -p "$kit/data/fashion-mnist"
  python3 - "$fashion" "$kit/data/fashion-mnist" "$train_images" "$ood_dir" "$kit/data/mnist" <<'EOF'
import gzip, os, struct, sys
src, dst, train_n, ood_src, ood_dst = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()
def write_slice(raw, n, path):
    ndim = raw[3]
    dims = list(struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim]))
    n = min(n, dims[0]) if n > 0 else dims[0]
    per = 1
    for d in dims[1:]:
        per *= d
    head = raw[:4] + struct.pack(f">{ndim}I", n, *dims[1:])
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(head + raw[4 + 4 * ndim:4 + 4 * ndim + n * per])
    return n
for split, n in (("train", train_n), ("t10k", 0)):
    for kind in ("images-idx3", "labels-idx1"):
        name = f"{split}-{kind}-ubyte.gz"
        print(f"{name}: {write_slice(read(os.path.join(src, name)), n, os.path.join(dst, name))}")
if os.path.isdir(ood_src):
    os.makedirs(ood_dst, exist_ok=True)
    for kind in ("images-idx3", "labels-idx1"):
        name = f"t10k-{kind}-ubyte"
        path = os.path.join(ood_src, name)
        path = path if os.path.exists(path) else path + ".gz"
        print(f"OOD {name}: {write_slice(read(path), 0, os.path.join(ood_dst, name + '.gz'))}")
EOF
}

# The CPU build on the slice, with run.sh's train_1 and predict arguments.
record_reference() {
  local tmp
  tmp=$(mktemp -d)
  kit_args "$kit"
  ( cd "$tmp" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
      mpiexec --oversubscribe -n 1 "$cpu_kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
      "${KIT_TRAIN_ARGS[@]}" --output.dir="$tmp" --output.name=kit > train.log 2>&1 &&
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
      mpiexec --oversubscribe -n 2 "$cpu_kbnn" predict "$tmp/kit.h5" "${KIT_OOD_ARGS[@]}" \
      --output "$tmp/predict.h5" > predict.log 2>&1 ) ||
    die "the CPU reference run failed: $(tail -5 "$tmp"/*.log)"
  awk '/^training:/ { for (i = 1; i <= NF; i++) if ($i == "images/s,") print "train_1_ips=" $(i-1) }
       /^test \(MC/ { for (i = 1; i <= NF; i++) { if ($i == "accuracy") print "train_1_accuracy=" $(i+1)
                                                 if ($i == "NLL") print "train_1_nll=" $(i+1) } }
       /^inference:/ { print "train_1_passes=" $2 }' "$tmp/train.log" > "$kit/reference.txt"
  awk '/^test \(/ { for (i = 1; i <= NF; i++) if ($i == "accuracy") print "predict_accuracy=" $(i+1) }
       /^OOD:/ { for (i = 1; i <= NF; i++) if ($i == "entropy") { print "predict_entropy_auroc=" $(i+2); exit } }' \
    "$tmp/predict.log" >> "$kit/reference.txt"
  echo "reference_build=$("$cpu_kbnn" --version) ($(head -1 "$tmp/train.log" | grep -o 'Kokkos [A-Za-z]*'))" >> "$kit/reference.txt"
  cp "$tmp/train.log" "$kit/reference_train.log"
  cp "$tmp/predict.log" "$kit/reference_predict.log"
  rm -rf "$tmp"
}

write_manifest() {
  local tests
  # The test files ctest registers for this build (the cuRAND ones only with cuRAND).
  tests=$(grep -o '^add_test(test_[a-z0-9_]*' "$build/tests/CTestTestfile.cmake" |
          sed 's/^add_test(//' | sort | tr '\n' ' ')
  {
    echo "revision=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src tests CMakeLists.txt cmake || echo +changes)"
    echo "built=$(date -u +%FT%TZ) on $(hostname), $(. /etc/os-release && echo "$PRETTY_NAME"), glibc $(ldd --version | head -1 | awk '{print $NF}')"
    echo "arch=$arch"
    echo "kokkos=$(sed -n 's/^-- kbnn: using //p' "$build/configure.log" | head -1) at $kokkos"
    echo "nvcc=$("$cuda_home/bin/nvcc" --version | tail -1)"
    echo "source_dir=$source_link"
    echo "test_files=$tests"
    echo "data_train_images=$(python3 -c "import gzip,struct,sys; print(struct.unpack('>I', gzip.open(sys.argv[1]).read(8)[4:8])[0])" "$kit/data/fashion-mnist/train-images-idx3-ubyte.gz")"
    echo "data_test_images=$(python3 -c "import gzip,struct,sys; print(struct.unpack('>I', gzip.open(sys.argv[1]).read(8)[4:8])[0])" "$kit/data/fashion-mnist/t10k-images-idx3-ubyte.gz")"
    echo "ood=$([[ -d $kit/data/mnist ]] && echo "MNIST digits (data/mnist)" || echo "rot90 shift of the test set")"
  } > "$kit/manifest.txt"
}

# ------------------------------------------------------------------ main
echo "== building kbnn for $arch against $kokkos in $build"
mkdir -p "$build"
build_kbnn 2>&1 | tee "$build/kit-build.log" | grep -E '^(-- kbnn|\[[0-9]+/[0-9]+\] Linking|FAILED)' || true
[[ -x $build/src/kbnn && -x $build/tests/kbnn_tests ]] || die "the GPU build failed: see $build/kit-build.log"
grep '^-- kbnn' "$build/kit-build.log" > "$build/configure.log"

echo "== gathering $kit"
rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/lib"
: > "$kit/cuda-libs.txt"
cp "$build/src/kbnn" "$build/tests/kbnn_tests" "$kit/bin/"
copy_open_mpi
copy_closure "$kit"/bin/* "$kit"/mpi/bin/orterun "$kit"/mpi/lib/*/*.so
copy_closure "$kit"/lib/*   # what the copied libraries need in turn (ldd lists it all)
sort -u -o "$kit/cuda-libs.txt" "$kit/cuda-libs.txt"
find "$kit" -type f \( -name '*.so*' -o -path '*/bin/*' \) -exec strip --strip-unneeded {} + 2>/dev/null || true

echo "== data slice and the CPU reference"
copy_data
record_reference
write_manifest
(cd "$kit" && find . -type f ! -name sha256sums.txt -print0 | sort -z | xargs -0 sha256sum > sha256sums.txt)
size=$(du -sm "$kit" | cut -f1)
echo "== kit: $size MiB in $kit"; cat "$kit/manifest.txt" "$kit/reference.txt"
if (( size > 60 )); then
  largest=$(cd "$kit" && find . -type f -printf '%s %P\n' | sort -rn | head -3 |
            awk '{printf "%s%s %.1f MiB", (NR > 1 ? ", " : ""), $2, $1 / 1048576}')
  die "the kit is $size MiB, over 60; its largest files: $largest (a Kokkos Kernels library" \
      "of tens of MiB holds double's kernels: README, GPU builds; or fewer --train-images)"
fi

echo "== dry run"
KBNN_GPU_KIT=$kit "$here/run.sh" --dry-run "${KBNN_KIT_DRY_RUN_OUT:-$root/build-gpu-kit/dry-run}"
