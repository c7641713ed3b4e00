# Spack recipe for kbnn (repository namespace "kbnn": spack/repo.yaml). From the top of
# a kbnn checkout, in the environment of its spack.yaml (which lists this repository):
#   spack env activate . && spack develop --path $PWD kbnn@=main
#   spack add kbnn@=main +cuda cuda_arch=80 && spack install
#
# Meant for Spack 0.22 to 1.x (package API v1 layout), and checked only statically
# (tests/scripts/spack_check.py): Spack itself cannot run on the Debian 12 machines we
# test on (it needs clingo >= 5.5; Debian 12 has 5.4).
from spack.package import *  # noqa: F401,F403  (Spack 0.x: also the build systems)

try:  # Spack 1.x moved the build systems into the builtin package repository
    from spack_repo.builtin.build_systems.cmake import CMakePackage
    from spack_repo.builtin.build_systems.cuda import CudaPackage
    from spack_repo.builtin.build_systems.rocm import ROCmPackage
except ImportError:
    pass


class Kbnn(CMakePackage, CudaPackage, ROCmPackage):
    """Trains Bayesian neural networks (mean-field variational inference, reparameterization
    and Flipout estimators) on CPUs and GPUs through Kokkos, over MPI ranks, writing
    weights, history, Monte-Carlo predictions and their uncertainty to parallel HDF5."""

    # kbnn has no public homepage, release tarballs or known repository URL yet, so the
    # recipe names none and Spack cannot fetch it: build a checkout with `spack develop`
    # (top of this file). When the project is published, add homepage, git = "<url>.git"
    # and tagged versions.
    version("main", branch="main")

    # cuda / cuda_arch come from CudaPackage, rocm / amdgpu_target from ROCmPackage.
    variant("openmp", default=True, description="Kokkos OpenMP backend on the host")

    conflicts("+cuda", when="+rocm", msg="kbnn uses one Kokkos device backend")
    conflicts("+cuda", when="cuda_arch=none", msg="+cuda needs cuda_arch=<sm>, e.g. 80")
    conflicts("+rocm", when="amdgpu_target=none", msg="+rocm needs amdgpu_target, e.g. gfx90a")

    depends_on("c", type="build")  # project(kbnn LANGUAGES C CXX): FindHDF5 probes h5pcc
    depends_on("cxx", type="build")
    depends_on("cmake@3.16:", type="build")

    # Kokkos and Kokkos Kernels with the backend kbnn runs on; Kokkos Kernels must be
    # built on the same Kokkos, which its own recipe pins by version.
    depends_on("kokkos@4:")
    depends_on("kokkos-kernels@4:")
    depends_on("kokkos +openmp", when="+openmp")
    depends_on("kokkos-kernels +openmp", when="+openmp")
    depends_on("kokkos +cuda +wrapper +cuda_lambda", when="+cuda")
    depends_on("kokkos-kernels +cuda", when="+cuda")
    depends_on("kokkos +rocm", when="+rocm")
    # The GPU architecture reaches Kokkos (which compiles for it) and Kokkos Kernels.
    for _arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos +cuda cuda_arch={_arch}", when=f"+cuda cuda_arch={_arch}")
        depends_on(f"kokkos-kernels +cuda cuda_arch={_arch}", when=f"+cuda cuda_arch={_arch}")
    for _target in ROCmPackage.amdgpu_targets:
        depends_on(f"kokkos +rocm amdgpu_target={_target}", when=f"+rocm amdgpu_target={_target}")

    depends_on("mpi")
    depends_on("hdf5@1.10: +mpi")
    depends_on("boost@1.66: +program_options")
    depends_on("zlib-api")

    depends_on("catch2", type="test")

    def cmake_args(self):
        spec = self.spec
        args = [
            # Spack builds run on other machines than the build host: no -march=native
            # (Spack's compiler wrappers pass the target's flags instead).
            self.define("KBNN_ENABLE_NATIVE", False),
            # The tests need Catch2, which Spack provides only with `spack install --test`.
            self.define("KBNN_ENABLE_TESTS", self.run_tests),
            # cuRAND noise on CUDA builds only; elsewhere ignore a CUDA toolkit on the PATH.
            self.define("KBNN_ENABLE_CURAND", spec.satisfies("+cuda")),
        ]
        if spec.satisfies("+cuda"):
            # Kokkos' nvcc_wrapper (+wrapper) compiles the CUDA kernels in our .cpp files.
            args.append(self.define("CMAKE_CXX_COMPILER", spec["kokkos"].package.kokkos_cxx))
        elif spec.satisfies("+rocm"):
            args.append(self.define("CMAKE_CXX_COMPILER", spec["hip"].hipcc))
        return args
