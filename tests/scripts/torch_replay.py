#!/usr/bin/python3
"""Replays a kbnn step dump in PyTorch and compares it step by step (as llm.c checks
train_gpt2.c against PyTorch).

usage: torch_replay.py replay DUMP    rebuild the model in float32 PyTorch from the deck
                                      in DUMP, load its initial parameters, run its steps
                                      with its batches, weight noise, Flipout signs and
                                      pooling argmax, and compare NLL, KL, gradients and
                                      parameters at every step
       torch_replay.py same A B       two dumps of one run on different rank counts hold
                                      the same batches, noise and signs (bit for bit) and
                                      the same losses, gradients and parameters (to float
                                      rounding)
       torch_replay.py shards DUMP    each rank computed its shard of every batch, and with
                                      data.shuffle = local walked its own partition (a
                                      permutation of it per epoch)

DUMP comes from `kbnn train DECK --debug.dump_steps=N --debug.dump_file=DUMP`
(src/train/step_dump.hpp describes its layout). The PyTorch side is written from the
math, independently of kbnn's kernels:
  layout     kbnn images are NHWC, kernels (out, kh, kw, in): both are permuted to
             torch's NCHW and (out, in, kh, kw); Flatten flattens NHWC order. Signals
             (HDF5 data with data.layout = signal) are NLC rows and conv1d kernels (out,
             k, in): permuted to torch's NCL and (out, in, k) for F.conv1d
  Flipout    y = conv(x, mu) + b + conv(x o S, softplus(rho) o eps) o R, S and R per
             example and channel (reparam: W = mu + softplus(rho) o eps)
  max pool   each window's value where kbnn's recorded argmax says (torch's own argmax
             must differ from it only at near-ties)
  loss       mean cross-entropy over the global batch + beta * KL(q || N(0, s_p^2)) / N,
             its two terms compared apart
  optimizer  torch.optim.Adam (or SGD with momentum) with the deck's settings
Exit status 0 when every comparison is within its tolerance, 1 otherwise.
"""
import gzip
import os
import sys

import h5py
import numpy as np

# Tolerances: float32 sums in another order differ by ~1e-7 relative per operation.
# The NLL and the KL are compared apart: with 600 training images the loss is ~99% KL,
# so a bound on the loss alone would let a 1% NLL error through (a mean over 127 rows
# instead of 128). Measured: both within 1e-6.
NLL_RTOL = 1e-5      # |nll_torch - nll_kbnn| / nll_kbnn, the global batch's mean NLL
KL_RTOL = 1e-5       # |kl_torch - kl_kbnn| / kl_kbnn, KL(q || prior) before the step
# Gradients, per block: ||g_torch - g_kbnn|| / ||the data term's gradient (torch)||. The
# KL term's gradient is dense and large in the rho blocks; relative to the whole gradient,
# an error in the data term would hide behind it. Max pooling follows kbnn's recorded
# argmax (a near-tie that kbnn's and torch's rounding resolve differently moved one
# example's gradient by ~3e-4 when torch chose for itself); both choices are compared
# apart (ARGMAX_TIE). Measured: within ~1e-5.
GRAD_RTOL = 1e-4
# Where torch's max-pooling argmax differs from kbnn's, the two inputs must be a near-tie
# (torch's values there within this much, relative to the layer input's largest value),
# and kbnn's argmax must lie in its window.
ARGMAX_TIE = 1e-5
# Parameters: ||p_torch - p_kbnn|| relative to ||p_kbnn - p_initial||, the distance the
# steps moved them. Adam divides by sqrt(v): a gradient entry that is zero up to float
# rounding can take a full step of either sign, so this one is looser.
PARAM_RTOL = 2e-3
SAME_RTOL = 1e-4     # two rank counts: a gradient summed in another order
ARGMAX_SAME = 1e-4   # two rank counts: the fraction of pooling argmaxes that may differ


def fail(message):
    print(f"FAILED: {message}")
    sys.exit(1)


