#!/usr/bin/python3
"""kbnn's PyTorch peer: LeNet-5 with Flipout layers on Fashion-MNIST.

The reference that bench/run_benchmark.sh measures kbnn against. It trains the same
network with the same settings as input/fashion_mnist_lenet5.cfg, following the
TensorFlow Probability example (tensorflow_probability/examples/bayesian_neural_network.py)
and TFP's layer defaults:

  network    conv 1->6 5x5 pad 2, ReLU, maxpool 2 | conv 6->16 5x5, ReLU, maxpool 2 |
             conv 16->120 5x5, ReLU, flatten | dense 120->84, ReLU | dense 84->10
             (--arch tfp-same: 'same' padding in all three convolutions, as the TFP
             script has it; conv3 then gives 120x7x7 and dense1 is 5880->84)
  posterior  kernel ~ N(mu, sigma^2) elementwise, sigma = softplus(rho) + float32 eps,
             mu initialised N(0, 0.1^2), rho N(-3, 0.1^2); biases are point estimates
             initialised N(0, 0.1^2)
  prior      N(0, 1); closed-form KL(q || p) summed over kernels, divided by N_train
  Flipout    one Gaussian draw E per layer and minibatch, dW = sigma * E; random signs
             per example and channel: y = x*mu + b + ((x . s_in) * dW) . s_out
  training   Adam, lr 1e-3, batch 128, reshuffled every epoch
  evaluation predictive mean of S Monte-Carlo passes over the test set (fresh weights
             and signs every pass): accuracy, NLL, ECE (15 bins), entropy split
  OOD        with --ood-dir: the same S passes over the OOD set; scores entropy, mutual
             information, 1 - max probability; AUROC with ties counted 1/2 and average
             precision with tied scores entering together, as kbnn's uq/ood.cpp

--deterministic trains the plain LeNet-5 (ordinary layers, weights and biases
initialised N(0, 0.1^2)) for the cost of Bayesian over deterministic.

What run_benchmark.sh reads from the output:
  TRAIN throughput (excl. first 10 steps): N img/s, achieved conv+dense X GFLOP/s, ...
  TEST ... acc A ... = P img-passes/s
A training step is timed from the minibatch gather to the end of the optimizer step
(GPU synchronised on --device cuda); loss bookkeeping lies outside the timed span, and
the first --warmup-steps steps are left out. GFLOP/s = conv+dense FLOPs per step
(see conv_dense_flops) x steps per second.
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

cli = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
cli.add_argument("--epochs", type=int, default=1)
cli.add_argument("--batch", type=int, default=128)
cli.add_argument("--threads", type=int, default=2, help="torch's intra-op (OpenMP) threads")
cli.add_argument("--blas-threads", type=int, default=1,
                 help="OpenBLAS threads (default 1: a second pool would fight torch's "
                      "OpenMP threads for the cores)")
cli.add_argument("--mc-samples", type=int, default=10, help="S, passes per test image")
cli.add_argument("--lr", type=float, default=1e-3)
cli.add_argument("--seed", type=int, default=0)
cli.add_argument("--deterministic", action="store_true", help="plain, non-Bayesian LeNet-5")
cli.add_argument("--arch", choices=["lenet5", "tfp-same"], default="lenet5")
cli.add_argument("--device", default="cpu", help="cpu or cuda")
cli.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
cli.add_argument("--ood-dir", default="",
                 help="an IDX directory whose t10k split is an out-of-distribution set "
                      "(scripts/get_ood_data.sh writes MNIST digits): scored against the test "
                      "set with entropy, mutual information and 1 - max probability (AUROC, AUPR)")
cli.add_argument("--eval-batch", type=int, default=1000)
cli.add_argument("--warmup-steps", type=int, default=10, help="steps left out of the timing")
cli.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
cli.add_argument("--train-limit", type=int, default=0,
                 help="train on the first N training images only (0: all; kbnn's data.train_limit)")
cli.add_argument("--test-limit", type=int, default=0,
                 help="evaluate the first N test images only (0: all; kbnn's data.test_limit)")
cli.add_argument("--ood-limit", type=int, default=0,
                 help="score the first N OOD images only (0: all; kbnn's ood.limit)")
cli.add_argument("--metrics-json", default="",
                 help="also write the test metrics (and the OOD AUROC / AUPR of each score) "
                      "to this file as one JSON object, at full precision (bench/ood_seeds.sh)")
args = cli.parse_args()

# The thread pools read these when torch loads, so they must be set before the import.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

device = torch.device(args.device)
FLOAT_EPS = float(np.finfo(np.float32).eps)

# The weight layers, input to output: ("conv", c_in, c_out, kernel, padding, input size),
# ("dense", n_in, n_out), or a shape-only step ("pool" = 2x2 max pool, "flat").
ARCHS = {
    "lenet5": [("conv", 1, 6, 5, 2, 28), ("pool",), ("conv", 6, 16, 5, 0, 14), ("pool",),
               ("conv", 16, 120, 5, 0, 5), ("flat",), ("dense", 120, 84), ("dense", 84, 10)],
    "tfp-same": [("conv", 1, 6, 5, 2, 28), ("pool",), ("conv", 6, 16, 5, 2, 14), ("pool",),
                 ("conv", 16, 120, 5, 2, 7), ("flat",), ("dense", 5880, 84), ("dense", 84, 10)],
}


def sync():
    """Let queued GPU work finish, so that wall-clock timers include it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


