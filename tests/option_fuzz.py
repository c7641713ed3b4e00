#!/usr/bin/python3
"""Random combinations of kbnn's options on tiny data, on 1 to 3 ranks: each trains
(a third of them stopped by a SIGTERM at a random moment and resumed with --restart
auto), then kbnn info, predict, prune (Bayesian runs), a --restart auto with one more
epoch, and info again read what it wrote. Flags every outcome that is neither a success
nor a refusal with exactly one kbnn error line and exit status 1 (a crash, MPI_Abort,
a signal, a hang, two messages), and any failure to read back kbnn's own files.

usage: tests/option_fuzz.py KBNN [RUNS [SEED]]     (defaults: 40 runs, seed 1)
Needs h5py and numpy (Debian: /usr/bin/python3), Open MPI's mpiexec and the default
deck's Fashion-MNIST. Not part of ctest: a run of 40 takes 5-15 minutes on 2 cores.
Scratch in /tmp/kbnn-fuzz-SEED; prints one JSON line a combination, then the failures."""
import json, os, random, shutil, subprocess, sys

import h5py
import numpy as np

if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    print(__doc__)
    sys.exit(0 if len(sys.argv) > 1 else 2)
KBNN = os.path.abspath(sys.argv[1])
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 40
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1
DECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "input",
                    "fashion_mnist_lenet5.cfg")
IMAGES = next(l.split("=", 1)[1].strip() for l in open(DECK) if l.startswith("dir ="))
root = f"/tmp/kbnn-fuzz-{SEED}"
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)

# A table of 400 rows: 8 features, a real target and 3 classes.
rng = np.random.default_rng(0)
x = rng.normal(size=(400, 8)).astype("f4")
y = (np.sin(2 * x[:, :1]) + 0.3 * x[:, 1:2] ** 2 + 0.1 * rng.normal(size=(400, 1))).astype("f4")
with h5py.File(f"{root}/table.h5", "w") as f:
    f["features"], f["targets"] = x, y
    f["labels"] = (x[:, 0] > 0).astype("i4") + (x[:, 1] > 0)

env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           KOKKOS_DISABLE_WARNINGS="1", OMPI_MCA_rmaps_base_oversubscribe="1")
R = random.Random(SEED)
pick = R.choice
failures = []


def mpiexec(ranks):
    return ["mpiexec", "--oversubscribe", "-n", str(ranks)]


def run(ranks, args, timeout=240):
    """kbnn ARGS on RANKS ranks: "ok", "refused: <its message>" or what went wrong."""
    cmd = mpiexec(ranks) + [KBNN] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "HANG", "", cmd
    lines = [l for l in p.stderr.splitlines() if l.startswith("kbnn")]
    crashed = "MPI_ABORT" in p.stderr or "Signal:" in p.stderr
    if p.returncode == 0 and not crashed:
        return "ok", p.stdout + p.stderr, cmd
    if p.returncode == 1 and len(lines) == 1 and not crashed:
        return "refused: " + lines[0], p.stderr, cmd
    return f"FAILED (exit {p.returncode})", p.stdout[-3000:] + "\n" + p.stderr[-3000:], cmd