# ------------------------------------------------------------------------- the deck
def parse_deck(text):
    """The resolved deck as {section.key: value} and the list of layer lines."""
    options, layers, section = {}, [], ""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            key, value = (s.strip() for s in line.split("=", 1))
            if section == "model" and key == "layer":
                kind, *pairs = value.split()
                layers.append((kind, dict(p.split("=", 1) for p in pairs)))
            else:
                options[f"{section}.{key}"] = value
    return options, layers


def read_idx(path):
    """An unsigned-byte IDX file, gzipped or not, as a numpy array."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def training_set(options):
    """The training rows (N, H*W*C) in NHWC order, the factor that turns them into
    kbnn's float32 batches, the labels, and the example's shape (H, W, C): IDX images
    (bytes, scaled by 1/255) or HDF5 signals (data.layout = signal: (N, L) or (N, L, C)
    float values as stored)."""
    if options["data.format"] == "idx":
        d = options["data.dir"]
        images = read_idx(os.path.join(d, "train-images-idx3-ubyte"))
        labels = read_idx(os.path.join(d, "train-labels-idx1-ubyte"))
        rows, scale = images.reshape(len(images), -1), np.float32(1.0 / 255.0)
        return rows, scale, labels.astype(np.int64), (images.shape[1], images.shape[2], 1)
    if options["data.format"] != "hdf5" or options["data.layout"] != "signal":
        fail(f"the replay reads idx images and hdf5 signals (data.layout = signal), not "
             f"data.format = {options['data.format']}, data.layout = {options['data.layout']}")
    if options["data.standardize"] != "false":
        fail("the replay reads the features as stored: data.standardize must be false")
    with h5py.File(options["data.train_file"], "r") as f:
        x, labels = f[options["data.features"]][...], f[options["data.targets"]][...]
    if x.dtype == np.uint8:
        fail("the replay reads float signals, not uint8 ones")
    shape = (1, x.shape[1], x.shape[2] if x.ndim == 3 else 1)
    rows = x.reshape(len(x), -1).astype(np.float32)
    return rows, np.float32(1.0), labels.astype(np.int64).reshape(-1), shape


def channels_last(x):
    """A batch of torch tensors, NCHW images or NCL signals, as kbnn's rows (NHWC / NLC)."""
    return (x.permute(0, 2, 3, 1) if x.dim() == 4 else x.permute(0, 2, 1)).reshape(x.shape[0], -1)


def from_channels_last(rows, shape, signal):
    """kbnn's rows of examples of shape (H, W, C) as torch's NCHW images or NCL signals."""
    n = rows.shape[0]
    if signal:
        return rows.reshape(n, shape[1], shape[2]).permute(0, 2, 1)
    return rows.reshape(n, *shape).permute(0, 3, 1, 2)


