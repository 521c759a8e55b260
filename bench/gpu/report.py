"""Joins kernel.json (prmkit_gpu_bench) and torch.json (torch_ref.py) into one table and one
JSON with the three GPU targets evaluated:
  kernel >= 70% of the measured copy bandwidth on the bytes it reads; >= 3x PyTorch eager;
  the transfer-inclusive path faster than the cpu above some batch size (the crossover).

    python3 report.py kernel.json torch.json --out gpu.json
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kernel")
    ap.add_argument("torch")
    ap.add_argument("--out", default="gpu.json")
    a = ap.parse_args()
    k = json.load(open(a.kernel))
    t = json.load(open(a.torch))
    eager = {(r["dtype"], r["B"], r["T"], r["H"], r["steps"]): r for r in t["eager"]}
    copy = k["copy_bandwidth_Bps"]
    print(f"device: {k['device']}; copy bandwidth {copy / 1e9:.0f} GB/s (prmkit memcpy), "
          f"{t['copy_bandwidth_Bps'] / 1e9:.0f} GB/s (torch copy_)")
    hdr = f"{'dtype':5} {'B x T x H':16} {'bounds':7} {'S':>8} {'kernel us':>10} {'of copy':>8} {'eager us':>10} {'speedup':>8} {'sums agree':>10}"
    print(hdr)
    rows = []
    for r in k["kernel"]:
        e = eager.get((r["dtype"], r["B"], r["T"], r["H"], r["steps"]))
        speed = e["eager_ms"] / r["kernel_ms"] if e else None
        agree = None
        if e:
            rel = lambda x, y: abs(x - y) / max(1.0, abs(y))
            agree = rel(r["lp_sum"], e["lp_sum"]) < 1e-4 and rel(r["prod_sum"], e["prod_sum"]) < 1e-4
        rows.append({**r, "eager_ms": e and e["eager_ms"], "speedup_vs_eager": speed, "sums_agree": agree})
        print(f"{r['dtype']:5} {r['B']:4}x{r['T']:5}x{r['H']:5} {'16/seq' if r['steps'] else 'dense':7} {r['S']:8} "
              f"{r['kernel_ms'] * 1e3:10.1f} {100 * r['fraction_of_copy']:7.0f}% "
              f"{(e['eager_ms'] * 1e3) if e else float('nan'):10.1f} {speed or float('nan'):7.1f}x {str(agree):>10}")
    # the roofline target applies where the read is large enough to amortise the launch
    big = [r for r in rows if r["bytes_read"] >= 256e6]
    print("\ntransfer-inclusive (host arrays -> results) vs the cpu backend")
    print(f"{'head':9} {'B':>5} {'rows MB':>9} {'cpu ms':>9} {'cuda ms':>9} {'resident ms':>12} {'faster':>7}")
    crossover = {}
    for r in k["crossover"]:
        faster = r["cuda_host_ms"] < r["cpu_ms"]
        print(f"{r['head']:9} {r['B']:5} {r['gathered_bytes'] / 1e6:9.2f} {r['cpu_ms']:9.3f} {r['cuda_host_ms']:9.3f} "
              f"{r['cuda_resident_ms']:12.3f} {str(faster):>7}")
        # the crossover: the smallest batch from which cuda stays faster at every larger one
        if not faster:
            crossover[r["head"]] = None
        elif crossover.get(r["head"]) is None:
            crossover[r["head"]] = {"B": r["B"], "gathered_bytes": r["gathered_bytes"]}
    targets = {
        "kernel_fraction_of_copy_min_on_large_reads": min((r["fraction_of_copy"] for r in big), default=None),
        "kernel_fraction_target": 0.70,
        "speedup_vs_eager_min": min((r["speedup_vs_eager"] for r in rows if r["speedup_vs_eager"]), default=None),
        "speedup_target": 3.0,
        "all_sums_agree": all(r["sums_agree"] for r in rows if r["sums_agree"] is not None),
        "crossover_cuda_faster_from": crossover,
        "crossover_sums_agree": all(abs(r["lp_sum_cuda"] - r["lp_sum_cpu"]) <= 1e-4 * max(1.0, abs(r["lp_sum_cpu"]))
                                    for r in k["crossover"]),
    }
    print("\ntargets:", json.dumps(targets, indent=1))
    json.dump({"device": k["device"], "cpu_threads": k["cpu_threads"], "copy_bandwidth_Bps": copy,
               "torch_copy_bandwidth_Bps": t["copy_bandwidth_Bps"], "torch": t.get("torch"), "kernel": rows,
               "crossover": k["crossover"], "targets": targets}, open(a.out, "w"), indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
