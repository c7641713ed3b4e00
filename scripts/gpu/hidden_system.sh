#!/usr/bin/env bash
# The dry run's proof that the GPU kit needs nothing from this machine but glibc and the
# CUDA libraries: in a private mount namespace, /usr/lib (and /lib, its link) becomes a
# directory holding glibc alone, ld.so.cache and Open MPI's /etc and /usr/share files
# are hidden, and then
#   * the dynamic loader lists every ELF file of the kit (programs, libraries, MPI and
#     PMIx components) with LD_LIBRARY_PATH = the kit, the CUDA libraries, a stub
#     libcuda.so.1 (the driver, which only a GPU machine has);
#   * the kit's mpiexec starts 2 ranks of mpi_check (allreduce, MPI-IO) and 2 of
#     `kbnn --version` (MPI_Init and MPI_Finalize in the GPU build).
# Every library must resolve, into the kit, the CUDA directories or glibc.
#   hidden_system.sh KIT LIBRARY_PATH WORK_DIR     (as root: mount needs it)
# Inside the namespace only dash builtins and glibc-only programs run: the analysis of
# what the loader printed happens outside, afterwards.
set -euo pipefail
kit=$1 library_path=$2 work=$3
mkdir -p "$work/usr-lib/x86_64-linux-gnu" "$work/stubs" "$work/empty"

# glibc, as Debian packages it (libc6), else by name.
if command -v dpkg > /dev/null; then
  glibc=$(dpkg -L libc6 | grep -E '/lib/x86_64-linux-gnu/[^/]+\.so[.0-9]*$')
else
  glibc=$(ls /lib/x86_64-linux-gnu/{ld-linux-x86-64,libc,libm,libdl,libpthread,librt,libresolv,libutil,libanl,libmvec}.so* 2>/dev/null)
fi
for f in $glibc; do cp -L "$f" "$work/usr-lib/x86_64-linux-gnu/"; done
stub=$(ls "${CUDA_HOME:-/usr/local/cuda}"/lib64/stubs/libcuda.so 2>/dev/null || true)
[[ -n $stub ]] && cp -L "$stub" "$work/stubs/libcuda.so.1"

# The kit's ELF files.
: > "$work/elf.txt"
while IFS= read -r -d '' f; do
  [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] && echo "$f" >> "$work/elf.txt"
done < <(find "$kit" -type f -print0 | sort -z)

cat > "$work/inside.sh" <<EOF
set -e
[ -e /etc/ld.so.cache ] && mount --bind /dev/null /etc/ld.so.cache
for d in /etc/openmpi /usr/share/openmpi; do [ -d \$d ] && mount --bind "$work/empty" \$d; done
mount --bind "$work/usr-lib" /usr/lib
set +e
export LD_LIBRARY_PATH="$library_path:$work/stubs"
while read -r f; do
  echo "== \$f"
  /lib64/ld-linux-x86-64.so.2 --list "\$f" 2>&1
done < "$work/elf.txt" > "$work/loader.txt"
cd "$work"
"$kit/mpi/bin/mpiexec" -n 2 "$kit/bin/mpi_check" "$work/mpi_check.bin" > "$work/mpi_check.txt" 2>&1
echo "rc=\$?" >> "$work/mpi_check.txt"
"$kit/mpi/bin/mpiexec" -n 2 "$kit/bin/kbnn" --version > "$work/version.txt" 2>&1
echo "rc=\$?" >> "$work/version.txt"
EOF
unshare -m --propagation private /bin/dash "$work/inside.sh"

# What resolved where. Paths under /lib or /usr/lib could only be glibc in there.
echo "--- the loader, for each ELF file of the kit (inside the namespace):"
cat "$work/loader.txt"
cuda_dirs=${library_path#"$kit/lib"}
verdict=$(awk -v kit="$kit/" -v cuda="$cuda_dirs" -v stubs="$work/stubs/" '
  BEGIN { n = split(cuda, c, ":") }
  /^== / { files++; next }
  /not found/ { bad[$1] = "not found"; next }
  /error while loading shared libraries/ {
    lib = $0; sub(/.*shared libraries: /, "", lib); sub(/:.*/, "", lib); bad[lib] = "not found"; next }
  / => / {
    path = $3
    if (index(path, kit) == 1) { kit_libs[$1] = 1; next }
    if (index(path, stubs) == 1) { cuda_libs[$1] = 1; next }
    if (path ~ /^(\/usr)?\/lib(64)?\/(x86_64-linux-gnu\/)?[^\/]+$/) { glibc_libs[$1] = 1; next }
    for (i = 1; i <= n; i++) if (c[i] != "" && index(path, c[i] "/") == 1) { cuda_libs[$1] = 1; next }
    bad[$1] = path
  }
  END {
    for (l in bad) { printf "UNRESOLVED %s -> %s\n", l, bad[l]; nbad++ }
    for (l in kit_libs) nk++; for (l in glibc_libs) ng++; for (l in cuda_libs) { nc++; cl = cl " " l }
    printf "%d ELF files: %d libraries from the kit, %d from glibc, %d CUDA (%s ), %d unresolved\n",
           files, nk, ng, nc, cl, nbad
  }' "$work/loader.txt")
echo "--- mpiexec -n 2 mpi_check:"; cat "$work/mpi_check.txt"
echo "--- mpiexec -n 2 kbnn --version:"; cat "$work/version.txt"
echo "$verdict"
status=0
grep -q '^UNRESOLVED' <<< "$verdict" && status=1
grep -q '^rc=0$' "$work/mpi_check.txt" || status=1
grep -q '^rc=0$' "$work/version.txt" || status=1
[[ $(grep -c '^kbnn ' "$work/version.txt") == 1 ]] || status=1
echo "closure: $(tail -1 <<< "$verdict" | cut -d, -f1-4); mpi_check and kbnn --version on 2 ranks: $( ((status)) && echo FAILED || echo ok)"
exit $status