# --------------------------------------------------------------------------- data
def read_idx(path):
    """An unsigned-byte IDX file (gzipped, or plain if no .gz exists) as a numpy array."""
    if not os.path.exists(path) and path.endswith(".gz"):
        with open(path[:-3], "rb") as f:
            raw = f.read()
    else:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(prefix, data_dir=None):
    """Images scaled to [0, 1] as [N, 1, 28, 28] float32, and int64 labels."""
    data_dir = data_dir or args.data_dir
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1).contiguous()
    return x.to(device), torch.from_numpy(y.astype(np.int64)).to(device)


# --------------------------------------------------------------------------- model
def random_signs(*shape):
    """Rademacher (+1 / -1) tensor."""
    return torch.empty(*shape, device=device).bernoulli_(0.5).mul_(2.0).sub_(1.0)


class Flipout(nn.Module):
    """A conv or dense layer with a mean-field Gaussian kernel, sampled by Flipout.

    `op(x, w, b)` is the layer's linear map (conv2d or linear); `sign_dims` are the
    trailing singleton dims that broadcast a per-channel sign over the feature map.
    """

    def __init__(self, kernel_shape, op, sign_dims):
        super().__init__()
        self.op, self.sign_dims = op, sign_dims
        self.mu = nn.Parameter(torch.empty(kernel_shape).normal_(0.0, 0.1))
        self.rho = nn.Parameter(torch.empty(kernel_shape).normal_(-3.0, 0.1))
        self.bias = nn.Parameter(torch.empty(kernel_shape[0]).normal_(0.0, 0.1))

    def sigma(self):
        return F.softplus(self.rho) + FLOAT_EPS

    def forward(self, x):
        n, c_in, c_out = x.shape[0], self.mu.shape[1], self.mu.shape[0]
        s_in = random_signs(n, c_in, *self.sign_dims)
        s_out = random_signs(n, c_out, *self.sign_dims)
        mean = self.op(x, self.mu, self.bias)
        sigma = self.sigma()
        perturbation = self.op(x * s_in, sigma * torch.randn_like(sigma), None)
        return mean + perturbation * s_out

    def kl(self):
        """KL(N(mu, sigma^2) || N(0, 1)), summed over the kernel."""
        s = self.sigma()
        return (0.5 * (s * s + self.mu * self.mu - 1.0) - torch.log(s)).sum()