def deck_options(i):
    """One random combination; (ranks, options, estimator)."""
    regression = R.random() < 0.4
    table = regression or R.random() < 0.2
    estimator = pick(["flipout", "reparam", "local_reparam", "deterministic"])
    a = ["train", DECK, f"--output.dir={root}/r{i}", "--output.name=run",
         f"--model.estimator={estimator}", f"--train.seed={R.randrange(100)}",
         f"--eval.samples={pick([1, 3])}", f"--train.log_every={pick([1, 2])}"]
    if table:
        a += ["--data.format=hdf5", f"--data.train_file={root}/table.h5", "--data.features=features",
              f"--data.test_fraction={pick(['0.1', '0.25'])}", "--model.layer=dense out=16",
              "--model.layer=relu"]
        if regression:
            likelihood = pick(["gaussian", "gaussian_heteroscedastic"])
            a += ["--data.targets=targets", f"--model.likelihood={likelihood}",
                  f"--model.layer=dense out={2 if likelihood.endswith('tic') else 1}",
                  f"--data.standardize={pick(['true', 'false'])}"]
            if R.random() < 0.3:
                a += ["--ood.shift=noise", "--ood.limit=11"]
        else:
            a += ["--data.targets=labels", "--model.layer=dense out=3", "--data.standardize=true"]
    else:
        a += [f"--data.train_limit={pick([97, 300])}", f"--data.test_limit={pick([7, 60])}"]
        architecture = pick(["lenet", "small", "dense"])
        if architecture == "small":
            a += ["--model.layer=conv2d out=4 kernel=3 padding=1", "--model.layer=relu",
                  "--model.layer=maxpool2d", "--model.layer=flatten", "--model.layer=dense out=10"]
        elif architecture == "dense":
            a += ["--model.layer=flatten", "--model.layer=dense out=32", "--model.layer=relu",
                  "--model.layer=dense out=10"]
        if R.random() < 0.2:
            a += ["--ood.format=idx", f"--ood.dir={IMAGES}", "--ood.limit=13"]
        elif R.random() < 0.3:
            a += [f"--ood.shift={pick(['invert', 'noise', 'rot90'])}", "--ood.limit=13"]
    a += [f"--train.batch_size={pick([8, 25, 64])}", f"--train.epochs={pick([1, 2, 3, 6])}"]
    optional = [
        (0.3, ["--parallel.batch_mode=per_rank"]),
        (0.3, ["--data.shuffle=local"]),
        (0.3, [f"--parallel.ensemble={pick([2, 3])}"]),
        (0.3, [f"--train.kl_schedule={pick(['linear', 'cyclical', 'constant'])}"]),
        (0.3, [f"--train.lr_schedule={pick(['cosine', 'step', 'constant'])}",
               "--train.lr_warmup_epochs=1", "--train.lr_decay_epochs=1"]),
        (0.2, ["--train.optimizer=sgd"]),
        (0.2, ["--train.clip_norm=5"]),
        (0.2, ["--model.bayesian_bias=true"]),
        (0.2, ["--output.write_predictions=false"]),
        (0.3, [f"--output.checkpoint_every={pick([2, 4])}"]),
    ]
    for p, options in optional:
        if R.random() < p:
            a += options
    if R.random() < 0.4:
        a += ["--data.validation_fraction=0.2", "--eval.every_epochs=1"]
        if not regression and R.random() < 0.5:
            a += ["--eval.temperature=fit"]
        if R.random() < 0.6:
            a += [f"--train.early_stop={pick([1, 2])}"]
    return pick([1, 2, 3]), a, estimator


for i in range(RUNS):
    ranks, a, estimator = deck_options(i)
    record = {"i": i, "ranks": ranks, "options": " ".join(a[2:])}
    if R.random() < 0.35:  # a SIGTERM to mpiexec at a random moment, then --restart auto
        cmd = ["timeout", "-s", "TERM", "%.2f" % R.uniform(0.8, 3.0)] + mpiexec(ranks) + [KBNN] + a
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
        refused = p.returncode == 1 and "kbnn: error:" in p.stderr
        if (p.returncode not in (0, 75, 124) and not refused) or "MPI_ABORT" in p.stderr:
            failures.append((cmd, f"signalled: exit {p.returncode}", p.stdout[-2000:] + p.stderr[-2000:]))
        a = a + ["--restart", "auto"]
    outcome, text, cmd = run(ranks, a)
    record["train"] = outcome
    if not (outcome == "ok" or outcome.startswith("refused")):
        failures.append((cmd, outcome, text))
    if outcome == "ok":
        run_file = f"{root}/r{i}/run.h5"
        epochs = next(int(x.split("=")[1]) for x in a if x.startswith("--train.epochs="))
        again = [x for x in a if not x.startswith("--train.epochs=")]
        steps = [("info", 1, ["info", run_file]),
                 ("predict", pick([1, 2, 3]), ["predict", run_file, "--output", f"{root}/r{i}/p.h5"]
                  + (["--split=samples"] if R.random() < 0.3 else []))]
        if estimator != "deterministic":
            steps.append(("prune", pick([1, 2]), ["prune", run_file, "--fractions=0.5", "--output",
                                                 f"{root}/r{i}/pruned.h5"]))
        steps += [("restart", pick([1, 2, 3]), again + [f"--train.epochs={epochs + 1}", "--restart", "auto"]),
                  ("info again", 1, ["info", run_file])]
        for name, n, args in steps:
            o, t, c = run(n, args)
            record[name] = o
            if o != "ok":  # kbnn reading back what it wrote: anything else is a failure
                failures.append((c, o, t))
    print(json.dumps(record), flush=True)

print(f"{len(failures)} failure(s) in {RUNS} combinations")
for cmd, outcome, text in failures:
    print("=" * 80)
    print(outcome)
    print(" ".join(repr(x) if " " in x else x for x in cmd))
    print(text[-2500:])
sys.exit(1 if failures else 0)
