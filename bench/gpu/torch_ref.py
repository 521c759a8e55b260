"""PyTorch eager doing the fused kernel's math on the same device, for bench/gpu/run.sh.

Same inputs as prmkit_gpu_bench (kernel_bench.cpp): hidden states and head weights are a
closed-form hash of the element index, boundaries follow the same rule. Per shape it times
index_select + matmul + log_softmax + segment reductions (prod, min, last, mean, geomean,
first error) with CUDA events, and records the sums of the step log-probs and of the prod
aggregates so report.py can check that both computed the same numbers.

    python3 torch_ref.py --out torch.json [--quick]
"""
import argparse
import json
import math

import torch

KNUTH = 2654435761
WEIGHT_SEED = 0x9E3779B9


def hash_values(idx: torch.Tensor) -> torch.Tensor:
    """value_at(i) of kernel_bench.cpp: ((i * KNUTH) mod 2^32) >> 8, scaled to [-0.5, 0.5).

    int64 products would overflow, so the multiplication is split into 16-bit halves."""
    i = idx & 0xFFFFFFFF
    lo, hi = i & 0xFFFF, i >> 16
    h = (lo * KNUTH + ((hi * KNUTH) & 0xFFFF) * 65536) & 0xFFFFFFFF
    return (h >> 8).to(torch.float32) * (1.0 / 16777216.0) - 0.5


def make_hidden(dtype, B, T, H, device):
    out = torch.empty((B, T, H), dtype=dtype, device=device)
    per = T * H
    for b in range(B):  # one candidate at a time keeps the int64 temporaries small
        idx = torch.arange(b * per, (b + 1) * per, device=device, dtype=torch.int64)
        out[b] = hash_values(idx).view(T, H).to(dtype)
    return out


def make_bounds(B, T, steps):
    offsets, positions = [0], []
    for c in range(B):
        n = T if steps == 0 else max(1, min(T, steps - c % 5))
        positions += [j if steps == 0 else (j + 1) * T // n - 1 for j in range(n)]
        offsets.append(len(positions))
    return offsets, positions


def make_head(H, device):
    s = torch.tensor(4.0, dtype=torch.float32) / torch.sqrt(torch.tensor(float(H), dtype=torch.float32))
    w = hash_values(torch.arange(2 * H, dtype=torch.int64) + WEIGHT_SEED) * s
    return w.view(2, H).to(device), torch.tensor([0.1, -0.1], dtype=torch.float32, device=device)


def score(hidden, flat_rows, cand, counts, last_idx, W, bias, log_thr):
    """The eager version of the fused kernel; returns step log-probs and the aggregates."""
    B = counts.shape[0]
    H = hidden.shape[-1]
    rows = hidden.view(-1, H).index_select(0, flat_rows)           # gather
    z = torch.addmm(bias, rows.float(), W.t())                      # head, float32
    lp = torch.log_softmax(z, dim=-1)[:, 1]                         # log-score, positive = 1
    prod = torch.zeros(B, device=lp.device).index_add_(0, cand, lp)
    mn = torch.full((B,), math.inf, device=lp.device).scatter_reduce_(0, cand, lp, "amin")
    mx = torch.full((B,), -math.inf, device=lp.device).scatter_reduce_(0, cand, lp, "amax")
    se = torch.zeros(B, device=lp.device).index_add_(0, cand, torch.exp(lp - mx[cand]))
    n = counts.to(torch.float32)
    mean = mx + torch.log(se / n)
    geomean = prod / n
    last = lp[last_idx]
    local = torch.arange(lp.shape[0], device=lp.device) - torch.repeat_interleave(
        torch.cumsum(counts, 0) - counts, counts)
    big = torch.iinfo(torch.int64).max
    fe = torch.full((B,), big, device=lp.device).scatter_reduce_(
        0, cand, torch.where(lp < log_thr, local, big), "amin")
    fe = torch.where(fe == big, -1, fe)
    return lp, prod, mn, last, mean, geomean, fe


def time_ms(fn, iters):
    fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="torch.json")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 math, as the kernel does

    nbytes = 1 << 30
    x = torch.empty(nbytes, dtype=torch.uint8, device=dev)
    y = torch.empty_like(x)
    copy_ms = time_ms(lambda: y.copy_(x), 20)
    copy_bps = 2 * nbytes / (copy_ms * 1e-3)
    del x, y
    print(f"torch copy_: {copy_bps / 1e9:.0f} GB/s (read + write)")

    shapes = [(8, 512, 4096), (64, 1024, 4096), (256, 2048, 4096)]
    if args.quick:
        shapes = [(8, 512, 4096), (32, 1024, 4096)]
    rows = []
    print(f"{'dtype':5} {'B x T x H':16} {'bounds':7} {'S':>9} {'eager us':>10}")
    for dtype, dname in [(torch.bfloat16, "bf16"), (torch.float32, "f32")]:
        for B, T, H in shapes:
            hidden = make_hidden(dtype, B, T, H, dev)
            W, bias = make_head(H, dev)
            for steps in (16, 0):
                offsets, positions = make_bounds(B, T, steps)
                counts = torch.tensor([offsets[i + 1] - offsets[i] for i in range(B)], device=dev)
                cand = torch.repeat_interleave(torch.arange(B, device=dev), counts)
                flat = cand * T + torch.tensor(positions, device=dev)
                last_idx = torch.tensor(offsets[1:], device=dev) - 1
                log_thr = math.log(0.5)
                run = lambda: score(hidden, flat, cand, counts, last_idx, W, bias, log_thr)
                ms = time_ms(run, 10)
                lp, prod, *_ = run()
                S = len(positions)
                print(f"{dname:5} {B:4}x{T:5}x{H:5} {'16/seq' if steps else 'dense':7} {S:9} {ms * 1e3:10.1f}")
                rows.append({"dtype": dname, "B": B, "T": T, "H": H, "steps": steps, "S": S,
                             "eager_ms": ms, "lp_sum": lp.double().sum().item(),
                             "prod_sum": prod.double().sum().item()})
                del lp, prod
            del hidden
            torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                   "copy_bandwidth_Bps": copy_bps, "eager": rows}, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