def build_model(arch, bayesian):
    layers = []
    weight_layers = [s for s in ARCHS[arch] if s[0] in ("conv", "dense")]
    for spec in ARCHS[arch]:
        kind = spec[0]
        if kind == "pool":
            layers.append(nn.MaxPool2d(2, 2))
        elif kind == "flat":
            layers.append(nn.Flatten())
        else:
            if kind == "conv":
                _, c_in, c_out, k, pad, _ = spec
                conv = lambda x, w, b, pad=pad: F.conv2d(x, w, b, padding=pad)  # noqa: E731
                layer = (Flipout((c_out, c_in, k, k), conv, (1, 1)) if bayesian
                         else nn.Conv2d(c_in, c_out, k, padding=pad))
            else:
                _, n_in, n_out = spec
                layer = (Flipout((n_out, n_in), F.linear, ()) if bayesian
                         else nn.Linear(n_in, n_out))
            if not bayesian:  # same initial spread as the Bayesian means
                nn.init.normal_(layer.weight, 0.0, 0.1)
                nn.init.normal_(layer.bias, 0.0, 0.1)
            layers.append(layer)
            if spec is not weight_layers[-1]:
                layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def total_kl(model):
    return sum(m.kl() for m in model if isinstance(m, Flipout))


# --------------------------------------------------------------------------- cost model
def conv_dense_flops(arch, bayesian, batch):
    """FLOPs of one training step, 2 per multiply-add.

    Returns (conv+dense forward+backward, rough elementwise estimate, parameter
    count). Per layer the
    forward is one product per path (Flipout: mean and perturbation, two paths); the
    backward is a weight gradient and an input gradient of the same size per path, but
    the first layer needs no input gradient. For batch-128 LeNet-5 Flipout this is
    579.6 MFLOP. The elementwise estimate (sampling, softplus, KL, ReLU, signs, Adam)
    counts ~12 FLOPs per parameter, ~10 more per Bayesian kernel weight and ~10 (4 for
    the deterministic net) per activation element.
    """
    paths = 2 if bayesian else 1
    macs = n_kernel = n_bias = activations = 0
    size, first = None, True
    for spec in ARCHS[arch]:
        if spec[0] == "pool":
            size //= 2
            continue
        if spec[0] == "conv":
            _, c_in, c_out, k, pad, size = spec
            size = size + 2 * pad - k + 1                      # output height = width
            weights, outputs = c_out * c_in * k * k, size * size * c_out
            layer_macs = weights * size * size                 # per image
        elif spec[0] == "dense":
            _, c_in, c_out = spec
            weights = layer_macs = c_in * c_out
            outputs = c_out
        else:                                                  # flatten
            continue
        macs += layer_macs * paths * (2 if first else 3)       # forward + backward
        first = False
        n_kernel, n_bias, activations = n_kernel + weights, n_bias + c_out, activations + outputs
    n_params = n_kernel * paths + n_bias
    elementwise = (12 * n_params + (10 * n_kernel if bayesian else 0)
                   + batch * activations * (10 if bayesian else 4))
    return 2 * batch * macs, elementwise, n_params


# --------------------------------------------------------------------------- CPU noise
def cpu_counters():
    """(machine busy cpu-s, steal cpu-s, this process's cpu-s, wall s)."""
    hz = os.sysconf("SC_CLK_TCK")
    try:
        with open("/proc/stat") as f:
            user, nice, system, _, _, irq, softirq, steal = map(int, f.readline().split()[1:9])
        busy, stolen = (user + nice + system + irq + softirq) / hz, steal / hz
    except OSError:
        busy = stolen = float("nan")
    t = os.times()
    return busy, stolen, t.user + t.system, time.perf_counter()


def describe_foreign_load(before, after):
    """How much CPU other processes (and the hypervisor) took: contaminated timings."""
    busy, stolen, own, wall = (b - a for a, b in zip(before, after))
    return (f"own {own:.1f} cpu-s, foreign {busy - own:.1f} cpu-s "
            f"({(busy - own) / wall:.2f} cores avg), steal {stolen:.1f} cpu-s over {wall:.1f}s")


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def mc_predict(model, x, samples):
    """(predictive mean p (N, 10), aleatoric (1/S) sum_s H[p_s] (N), seconds of the passes)."""
    n = x.shape[0]
    prob_sum = torch.zeros(n, 10, dtype=torch.float64, device=device)
    entropy_sum = torch.zeros(n, dtype=torch.float64, device=device)  # aleatoric part
    sync()
    start = time.perf_counter()
    for _ in range(samples):
        for i in range(0, n, args.eval_batch):
            p = F.softmax(model(x[i:i + args.eval_batch]), dim=1).double()
            prob_sum[i:i + args.eval_batch] += p
            entropy_sum[i:i + args.eval_batch] -= (p * p.clamp_min(1e-300).log()).sum(1)
    sync()
    return prob_sum / samples, entropy_sum / samples, time.perf_counter() - start


