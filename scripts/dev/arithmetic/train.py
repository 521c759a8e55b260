"""Trains the arithmetic task's backbone, PRM and ORM (see README.md for the exact commands).

  train.py lm       --data D --out RUN/lm [--hidden 128 --layers 4 ...]   language model on correct solutions
  train.py backbone --data D --init RUN/lm --out RUN/backbone           + layers that notice surprises (backbone.py)
  train.py prm      --data D --init RUN/backbone --out RUN/prm [--target hard]   per-step BCE at each separator
  train.py orm      --data D --init RUN/backbone --out RUN/orm          BCE on the outcome at the last token
  train.py eval --data D --prm RUN/prm --orm RUN/orm                  AUROCs on D/eval.jsonl

Every phase is seeded (data order, initialisation); a phase saves its checkpoint every
--save-every steps and at the end, and resumes from it (--resume)."""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import tokenizer as toks  # noqa: E402
from data import Chains, auroc, read_jsonl, result_digits  # noqa: E402
from backbone import frozen, grow, probe_step_scores, stage2_loss  # noqa: E402
from model import build, count_params, from_backbone, hidden, lm_logits, load, make_config, save  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def batches(n, size, rng):
    """Endless shuffled epochs of index batches."""
    while True:
        order = list(range(n))
        rng.shuffle(order)
        for k in range(0, n - size + 1, size):
            yield order[k : k + size]


def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def lm_loss(net, data, idx):
    ids, mask = data.batch(idx)
    h = hidden(net, ids, mask)
    tgt = data.lm_targets(idx, ids)
    keep = tgt != -100
    logits = lm_logits(net, h[keep])
    right = logits.argmax(-1) == tgt[keep]
    res = result_digits(data.tok, tgt)[keep]
    return F.cross_entropy(logits, tgt[keep]), (right.float().mean().item(), right[res].float().mean().item())


def step_logits(net, ids, mask, rows, cols):
    h = hidden(net, ids, mask)
    z = net.score(h[rows, cols])
    # 2 classes: P(correct) = softmax(z)[1] = sigmoid(z1 - z0); 1 class: sigmoid(z)
    return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z[:, 0]


def reward_loss(kind, net, data, idx, target):
    ids, mask = data.batch(idx)
    if kind == "prm":
        rows, cols = data.step_positions(idx)
        y = data.step_targets(idx, target)
    else:
        rows, cols = torch.arange(len(idx)), data.last_positions(idx)
        y = torch.tensor([float(data.rows[i]["outcome"]) for i in idx])
    z = step_logits(net, ids, mask, rows, cols)
    return F.binary_cross_entropy_with_logits(z, y)


@torch.no_grad()
def predict(kind, net, data, size=256):
    """P(correct) per step (PRM, chain order) or per chain (ORM)."""
    net.eval()
    out = []
    for k in range(0, len(data), size):
        idx = list(range(k, min(len(data), k + size)))
        ids, mask = data.batch(idx)
        if kind == "prm":
            rows, cols = data.step_positions(idx)
        else:
            rows, cols = torch.arange(len(idx)), data.last_positions(idx)
        out.append(torch.sigmoid(step_logits(net, ids, mask, rows, cols)).numpy())
    net.train()
    return np.concatenate(out)


def evaluate(kind, net, data):
    p = predict(kind, net, data)
    if kind == "prm":
        res = {"step_auroc": auroc(p, data.step_values("verifier")), "step_auroc_hard": auroc(p, data.step_values("hard"))}
        # the chain's outcome from its weakest step (the usual PRM aggregation)
        k, mins = 0, []
        for e in data.ends:
            mins.append(p[k : k + len(e)].min())
            k += len(e)
        res["outcome_auroc_min"] = auroc(mins, [r["outcome"] for r in data.rows])
        return res
    y = np.array([r["outcome"] for r in data.rows])
    return {"outcome_auroc": auroc(p, y), "outcome_acc": float(((p > 0.5) == y).mean())}


class Job:
    """What a phase trains: the modules, a loss over a batch of chain indices (and the figures
    to log), what to run on the eval set, and what to save."""

    def __init__(self, modules, loss, evaluate=None, save=None):
        self.modules, self.loss, self.evaluate, self.save = modules, loss, evaluate, save


