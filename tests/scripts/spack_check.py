"""Static checks of kbnn's Spack files, since Spack cannot run here (it needs
clingo >= 5.5; Debian 12 has 5.4):
  * spack.yaml parses and has the shape Spack's environment schema requires, lists
    kbnn's dependencies, names the site variants, and its repos: entry is spack/;
  * spack/repo.yaml declares namespace kbnn;
  * spack/packages/kbnn/package.py is valid Python whose class Kbnn declares the
    variants and depends_on lines that README's "Installing" section promises (read
    from the syntax tree: Spack itself is not importable here).
usage: spack_check.py SOURCE_DIR     (prints every problem; exit 1 if any)"""
import ast
import pathlib
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("spack_check: needs PyYAML (Debian: apt-get install python3-yaml)")

problems = []


def check(ok, message):
    if not ok:
        problems.append(message)
    return ok


def spec_name(spec):
    """'kokkos-kernels@4.6 +openmp' -> 'kokkos-kernels'."""
    return re.match(r"[A-Za-z0-9_.-]*", spec.strip()).group(0).split("@")[0]


# Top-level keys of an environment (spack/schema/env.py: the env keys plus every
# config section that may be merged into spack.yaml).
ENV_KEYS = {"specs", "view", "concretizer", "repos", "packages", "include", "definitions",
            "config", "mirrors", "modules", "compilers", "develop", "upstreams", "bootstrap",
            "ci", "cdash", "container", "toolchains", "env_vars", "include_concrete"}
PACKAGE_KEYS = {"require", "prefer", "conflict", "variants", "version", "providers",
                "buildable", "externals", "target", "compiler", "permissions", "package_attributes"}


def check_environment(root):
    path = root / "spack.yaml"
    text = path.read_text()
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        check(False, f"spack.yaml does not parse: {e}")
        return
    if not check(isinstance(document, dict) and list(document) == ["spack"],
                 "spack.yaml: the only top-level key must be 'spack:'"):
        return
    env = document["spack"]
    if not check(isinstance(env, dict), "spack.yaml: 'spack:' must be a mapping"):
        return
    for key in env:
        check(key in ENV_KEYS, f"spack.yaml: unknown key spack:{key}")

    specs = env.get("specs")
    if check(isinstance(specs, list) and specs, "spack.yaml: spack:specs must be a non-empty list"):
        for spec in specs:
            # An unquoted 'boost@1.66: +x' parses as a mapping: quote such specs.
            check(isinstance(spec, str) and spec.strip(),
                  f"spack.yaml: spec {spec!r} is not a string (quote it)")
        names = {spec_name(s) for s in specs if isinstance(s, str)}
        for dep in ("kokkos", "kokkos-kernels", "mpi", "hdf5", "boost", "catch2", "cmake"):
            check(dep in names, f"spack.yaml: no spec for {dep}")
        check(names & {"zlib", "zlib-api", "zlib-ng"}, "spack.yaml: no spec for zlib")
        for spec, variant in (("hdf5", "+mpi"), ("boost", "+program_options")):
            check(any(isinstance(s, str) and spec_name(s) == spec and variant in s for s in specs),
                  f"spack.yaml: {spec} without {variant}")

    if "view" in env:
        check(isinstance(env["view"], (bool, str, dict)),
              "spack.yaml: spack:view must be true/false, a path or a mapping")
    check("view" in env, "spack.yaml: no spack:view")
    concretizer = env.get("concretizer")
    if check(isinstance(concretizer, dict), "spack.yaml: spack:concretizer must be a mapping"):
        check(concretizer.get("unify") in (True, False, "when_possible"),
              "spack.yaml: concretizer:unify must be true, false or when_possible")
        check(concretizer.get("unify") is True, "spack.yaml: concretizer:unify should be true")

    repos = env.get("repos")
    if isinstance(repos, dict):  # Spack 1.x also takes {name: path}
        repos = list(repos.values())
    if check(isinstance(repos, list) and all(isinstance(r, str) for r in repos),
             "spack.yaml: spack:repos must be a list of paths"):
        found = [r for r in repos if (root / r).resolve() == (root / "spack").resolve()]
        check(found, "spack.yaml: spack:repos does not list the project's spack/ repository")

    packages = env.get("packages", {})
    if check(isinstance(packages, dict), "spack.yaml: spack:packages must be a mapping"):
        for name, settings in packages.items():
            if not check(isinstance(settings, dict), f"spack.yaml: packages:{name} must be a mapping"):
                continue
            for key, value in settings.items():
                check(key in PACKAGE_KEYS, f"spack.yaml: unknown key packages:{name}:{key}")
                if key == "providers":
                    check(isinstance(value, dict) and all(isinstance(v, list) for v in value.values()),
                          f"spack.yaml: packages:{name}:providers must map virtuals to lists")
                if key == "buildable":
                    check(isinstance(value, bool), f"spack.yaml: packages:{name}:buildable must be a bool")
                if key == "externals":
                    check(isinstance(value, list) and all(isinstance(e, dict) and "spec" in e and
                                                          ("prefix" in e or "modules" in e) for e in value),
                          f"spack.yaml: packages:{name}:externals entries need spec and prefix/modules")

    # The site variants README points to live in comments: make sure they are there.
    for words in ("+cuda cuda_arch=80 +wrapper", "+rocm amdgpu_target=gfx90a", "+sycl", "+openmp",
                  "cray-mpich"):
        check(words in text, f"spack.yaml: no site example with '{words}'")


