"""Chains as token ids, the way prmkit's TRL format feeds a PRM: the problem's ids, then each
step's ids followed by the ids of the separator "\n", no special tokens. A step's label sits
on its separator's last token; an ORM reads the last token of the same text."""
import json

import numpy as np
import torch

SEP = "\n"
PAD_ID = 0


def read_jsonl(path, limit=None):
    rows = []
    with open(path) as f:
        for line in f:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


class Chains:
    """Encoded chains: ids, the index of each step's label token, per-step targets."""

    def __init__(self, tok, rows):
        texts = sorted({r["problem"] for r in rows} | {s for r in rows for s in r["steps"]} | {SEP})
        enc = dict(zip(texts, (e.ids for e in tok.encode_batch(texts, add_special_tokens=False))))
        sep = enc[SEP]
        self.ids, self.ends, self.plen = [], [], []
        for r in rows:
            ids = list(enc[r["problem"]])
            self.plen.append(len(ids))
            ends = []
            for s in r["steps"]:
                ids += enc[s] + sep
                ends.append(len(ids) - 1)
            self.ids.append(np.array(ids, dtype=np.int64))
            self.ends.append(np.array(ends, dtype=np.int64))
        self.rows = rows
        self.tok = tok

    def __len__(self):
        return len(self.ids)

    def step_values(self, key):
        """Flat per-step values of `key` over all chains, in chain order."""
        return np.concatenate([np.asarray(r[key], dtype=np.float64) for r in self.rows])

    def batch(self, idx):
        """Right-padded ids and mask for chains `idx` (padding never changes a causal model's
        outputs at real positions)."""
        T = max(len(self.ids[i]) for i in idx)
        ids = torch.full((len(idx), T), PAD_ID, dtype=torch.long)
        mask = torch.zeros((len(idx), T), dtype=torch.long)
        for b, i in enumerate(idx):
            n = len(self.ids[i])
            ids[b, :n] = torch.from_numpy(self.ids[i])
            mask[b, :n] = 1
        return ids, mask

    def step_positions(self, idx):
        """(row in batch, token index) of every step label of chains `idx`, and the chain-order
        slice of each step in step_values."""
        rows, cols = [], []
        for b, i in enumerate(idx):
            rows.extend([b] * len(self.ends[i]))
            cols.extend(self.ends[i].tolist())
        return torch.tensor(rows), torch.tensor(cols)

    def step_targets(self, idx, key):
        return torch.tensor(np.concatenate([np.asarray(self.rows[i][key], dtype=np.float32) for i in idx]))

    def last_positions(self, idx):
        return torch.tensor([len(self.ids[i]) - 1 for i in idx])

    def lm_targets(self, idx, ids):
        """Next-token targets on the solution only (the problem is given, not predicted)."""
        tgt = torch.full_like(ids, -100)
        for b, i in enumerate(idx):
            n = len(self.ids[i])
            tgt[b, self.plen[i] - 1 : n - 1] = ids[b, self.plen[i] : n]
        return tgt


def result_digits(tok, tgt):
    """Where a next-token target is a digit (or sign) of a step's result: after "=", before
    anything else. Their accuracy says whether the language model computes."""
    eq = tok.token_to_id("=")
    num = torch.tensor([tok.token_to_id(c) for c in "0123456789-"])
    is_num = torch.isin(tgt, num)
    out = torch.zeros_like(tgt, dtype=torch.bool)
    inside = torch.zeros(tgt.shape[0], dtype=torch.bool)
    for t in range(tgt.shape[1]):
        inside = (inside & is_num[:, t]) | (t > 0) & (tgt[:, t - 1] == eq)
        inside &= is_num[:, t]
        out[:, t] = inside
    return out


def auroc(scores, labels):
    """Area under the ROC curve of scores for binary labels (ties count one half)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))