def train(args, job, n_train):
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    params = [p for m in job.modules for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.wd, betas=(0.9, 0.98))
    state_path = os.path.join(args.out, "train_state.pt")
    start = 0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path, weights_only=False)
        for m, sd in zip(job.modules, st["modules"]):
            m.load_state_dict(sd)
        opt.load_state_dict(st["opt"])
        rng.setstate(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        start = st["step"]
        log(f"resumed at step {start}")
    it = batches(n_train, args.batch, rng)
    for _ in range(start):  # replay the data order up to the resumed step
        next(it)
    for m in job.modules:
        m.train()
    t0, seen, figs, loss_sum = time.time(), 0, 0.0, 0.0
    for step in range(start, args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        loss, fig = job.loss(next(it))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss_sum += loss.item()
        figs = figs + np.array(fig)
        seen += 1
        done = step + 1
        if done % args.log_every == 0 or done == args.steps:
            log(f"{args.phase} step {done}/{args.steps} loss {loss_sum / seen:.4f} figures {np.round(figs / seen, 4).tolist()} "
                f"lr {opt.param_groups[0]['lr']:.2e} {(time.time() - t0) / seen:.2f} s/step")
            t0, seen, figs, loss_sum = time.time(), 0, 0.0, 0.0
        if job.evaluate and (done % args.eval_every == 0 or done == args.steps):
            log(f"{args.phase} step {done} eval", json.dumps(job.evaluate()))
        if done % args.save_every == 0 or done == args.steps:
            job.save()
            torch.save({"modules": [m.state_dict() for m in job.modules], "opt": opt.state_dict(), "rng": rng.getstate(),
                        "torch_rng": torch.get_rng_state(), "step": done}, state_path)


def lm_job(args, tok):
    data = Chains(tok, read_jsonl(os.path.join(args.data, "lm.jsonl"), args.train_limit))
    net = build("lm", make_config(tok.get_vocab_size(), args.hidden, args.layers, args.heads, args.kv_heads, args.inter))

    def loss(idx):
        l, acc = lm_loss(net, data, idx)
        return l, acc  # figures: token accuracy, result-digit accuracy

    return Job([net], loss, save=lambda: save(net, args.out, args.tokenizer)), data


def backbone_job(args, tok, eval_data):
    data = Chains(tok, read_jsonl(os.path.join(args.data, "train.jsonl"), args.train_limit))
    lm = load("lm", args.init)
    teacher = frozen(load("lm", args.teacher) if args.teacher else lm)
    net = grow(lm, args.add_layers)
    probe = torch.nn.Linear(net.config.hidden_size, 1)
    state = os.path.join(args.init, "train_state.pt")
    if args.add_layers == 0 and os.path.exists(state):  # going on from a backbone: keep its probe
        probe.load_state_dict(torch.load(state, weights_only=False)["modules"][1])

    def evaluate():
        p = probe_step_scores(net, probe, eval_data)
        return {"probe_step_auroc": auroc(p, eval_data.step_values("verifier"))}

    def loss(idx):
        return stage2_loss(net, probe, teacher, data, idx)  # figures: probe BCE, KL to the teacher

    return Job([net, probe], loss, evaluate, lambda: save(net, args.out, args.tokenizer)), data


def reward_job(args, tok, eval_data):
    kind = args.phase
    data = Chains(tok, read_jsonl(os.path.join(args.data, "train.jsonl"), args.train_limit))
    net = from_backbone(kind, load("lm", args.init))

    def loss(idx):
        return reward_loss(kind, net, data, idx, args.target), ()

    return Job([net], loss, lambda: evaluate(kind, net, eval_data), lambda: save(net, args.out, args.tokenizer)), data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["lm", "backbone", "prm", "orm", "eval"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out")
    ap.add_argument("--init", help="language model to start a reward model from")
    ap.add_argument("--prm")
    ap.add_argument("--orm")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--inter", type=int, default=384)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--target", default="hard", choices=["hard", "soft"])
    ap.add_argument("--add-layers", type=int, default=2, help="backbone: layers added on top of the language model")
    ap.add_argument("--teacher", help="backbone: the stage-1 language model, when --init is a backbone to train on")
    ap.add_argument("--train-limit", type=int)
    ap.add_argument("--eval-limit", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--save-every", type=int, default=500)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.tokenizer = os.path.join(args.data, "tokenizer")
    if not os.path.exists(os.path.join(args.tokenizer, "tokenizer.json")):
        toks.write(args.tokenizer)
    tok = toks.load(args.tokenizer)
    eval_rows = read_jsonl(os.path.join(args.data, "eval.jsonl"), args.eval_limit)
    eval_data = Chains(tok, eval_rows)
    if args.phase == "eval":
        for kind, path in (("prm", args.prm), ("orm", args.orm)):
            if path:
                print(kind, json.dumps(evaluate(kind, load(kind, path), eval_data)))
        return
    if args.phase == "lm":
        job, data = lm_job(args, tok)
    elif args.phase == "backbone":
        job, data = backbone_job(args, tok, eval_data)
    else:
        job, data = reward_job(args, tok, eval_data)
    log(f"{args.phase}: {count_params(job.modules[0])} parameters, {len(data)} training chains, "
        f"{sum(len(x) for x in data.ids) / len(data):.1f} tokens per chain")
    train(args, job, len(data))


if __name__ == "__main__":
    main()