def check_repository(root):
    try:
        repo = yaml.safe_load((root / "spack" / "repo.yaml").read_text())
    except (OSError, yaml.YAMLError) as e:
        check(False, f"spack/repo.yaml: {e}")
        return
    check(isinstance(repo, dict) and isinstance(repo.get("repo"), dict) and
          repo["repo"].get("namespace") == "kbnn", "spack/repo.yaml: repo:namespace must be kbnn")


def literal(node):
    """A string argument as text; f-string holes become '{}'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def keyword(call, name):
    for k in call.keywords:
        if k.arg == name:
            return literal(k.value)
    return None


def check_recipe(root):
    path = root / "spack" / "packages" / "kbnn" / "package.py"
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError) as e:
        check(False, f"{path.relative_to(root)}: {e}")
        return
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Kbnn"]
    if not check(classes, "package.py: no class Kbnn"):
        return
    cls = classes[0]
    bases = {b.id for b in cls.bases if isinstance(b, ast.Name)}
    check("CMakePackage" in bases, "package.py: Kbnn is not a CMakePackage")

    calls = [n for n in ast.walk(cls) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    variants = {literal(c.args[0]) for c in calls if c.func.id == "variant" and c.args}
    # The GPU variants may come from Spack's mixins, as in Spack's own recipes.
    if "CudaPackage" in bases:
        variants |= {"cuda", "cuda_arch"}
    if "ROCmPackage" in bases:
        variants |= {"rocm", "amdgpu_target"}
    for name in ("cuda", "rocm", "openmp"):
        check(name in variants, f"package.py: no variant '{name}'")
    check(any(c.func.id == "version" for c in calls), "package.py: no version()")

    depends = [(literal(c.args[0]) or "", keyword(c, "when") or "", keyword(c, "type") or "")
               for c in calls if c.func.id == "depends_on" and c.args]

    def has(name, variants=(), when="", dep_type=None):
        for spec, w, t in depends:
            if (spec_name(spec) == name and all(v in spec.split() or v in spec for v in variants)
                    and all(x in w for x in when.split()) and (dep_type is None or dep_type in t)):
                return True
        return False

    promised = [  # (name, variants in the spec, the when= condition, type), as in README
        ("kokkos", (), "", None), ("kokkos-kernels", (), "", None),
        ("kokkos", ("+cuda", "+wrapper"), "+cuda", None), ("kokkos-kernels", ("+cuda",), "+cuda", None),
        ("kokkos", ("cuda_arch={}",), "+cuda cuda_arch={}", None),
        ("kokkos", ("+rocm",), "+rocm", None),
        ("kokkos", ("amdgpu_target={}",), "+rocm amdgpu_target={}", None),
        ("kokkos", ("+openmp",), "+openmp", None), ("kokkos-kernels", ("+openmp",), "+openmp", None),
        ("mpi", (), "", None), ("hdf5", ("+mpi",), "", None),
        ("boost", ("+program_options",), "", None), ("zlib-api", (), "", None),
        ("catch2", (), "", "test"), ("cmake", (), "", "build"),
    ]
    for name, spec_variants, when, dep_type in promised:
        check(has(name, spec_variants, when, dep_type),
              f"package.py: no depends_on('{name} {' '.join(spec_variants)}'"
              f"{', when=' + repr(when) if when else ''}{', type=' + repr(dep_type) if dep_type else ''})")

    methods = {f.name: ast.get_source_segment(path.read_text(), f)
               for f in cls.body if isinstance(f, ast.FunctionDef)}
    if check("cmake_args" in methods, "package.py: no cmake_args()"):
        for word in ("KBNN_ENABLE_NATIVE", "KBNN_ENABLE_TESTS", "run_tests", "CMAKE_CXX_COMPILER",
                     "kokkos_cxx", "hipcc"):
            check(word in methods["cmake_args"], f"package.py: cmake_args() does not mention {word}")
    for attribute in ("homepage", "url", "git"):  # placeholders must not pose as real URLs
        for node in cls.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == attribute for t in node.targets):
                check("example" not in (literal(node.value) or ""),
                      f"package.py: {attribute} is a placeholder")


def check_readme(root):
    text = (root / "README.md").read_text()
    for words in ("spack env create kbnn spack.yaml", "spack repo add spack", "spack install",
                  "find_package(kbnn", "cmake --install"):
        check(words in text, f"README.md: does not show '{words}'")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    check_environment(root)
    check_repository(root)
    check_recipe(root)
    check_readme(root)
    for p in problems:
        print("FAILED:", p)
    if problems:
        return 1
    print("PASSED: spack.yaml, spack/repo.yaml and spack/packages/kbnn/package.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