def ood_scores(prob, aleatoric):
    """{score: numpy (N)}, higher = more out-of-distribution."""
    entropy = -(prob * prob.clamp_min(1e-300).log()).sum(1)
    return {"entropy": entropy.cpu().numpy(),
            "mutual_information": (entropy - aleatoric).clamp_min(0).cpu().numpy(),
            "max_probability": (1 - prob.max(1).values).cpu().numpy()}


def auroc(positives, negatives):
    """P(positive scores above negative), ties 1/2: Mann-Whitney U from mid-ranks."""
    scores = np.concatenate([positives, negatives])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # tie groups get the mean of their 1-based ranks
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos, n_neg = len(positives), len(negatives)
    return (ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_precision(positives, negatives):
    """Sum over distinct thresholds (descending) of recall gain x precision."""
    scores = np.concatenate([positives, negatives])
    is_pos = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_pos = scores[order], is_pos[order]
    last = np.r_[scores[1:] != scores[:-1], True]  # the end of each tie group
    tp, fp = np.cumsum(is_pos)[last], np.cumsum(1 - is_pos)[last]
    recall_gain = np.diff(np.r_[0, tp]) / len(positives)
    return float((recall_gain * tp / (tp + fp)).sum())


def ood_report(model, x_ood, prob, aleatoric, samples, metrics):
    """The OOD line: AUROC and AUPR (OOD positive) of each score, OOD set vs test set;
    the numbers also go into `metrics` (auroc_<score>, aupr_out_<score>)."""
    ood_prob, ood_aleatoric, _ = mc_predict(model, x_ood, samples)
    inside, outside = ood_scores(prob, aleatoric), ood_scores(ood_prob, ood_aleatoric)
    for name in inside:
        metrics[f"auroc_{name}"] = auroc(outside[name], inside[name])
        metrics[f"aupr_out_{name}"] = average_precision(outside[name], inside[name])
    return "; ".join(f"{name} AUROC {metrics['auroc_' + name]:.4f} "
                     f"AUPR-out {metrics['aupr_out_' + name]:.4f}" for name in inside)


@torch.no_grad()
def evaluate(model, x, y, samples, x_ood=None, metrics=None):
    """Monte-Carlo predictive mean over `samples` passes; the timing covers the passes.
    Returns the TEST line; `metrics` (a dict) receives its numbers at full precision."""
    metrics = {} if metrics is None else metrics
    n = x.shape[0]
    prob, aleatoric, seconds = mc_predict(model, x, samples)
    confidence, predicted = prob.max(1)
    correct = (predicted == y).double()
    nll = -prob[torch.arange(n, device=device), y].clamp_min(1e-300).log().mean().item()
    bins = ((confidence * 15).ceil().long() - 1).clamp(0, 14)  # 15 equal bins on (0, 1]
    ece = sum(in_bin.double().mean().item()
              * abs(correct[in_bin].mean().item() - confidence[in_bin].mean().item())
              for in_bin in (bins == b for b in range(15)) if in_bin.any())
    entropy = -(prob * prob.clamp_min(1e-300).log()).sum(1)
    metrics.update(accuracy=correct.mean().item(), nll=nll, ece=ece,
                   mean_entropy=entropy.mean().item(), mean_aleatoric=aleatoric.mean().item())
    ood = ("" if x_ood is None
           else "\nOOD " + ood_report(model, x_ood, prob, aleatoric, samples, metrics))
    return (f"(MC predictive mean, S={samples}): acc {correct.mean().item():.4f}  "
            f"NLL {nll:.4f}  ECE(15) {ece:.4f}  mean pred. entropy {entropy.mean().item():.4f} "
            f"nats (aleatoric {aleatoric.mean().item():.4f}, mutual info "
            f"{(entropy - aleatoric).mean().item():.4f})  "
            f"eval {seconds:.2f}s = {samples * n / seconds:.0f} img-passes/s" + ood)


# --------------------------------------------------------------------------- main
def main():
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already fixed by an earlier parallel call
        pass
    torch.manual_seed(args.seed)
    bayesian = not args.deterministic

    t0 = time.perf_counter()
    first = lambda n: slice(None, n if n > 0 else None)  # noqa: E731  (0: all rows)
    x_train, y_train = (t[first(args.train_limit)] for t in load_split("train"))
    x_test, y_test = (t[first(args.test_limit)] for t in load_split("t10k"))
    x_ood = load_split("t10k", args.ood_dir)[0][first(args.ood_limit)] if args.ood_dir else None
    load_s = time.perf_counter() - t0
    n_train = x_train.shape[0]

    model = build_model(args.arch, bayesian).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    step_flops, elementwise_flops, n_params = conv_dense_flops(args.arch, bayesian, args.batch)

    gpu = f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""
    print(f"# kbnn peer: {'BNN (Flipout, mean-field Gaussian)' if bayesian else 'DNN (deterministic)'}"
          f", arch={args.arch}")
    print(f"# torch {torch.__version__}, device={device}{gpu}, threads={torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"oneDNN convs={torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled}")
    print(f"# data: train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, load {load_s:.2f}s; "
          f"{n_params} trainable parameters")
    print(f"# FLOPs per training step (batch {args.batch}): conv+dense fwd+bwd "
          f"{step_flops / 1e6:.1f} MFLOP, elementwise ~{elementwise_flops / 1e6:.1f} MFLOP")
    sys.stdout.flush()

    counters = cpu_counters()
    steps_per_epoch = math.ceil(n_train / args.batch)
    step = 0
    timed_images, timed_s = 0, 0.0
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(n_train, device=device)
        loss_sum = nll_sum = 0.0
        n_correct = n_seen = epoch_images = 0
        epoch_s = 0.0
        for i in range(steps_per_epoch):
            sync()
            t = time.perf_counter()
            batch = order[i * args.batch:(i + 1) * args.batch]
            xb, yb = x_train[batch], y_train[batch]
            logits = model(xb)
            nll = F.cross_entropy(logits, yb)
            loss = nll + total_kl(model) / n_train if bayesian else nll
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sync()
            dt = time.perf_counter() - t
            step += 1
            if step > args.warmup_steps:
                epoch_s += dt
                epoch_images += len(yb)
            # bookkeeping, not timed
            loss_sum += loss.item() * len(yb)
            nll_sum += nll.item() * len(yb)
            n_correct += (logits.argmax(1) == yb).sum().item()
            n_seen += len(yb)
            if args.max_steps and step >= args.max_steps:
                break
        rate = epoch_images / epoch_s if epoch_s > 0 else float("nan")
        print(f"epoch {epoch}: steps {i + 1}, wall {time.perf_counter() - epoch_start:.2f}s, "
              f"throughput {rate:.0f} img/s ({args.batch * 1e3 / rate:.2f} ms/step of {args.batch}), "
              f"achieved conv+dense {step_flops / args.batch * rate / 1e9:.2f} GFLOP/s | "
              f"train loss {loss_sum / n_seen:.4f} nll {nll_sum / n_seen:.4f} "
              f"acc(1 sample) {n_correct / n_seen:.4f}")
        sys.stdout.flush()
        timed_images += epoch_images
        timed_s += epoch_s
        if args.max_steps and step >= args.max_steps:
            break

    print(f"# cpu during training: {describe_foreign_load(counters, cpu_counters())}")
    rate = timed_images / timed_s if timed_s > 0 else float("nan")
    print(f"TRAIN throughput (excl. first {args.warmup_steps} steps): {rate:.0f} img/s, "
          f"achieved conv+dense {step_flops / args.batch * rate / 1e9:.2f} GFLOP/s, "
          f"incl. elementwise est. "
          f"{(step_flops + elementwise_flops) / args.batch * rate / 1e9:.2f} GFLOP/s")
    sys.stdout.flush()
    metrics = {"seed": args.seed, "epochs": args.epochs, "train_images_per_second": rate}
    print(f"TEST after epoch {epoch}, {step} steps "
          + evaluate(model, x_test, y_test, args.mc_samples if bayesian else 1, x_ood, metrics))
    if args.metrics_json:
        import json
        with open(args.metrics_json, "w") as f:
            json.dump(metrics, f)


if __name__ == "__main__":
    main()
