#!/usr/bin/python3
"""kbnn's PyTorch peer for regression: input/diabetes_mlp.cfg in PyTorch.

The same network, likelihood, training and predictive as the deck, so that
bench/diabetes_comparison.sh can set kbnn's test RMSE, NLL and interval coverage beside
an independent implementation on the same splits:

  data       /features and /targets of scripts/csv_to_h5.py's files; every feature and
             the target standardized by the training rows' mean and population standard
             deviation (as data.standardize)
  network    dense 10->50, ReLU, dense 50->1, Flipout layers (--estimator reparam: one
             weight draw per minibatch); kernels N(mu, sigma^2), sigma = softplus(rho),
             mu ~ N(0, 0.1^2), rho ~ N(-3, 0.1^2); point biases ~ N(0, 0.1^2)
  likelihood y ~ N(f(x), exp(s)) with one learned log-variance s (a point parameter,
             starting at 0), as model.likelihood = gaussian
  loss       mean Gaussian NLL of the minibatch + KL(q || N(0, prior^2)) / N_train
  training   Adam (lr 3e-3, betas 0.9 / 0.999, eps 1e-8), batch 32, 300 epochs,
             reshuffled every epoch (the last batch of an epoch is short)
  predictive S = 100 passes with fresh weights and signs: the equal mixture of their
             Gaussians, in the target's units. RMSE of the mixture mean; NLL = mean of
             -log (1/S) sum_s N(y; mu_s, sigma_s^2); the central 95 % interval mean +-
             1.96 std of the Gaussian with the mixture's mean and variance (kbnn's
             definition, docs/output.md)

--deterministic trains the same MLP with plain layers (no KL): the deterministic twin.
Prints one line: JSON with rmse, nll, coverage_50, coverage_90, coverage_95, width_95,
seconds.
"""
import argparse
import json
import math
import time

import h5py
import numpy as np
import torch

cli = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
cli.add_argument("--train", required=True)
cli.add_argument("--test", required=True)
cli.add_argument("--epochs", type=int, default=300)
cli.add_argument("--batch", type=int, default=32)
cli.add_argument("--lr", type=float, default=3e-3)
cli.add_argument("--hidden", type=int, default=50)
cli.add_argument("--samples", type=int, default=100)
cli.add_argument("--prior-sigma", type=float, default=1.0)
cli.add_argument("--estimator", choices=["flipout", "reparam"], default="flipout")
cli.add_argument("--deterministic", action="store_true")
cli.add_argument("--seed", type=int, default=1)
cli.add_argument("--threads", type=int, default=1)


class BayesDense(torch.nn.Module):
    """A dense layer with a mean-field Gaussian kernel and a point bias."""

    def __init__(self, fan_in, fan_out, estimator):
        super().__init__()
        self.estimator = estimator
        self.mu = torch.nn.Parameter(torch.randn(fan_out, fan_in) * 0.1)
        self.rho = torch.nn.Parameter(torch.randn(fan_out, fan_in) * 0.1 - 3.0)
        self.bias = torch.nn.Parameter(torch.randn(fan_out) * 0.1)

    def sigma(self):
        return torch.nn.functional.softplus(self.rho)

    def forward(self, x):
        sigma = self.sigma()
        eps = torch.randn_like(sigma)
        if self.estimator == "reparam":
            return x @ (self.mu + sigma * eps).t() + self.bias
        sign_in = torch.randint(0, 2, x.shape, dtype=x.dtype) * 2 - 1
        sign_out = torch.randint(0, 2, (x.shape[0], sigma.shape[0]), dtype=x.dtype) * 2 - 1
        return x @ self.mu.t() + self.bias + ((x * sign_in) @ (sigma * eps).t()) * sign_out

    def kl(self, prior_sigma):
        sigma = self.sigma()
        return (torch.log(prior_sigma / sigma)
                + (sigma ** 2 + self.mu ** 2) / (2 * prior_sigma ** 2) - 0.5).sum()


class Mlp(torch.nn.Module):
    def __init__(self, features, hidden, deterministic, estimator):
        super().__init__()
        if deterministic:
            first, last = torch.nn.Linear(features, hidden), torch.nn.Linear(hidden, 1)
            for layer in (first, last):
                torch.nn.init.normal_(layer.weight, std=0.1)
                torch.nn.init.normal_(layer.bias, std=0.1)
        else:
            first, last = BayesDense(features, hidden, estimator), BayesDense(hidden, 1, estimator)
        self.layers = torch.nn.ModuleList([first, last])
        self.log_variance = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.layers[1](torch.relu(self.layers[0](x)))

    def kl(self, prior_sigma):
        return sum(l.kl(prior_sigma) for l in self.layers if isinstance(l, BayesDense))


def load(path):
    with h5py.File(path, "r") as f:
        return f["features"][:].astype(np.float64), f["targets"][:].astype(np.float64)


def gaussian_nll(y, mean, log_variance):
    return 0.5 * (math.log(2 * math.pi) + log_variance + (y - mean) ** 2 * torch.exp(-log_variance))


def train(model, x, y, a):
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    n = x.shape[0]
    for _ in range(a.epochs):
        order = torch.randperm(n)
        for first in range(0, n, a.batch):
            rows = order[first:first + a.batch]
            loss = gaussian_nll(y[rows], model(x[rows]), model.log_variance).mean()
            if not a.deterministic:
                loss = loss + model.kl(a.prior_sigma) / n
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def predict(model, x, y, scale, a):
    """Metrics of the S-pass mixture in the target's units (float64)."""
    with torch.no_grad():
        means = torch.stack([model(x) for _ in range(a.samples)]).double().numpy()[:, :, 0]
        variance = float(torch.exp(model.log_variance).double())
    y = y[:, 0].numpy()
    mean = means.mean(axis=0)
    total = variance + means.var(axis=0)
    log_n = -0.5 * (np.log(2 * np.pi * variance) + (y - means) ** 2 / variance)
    top = log_n.max(axis=0)
    nll = -(top + np.log(np.exp(log_n - top).mean(axis=0))) + np.log(scale)
    error, std = np.abs(y - mean) * scale, np.sqrt(total) * scale
    z = {50: 0.6744897501960817, 90: 1.6448536269514715, 95: 1.9599639845400536}
    out = {"rmse": float(np.sqrt(np.mean(error ** 2))), "nll": float(nll.mean())}
    for p, zp in z.items():
        out[f"coverage_{p}"] = float(np.mean(error <= zp * std))
    out["width_95"] = float(np.mean(2 * z[95] * std))
    return out


def main():
    a = cli.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    x_train, y_train = load(a.train)
    x_test, y_test = load(a.test)
    x_mean, x_std = x_train.mean(axis=0), x_train.std(axis=0)
    x_std[x_std == 0] = 1
    y_mean, y_std = y_train.mean(axis=0), y_train.std(axis=0)
    tensor = lambda v: torch.tensor(v, dtype=torch.float32)
    xs, ys = tensor((x_train - x_mean) / x_std), tensor((y_train - y_mean) / y_std)
    model = Mlp(x_train.shape[1], a.hidden, a.deterministic, a.estimator)
    start = time.perf_counter()
    train(model, xs, ys, a)
    result = predict(model, tensor((x_test - x_mean) / x_std), tensor((y_test - y_mean) / y_std),
                     float(y_std[0]), a)
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
