"""The convex check's reference for prmkit's head training (test/train/convex.test.ts).

A linear head with an L2 penalty on its weight matrix has a strictly convex objective, so it
has one optimum; PyTorch's L-BFGS, in float64 to a gradient norm below 1e-8, finds it. This
script makes two small labelled row sets (float32, as prmkit's kernels read them), fits each,
and prints JSON with the rows, the labels, the settings and the optimum (weights, bias,
objective) on stdout. The test checks that prmkit's AdamW training reaches the same point.
Run it, from the repository root, with the PyTorch environment of the shared tools:

    bash ../shared/tools/torch-venv.sh   # once: a venv in /tmp/torch-venv
    /tmp/torch-venv/bin/python scripts/dev/head-lbfgs-reference.py > test/train/data/lbfgs-reference.json

The objective is prmkit's (lib/kernels/bce-types.ts): the mean over rows of
-(wp * y * log p + wn * (1 - y) * log(1 - p)), p = P(correct), plus (l2 / 2) * ||W||^2 (the
bias is not penalized).
"""
import json
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def make_rows(rng, n, h, soft):
    x = rng.normal(size=(n, h)).astype(np.float32)
    truth = rng.normal(size=h) / np.sqrt(h) * 2.0
    p = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ truth + 0.3)))
    hard = (rng.uniform(size=n) < p).astype(np.float64)
    # soft labels: a Monte-Carlo estimate from 8 rollouts for half the rows
    mc = rng.binomial(8, p) / 8.0
    y = np.where(rng.uniform(size=n) < 0.5, mc, hard) if soft else hard
    return x, y.astype(np.float32)


def objective(x, y, w, b, case):
    z = x @ w.T + b  # [N, K]
    wp = case["classWeights"]["positive"] * y
    wn = case["classWeights"]["negative"] * (1 - y)
    if case["head"]["outputs"] == 1:
        logp = torch.nn.functional.logsigmoid(z[:, 0])
        log1mp = torch.nn.functional.logsigmoid(-z[:, 0])
    else:
        ls = torch.log_softmax(z, dim=1)
        c = case["head"]["positive"]
        logp, log1mp = ls[:, c], ls[:, 1 - c]
    bce = -(wp * logp + wn * log1mp).mean()
    return bce, bce + 0.5 * case["l2"] * (w * w).sum()


def fit(case, x32, y32):
    x = torch.from_numpy(x32.astype(np.float64))
    y = torch.from_numpy(y32.astype(np.float64))
    k, h = case["head"]["outputs"], x.shape[1]
    w = torch.zeros(k, h, requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=500, tolerance_grad=1e-13, tolerance_change=1e-16,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        _, total = objective(x, y, w, b, case)
        total.backward()
        return total

    for _ in range(20):
        opt.step(closure)
    opt.zero_grad()
    bce, total = objective(x, y, w, b, case)
    total.backward()
    grad_norm = float(torch.cat([w.grad.flatten(), b.grad.flatten()]).norm())
    return w.detach().numpy(), b.detach().numpy(), bce.item(), total.item(), grad_norm


def numbers(a):
    return [float(format(float(v), ".9g")) for v in np.asarray(a).flatten()]


def main():
    rng = np.random.default_rng(20)
    cases = [
        {"name": "sigmoid, soft and hard labels, class weights", "seed": 1, "soft": True,
         "head": {"kind": "linear", "activation": "sigmoid", "outputs": 1, "positive": 0},
         "classWeights": {"positive": 2.0, "negative": 0.75}, "l2": 0.05, "n": 240, "h": 12},
        {"name": "softmax over two classes, hard labels", "seed": 2, "soft": False,
         "head": {"kind": "linear", "activation": "softmax", "outputs": 2, "positive": 1},
         "classWeights": {"positive": 1.0, "negative": 1.0}, "l2": 0.02, "n": 240, "h": 12},
    ]
    out = {"generator": "scripts/dev/head-lbfgs-reference.py", "torch": torch.__version__, "cases": []}
    for case in cases:
        x, y = make_rows(rng, case["n"], case["h"], case["soft"])
        w, b, bce, total, grad_norm = fit(case, x, y)
        print(f"{case['name']}: objective {total:.12f}, |grad| {grad_norm:.2e}", file=sys.stderr)
        out["cases"].append({
            "name": case["name"], "head": case["head"], "classWeights": case["classWeights"], "l2": case["l2"],
            "dims": [case["n"], case["h"]], "rows": numbers(x), "labels": numbers(y),
            "optimum": {"weight": [float(v) for v in w.flatten()], "bias": [float(v) for v in b], "bce": bce,
                        "objective": total, "gradNorm": grad_norm},
        })
    # one line per case: the rows are data, not something to read
    sys.stdout.write('{"generator": %s, "torch": %s, "cases": [\n' % (json.dumps(out["generator"]), json.dumps(out["torch"])))
    sys.stdout.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in out["cases"]))
    sys.stdout.write("\n]}")
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