# ------------------------------------------------------------------------- the model
def conv1d_layer(torch, keys, kernel, shape, name):
    """conv1d's pieces: the kernel's converters, F.conv1d, the output shape (1, L', out)."""
    F = torch.nn.functional
    k, stride, pad = int(keys["kernel"]), int(keys.get("stride", 1)), int(keys.get("padding", 0))
    out = int(keys["out"])
    if kernel["mu"].shape != (out, k, shape[2]):
        fail(f"{name}: kernel shape {kernel['mu'].shape} in the dump, expected {(out, k, shape[2])}")
    to_torch = lambda a: torch.from_numpy(np.ascontiguousarray(np.transpose(a, (0, 2, 1))))
    from_torch = lambda t: np.transpose(t.detach().numpy(), (0, 2, 1))
    op = lambda x, w, b: F.conv1d(x, w, b, stride=stride, padding=pad)
    return to_torch, from_torch, op, (1, (shape[1] + 2 * pad - k) // stride + 1, out), (1,)


def build(torch, layers, dump, options, shape):
    """The network as a list of steps; Bayesian layers as dicts of torch tensors. shape:
    the input's (H, W, C)."""
    F = torch.nn.functional
    steps = []
    for index, (kind, keys) in enumerate(layers):
        name = f"{kind}_{index}"
        if kind in ("conv2d", "dense", "conv1d"):
            if keys.get("estimator") not in ("flipout", "reparam"):
                fail(f"{name}: the replay knows flipout and reparam, not {keys.get('estimator')}")
            block = dump["initial"][name]
            kernel = block["kernel"]
            if kind == "conv2d":
                k, stride, pad = int(keys["kernel"]), int(keys.get("stride", 1)), int(keys.get("padding", 0))
                out = int(keys["out"])
                if kernel["mu"].shape != (out, k, k, shape[2]):
                    fail(f"{name}: kernel shape {kernel['mu'].shape} in the dump, expected {(out, k, k, shape[2])}")
                to_torch = lambda a: torch.from_numpy(np.ascontiguousarray(np.transpose(a, (0, 3, 1, 2))))
                from_torch = lambda t: np.transpose(t.detach().numpy(), (0, 2, 3, 1))
                op = lambda x, w, b, stride=stride, pad=pad: F.conv2d(x, w, b, stride=stride, padding=pad)
                size = lambda h: (h + 2 * pad - k) // stride + 1
                shape = (size(shape[0]), size(shape[1]), out)
                sign_view = (1, 1)
            elif kind == "conv1d":
                to_torch, from_torch, op, shape, sign_view = conv1d_layer(torch, keys, kernel, shape, name)
            else:
                out = int(keys["out"])
                to_torch = lambda a: torch.from_numpy(np.array(a))
                from_torch = lambda t: t.detach().numpy()
                op = F.linear
                shape = (1, 1, out)
                sign_view = ()
            layer = {"kind": "bayes", "name": name, "op": op, "estimator": keys["estimator"],
                     "to_torch": to_torch, "from_torch": from_torch, "sign_view": sign_view,
                     "mu": to_torch(kernel["mu"][...]).requires_grad_(),
                     "rho": to_torch(kernel["rho"][...]).requires_grad_()}
            bias = block["bias"]
            if "value" in bias:
                layer["bias"] = torch.from_numpy(bias["value"][...]).requires_grad_()
            else:
                layer["bias_mu"] = torch.from_numpy(bias["mu"][...]).requires_grad_()
                layer["bias_rho"] = torch.from_numpy(bias["rho"][...]).requires_grad_()
            steps.append(layer)
        elif kind == "relu":
            steps.append({"kind": "fn", "fn": F.relu})
        elif kind in ("maxpool2d", "maxpool1d"):
            size, stride = int(keys.get("size", 2)), int(keys.get("stride", keys.get("size", 2)))
            signal = kind == "maxpool1d"
            height = 1 if signal else (shape[0] - size) // stride + 1
            shape = (height, (shape[1] - size) // stride + 1, shape[2])
            steps.append({"kind": "pool", "name": name, "size": size, "stride": stride,
                          "out": shape, "signal": signal})
        elif kind == "flatten":
            # kbnn's rows are NHWC (NLC): flatten in (h, w, c) order.
            steps.append({"kind": "fn", "fn": channels_last})
            shape = (1, 1, shape[0] * shape[1] * shape[2])
        else:
            fail(f"layer {index}: the replay does not know '{kind}'")
    return steps


def parameters(steps):
    """(block name, tensor, kbnn's layout converter, field) for every trainable tensor."""
    out = []
    for s in steps:
        if s["kind"] != "bayes":
            continue
        out.append((f"{s['name']}/kernel", s["mu"], s["from_torch"], "mu"))
        out.append((f"{s['name']}/kernel", s["rho"], s["from_torch"], "rho"))
        if "bias" in s:
            out.append((f"{s['name']}/bias", s["bias"], lambda t: t.detach().numpy(), "value"))
        else:
            out.append((f"{s['name']}/bias", s["bias_mu"], lambda t: t.detach().numpy(), "mu"))
            out.append((f"{s['name']}/bias", s["bias_rho"], lambda t: t.detach().numpy(), "rho"))
    return out


def pool_at(torch, x, argmax, out, signal):
    """Max pooling that takes each window's value where kbnn's argmax says: argmax (N,
    OH*OW*C) indexes kbnn's NHWC (NLC) input rows. The gradient goes there too."""
    pooled = channels_last(x).gather(1, torch.from_numpy(argmax.astype(np.int64)))
    return from_channels_last(pooled, out, signal)


def argmax_disagreement(torch, x, argmax, size, stride):
    """Where torch's own max pooling of x (F.max_pool2d of NCHW images, F.max_pool1d of
    NCL signals) picks another input than kbnn's argmax: the count, and the largest gap
    (torch's value at its choice minus at kbnn's) relative to the input's largest |value|.
    Fails the replay if a kbnn argmax leaves its window."""
    F = torch.nn.functional
    signal = x.dim() == 3
    n, c, h, w = (x.shape[0], x.shape[1], 1, x.shape[2]) if signal else x.shape
    with torch.no_grad():
        if signal:  # index: l; as an image of height 1, (oh, ow) = (0, l)
            pooled, index = F.max_pool1d(x, size, stride, return_indices=True)
            pooled, index = pooled.unsqueeze(2), index.unsqueeze(2)
        else:
            pooled, index = F.max_pool2d(x, size, stride, return_indices=True)  # index: h W + w
        oh, ow = pooled.shape[2:]
        ours = (index * c + torch.arange(c).view(1, c, 1, 1)).permute(0, 2, 3, 1).reshape(n, -1)
        rows = channels_last(x)
        theirs = torch.from_numpy(argmax.astype(np.int64))
        gap = (rows.gather(1, ours) - rows.gather(1, theirs)) / rows.abs().max()
    # kbnn's argmax of output (oh, ow, c) must be channel c of a pixel in that window.
    j = np.arange(argmax.shape[1])
    pixel, channel = argmax // c, argmax % c
    dh = pixel // w - (j // c // ow) * stride
    dw = pixel % w - (j // c % ow) * stride
    inside = (channel == j % c) & (dh >= 0) & (dh < (1 if signal else size)) & (dw >= 0) & (dw < size)
    if not inside.all():
        fail(f"kbnn's max-pooling argmax leaves its window at {np.count_nonzero(~inside)} places")
    differ = (ours != theirs).numpy()
    return int(differ.sum()), float(gap.abs().max())


def forward(torch, steps, x, record, pools=None):
    """The network on x with the step's noise and signs; max pooling follows kbnn's argmax.
    pools, if a list, receives (name, disagreements, largest gap) per pooling layer."""
    F = torch.nn.functional
    for s in steps:
        if s["kind"] == "fn":
            x = s["fn"](x)
            continue
        if s["kind"] == "pool":
            argmax = record["layers"][s["name"]]["argmax"][...]
            if pools is not None:
                pools.append((s["name"], *argmax_disagreement(torch, x, argmax, s["size"], s["stride"])))
            x = pool_at(torch, x, argmax, s["out"], s["signal"])
            continue
        noise = record["layers"][s["name"]]
        sigma = F.softplus(s["rho"])
        eps = s["to_torch"](noise["eps"][...])
        if "bias" in s:
            bias = s["bias"]
        else:
            bias = s["bias_mu"] + F.softplus(s["bias_rho"]) * torch.from_numpy(noise["bias_eps"][...])
        if s["estimator"] == "reparam":
            x = s["op"](x, s["mu"] + sigma * eps, bias)
            continue
        n = x.shape[0]
        sign_in = torch.from_numpy(noise["sign_in"][...]).reshape(n, -1, *s["sign_view"])
        sign_out = torch.from_numpy(noise["sign_out"][...]).reshape(n, -1, *s["sign_view"])
        x = s["op"](x, s["mu"], bias) + s["op"](x * sign_in, sigma * eps, None) * sign_out
    return x


def kl_divergence(torch, steps, prior_sigma):
    """KL(N(mu, softplus(rho)^2) || N(0, prior_sigma^2)), summed over Gaussian tensors."""
    F = torch.nn.functional
    total = 0.0
    for s in steps:
        if s["kind"] != "bayes":
            continue
        pairs = [(s["mu"], s["rho"])] + ([] if "bias" in s else [(s["bias_mu"], s["bias_rho"])])
        for mu, rho in pairs:
            sigma = F.softplus(rho)
            total = total + (np.log(prior_sigma) - torch.log(sigma)
                             + (sigma * sigma + mu * mu) / (2 * prior_sigma ** 2) - 0.5).sum()
    return total


def kl_beta(options, step, steps_per_epoch):
    """train/kl_schedule.cpp, at the start of `step`."""
    epoch = step / steps_per_epoch
    beta = float(options["train.kl_beta"])
    schedule = options["train.kl_schedule"]
    if schedule == "linear":
        return beta * min(1.0, epoch / float(options["train.kl_warmup_epochs"]))
    if schedule == "cyclical":
        period = float(options["train.epochs"]) / float(options["train.kl_cycles"])
        return beta * min(1.0, (epoch % period) / period / float(options["train.kl_ratio"]))
    return beta


def relative(a, b):
    """||a - b|| / ||b|| (0 when both vanish)."""
    scale = np.linalg.norm(b)
    diff = np.linalg.norm(a.astype(np.float64) - b.astype(np.float64))
    return diff / scale if scale > 0 else diff


def replay(path):
    import torch
    torch.set_num_threads(1)
    F = torch.nn.functional
    failures = []
    with h5py.File(path, "r") as dump:
        options, layers = parse_deck(dump.attrs["deck"])
        images, scale, labels, shape = training_set(options)
        signal = options["data.format"] == "hdf5"
        steps = build(torch, layers, dump, options, shape)
        params = parameters(steps)
        tensors = [t for _, t, _, _ in params]
        lr = float(dump.attrs["lr"])
        if options["train.optimizer"] == "adam":
            optimizer = torch.optim.Adam(tensors, lr=lr, eps=float(dump.attrs["adam_epsilon"]),
                                         betas=(float(dump.attrs["adam_beta1"]),
                                                float(dump.attrs["adam_beta2"])))
        else:
            optimizer = torch.optim.SGD(tensors, lr=lr, momentum=float(options["train.momentum"]))
        n_train = int(dump.attrs["n_train"])
        batch_size = int(dump.attrs["global_batch"])
        steps_per_epoch = -(-n_train // batch_size)
        prior_sigma = float(dump.attrs["prior_sigma"])
        initial = {(name, field): dump["initial"][name][field][...] for name, _, _, field in params}
        recorded = sorted(int(k) for k in dump["steps"])
        print(f"{path}: {len(recorded)} steps, {len(params)} tensors, batch {batch_size}, "
              f"{n_train} training {'signals' if signal else 'images'}, {dump.attrs['ranks']} rank(s)")
        print(f"{'step':>4} {'rows':>4} {'nll kbnn':>10} {'nll torch':>10} {'kl kbnn':>10} "
              f"{'kl torch':>10} {'max grad rel':>12} {'max param rel':>13} {'ties':>6}")
        worst = {"nll": 0.0, "kl": 0.0, "argmax": 0.0}
        ties = {}
        for k in recorded:
            record = dump["steps"][str(k)]
            batch = record["batch"][...]
            rows = images[batch].astype(np.float32) * scale
            x = from_channels_last(torch.from_numpy(rows), shape, signal)
            y = torch.from_numpy(labels[batch])
            beta = kl_beta(options, k, steps_per_epoch)
            if abs(beta - record.attrs["beta"]) > 1e-12:
                failures.append(f"step {k}: beta {record.attrs['beta']} in the dump, {beta} here")
            optimizer.zero_grad()
            pools = []
            logits = forward(torch, steps, x, record, pools)
            nll = F.cross_entropy(logits, y)
            kl = kl_divergence(torch, steps, prior_sigma)
            # The data term's gradient alone, then the whole loss's.
            data_grads = torch.autograd.grad(nll, tensors, retain_graph=True)
            loss = nll + beta * kl / n_train
            loss.backward()
            for name, value, rtol in (("nll", nll.item(), NLL_RTOL), ("kl", kl.item(), KL_RTOL)):
                rel = abs(value - record.attrs[name]) / abs(record.attrs[name])
                worst[name] = max(worst[name], rel)
                if rel > rtol:
                    failures.append(f"step {k}: {name} {value:.7g}, kbnn {record.attrs[name]:.7g} "
                                    f"(relative {rel:.1e})")
            for pool, differ, gap in pools:
                worst["argmax"] = max(worst["argmax"], gap)
                ties[pool] = ties.get(pool, 0) + differ
                if gap > ARGMAX_TIE:
                    failures.append(f"step {k}: {pool}: kbnn's argmax is no near-tie of torch's "
                                    f"(gap {gap:.2e} of the largest input)")
            grad_worst = 0.0
            for (name, t, layout, field), data in zip(params, data_grads):
                kbnn = record["gradients"][name][field][...]
                rel = np.linalg.norm(layout(t.grad).astype(np.float64) - kbnn) / np.linalg.norm(layout(data))
                grad_worst = max(grad_worst, rel)
                if rel > GRAD_RTOL:
                    failures.append(f"step {k}: gradient {name}/{field}: relative error {rel:.2e}")
            optimizer.step()
            param_worst = 0.0
            for name, t, layout, field in params:
                kbnn = record["parameters"][name][field][...]
                moved = np.linalg.norm(kbnn.astype(np.float64) - initial[(name, field)])
                diff = np.linalg.norm(layout(t).astype(np.float64) - kbnn)
                rel = diff / moved if moved > 0 else diff
                param_worst = max(param_worst, rel)
                if rel > PARAM_RTOL:
                    failures.append(f"step {k}: parameters {name}/{field}: off by {rel:.2e} of "
                                    f"their distance from the start")
            print(f"{k:>4} {len(batch):>4} {record.attrs['nll']:>10.7f} {nll.item():>10.7f} "
                  f"{record.attrs['kl']:>10.2f} {kl.item():>10.2f} {grad_worst:>12.2e} "
                  f"{param_worst:>13.2e} {sum(d for _, d, _ in pools):>6}")
    print(f"largest relative differences: nll {worst['nll']:.1e}, kl {worst['kl']:.1e}; "
          f"max-pooling argmax: torch chose another input at {ties} places, the largest "
          f"gap {worst['argmax']:.1e} of the input's scale (near-ties: <= {ARGMAX_TIE})")
    if failures:
        fail("\n  ".join(failures))
    print(f"PASSED: PyTorch replays {len(recorded)} steps of {path} within tolerance "
          f"(nll {NLL_RTOL}, kl {KL_RTOL}, gradients {GRAD_RTOL}, parameters {PARAM_RTOL}, "
          f"argmax ties {ARGMAX_TIE})")


def same(path_a, path_b):
    """Two dumps of one run: inputs bit for bit, results to float rounding."""
    failures = []
    exact = ("batch", "eps", "bias_eps", "sign_in", "sign_out")
    with h5py.File(path_a, "r") as a, h5py.File(path_b, "r") as b:
        def compare(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            if name not in b:
                failures.append(f"{name}: in {path_a} only")
                return
            x, y = obj[...], b[name][...]
            if x.shape != y.shape:
                failures.append(f"{name}: shapes {x.shape} and {y.shape}")
            elif name.endswith("/batch_rank"):
                return  # which rank computed a row depends on the rank count
            elif name.endswith("/argmax"):
                # Parameters equal to rounding: a near-tie may go the other way.
                if np.count_nonzero(x != y) > ARGMAX_SAME * x.size:
                    failures.append(f"{name}: {np.count_nonzero(x != y)} of {x.size} differ")
            elif name.startswith("initial/") or name.rsplit("/", 1)[-1] in exact:
                if not np.array_equal(x, y):
                    failures.append(f"{name}: {np.count_nonzero(x != y)} of {x.size} differ")
            elif relative(x, y) > SAME_RTOL:
                failures.append(f"{name}: relative difference {relative(x, y):.2e}")
        a.visititems(compare)
        steps = sorted(int(k) for k in a["steps"])
        if steps != sorted(int(k) for k in b["steps"]):
            failures.append("the dumps hold different steps")
        for k in steps:
            for name in ("nll", "kl", "loss"):
                va, vb = a["steps"][str(k)].attrs[name], b["steps"][str(k)].attrs[name]
                if abs(va - vb) > SAME_RTOL * abs(va):
                    failures.append(f"step {k}: {name} {va} and {vb}")
        ranks = (a.attrs["ranks"], b.attrs["ranks"])
    if failures:
        fail("\n  ".join(failures))
    print(f"PASSED: {path_a} ({ranks[0]} rank(s)) and {path_b} ({ranks[1]}) agree over "
          f"{len(steps)} steps: batches, noise and signs bit for bit, the rest within {SAME_RTOL}")


def shard(n, rank, ranks):
    """Rows [lo, hi) of n that rank `rank` of `ranks` holds (parallel/communicator.hpp)."""
    return n * rank // ranks, n * (rank + 1) // ranks


def shards(path):
    """Which training rows each rank computed, from the dump's batch and batch_rank.
    Every step: rank r computed rows shard(rows, r, ranks) of the batch. With data.shuffle
    = local, rank r's rows in an epoch come from its own partition shard(n_train, r,
    ranks), in the order of one permutation of it, wrapping around to that permutation's
    start when the rank's share of the batches outruns its partition: so a permutation of
    the partition when the shares add up to it. With global, every rank may take any row."""
    failures, visits = [], {}
    with h5py.File(path, "r") as dump:
        options, _ = parse_deck(dump.attrs["deck"])
        local = options["data.shuffle"] == "local"
        ranks, n_train = int(dump.attrs["ranks"]), int(dump.attrs["n_train"])
        steps_per_epoch = -(-n_train // int(dump.attrs["global_batch"]))
        recorded = sorted(int(k) for k in dump["steps"])
        for k in recorded:
            batch, owner = dump["steps"][str(k)]["batch"][...], dump["steps"][str(k)]["batch_rank"][...]
            for r in range(ranks):
                lo, hi = shard(len(batch), r, ranks)
                if not (owner[lo:hi] == r).all():
                    failures.append(f"step {k}: rows {lo}..{hi - 1} are not all rank {r}'s")
                visits.setdefault((k // steps_per_epoch, r), []).extend(batch[lo:hi])
    for (epoch, r), rows in sorted(visits.items()):
        rows = np.array(rows)
        whole = all(epoch * steps_per_epoch + s in recorded for s in range(steps_per_epoch))
        lo, hi = shard(n_train, r, ranks)
        what = f"epoch {epoch}, rank {r}: {len(rows)} rows"
        if not local:
            print(f"{what} (shuffle = global)")
            continue
        own = hi - lo
        if not ((rows >= lo) & (rows < hi)).all():
            failures.append(f"{what}: {np.count_nonzero((rows < lo) | (rows >= hi))} lie outside "
                            f"its partition {lo}..{hi - 1}")
        elif len(np.unique(rows[:own])) != min(len(rows), own):
            failures.append(f"{what}: its first {min(len(rows), own)} repeat rows")
        elif not np.array_equal(rows[own:], rows[:max(0, len(rows) - own)]):
            failures.append(f"{what}: past its {own} rows it does not start its permutation again")
        elif whole and len(rows) == own:
            print(f"{what}: a permutation of its partition {lo}..{hi - 1}")
        else:
            print(f"{what} from its partition {lo}..{hi - 1} ({own} rows), none repeated "
                  f"before all {min(len(rows), own)} distinct ones")
    if failures:
        fail("\n  ".join(failures))
    print(f"PASSED: {path}: each rank's rows over {len(recorded)} steps are as data.shuffle = "
          f"{options['data.shuffle']} says")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "replay":
        replay(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "same":
        same(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "shards":
        shards(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
