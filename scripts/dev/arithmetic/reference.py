"""Reference outputs of the trained PRM and ORM through the plain Hugging Face forward pass (no
code of train.py's), one chain per call, for checking a converted model against PyTorch.

  reference.py --prm RUN/prm --orm RUN/orm --chains DATA/eval.jsonl --count 40 --out reference.json

Writes {chains: [{id, problem, steps}], prm: [{id, stepProbs, tokens}], orm: [{id, reward, prob, tokens}]}: the
PRM's softmax class 1 at each step's separator token, the ORM's raw logit at the last token
and its sigmoid.

The tokenizer is read with PreTrainedTokenizerFast: AutoTokenizer maps every qwen2 checkpoint to
Qwen2Tokenizer, which rebuilds a byte-level pipeline and ignores this tokenizer.json."""
import argparse
import json

import torch
from transformers import PreTrainedTokenizerFast, Qwen2ForSequenceClassification, Qwen2ForTokenClassification


def chain_ids(tok, problem, steps):
    ids = tok(problem, add_special_tokens=False)["input_ids"]
    sep = tok("\n", add_special_tokens=False)["input_ids"]
    ends = []
    for s in steps:
        ids = ids + tok(s, add_special_tokens=False)["input_ids"] + sep
        ends.append(len(ids) - 1)
    return ids, ends


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prm")
    ap.add_argument("--orm")
    ap.add_argument("--chains", required=True)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = []
    with open(args.chains) as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) >= args.count:
                break
    out = {"chains": [{"id": r["id"], "problem": r["problem"], "steps": r["steps"]} for r in rows]}
    if args.prm:
        tok = PreTrainedTokenizerFast.from_pretrained(args.prm)
        prm = Qwen2ForTokenClassification.from_pretrained(args.prm, dtype=torch.float32).eval()
        out["prm"] = []
        for r in rows:
            ids, ends = chain_ids(tok, r["problem"], r["steps"])
            logits = prm(input_ids=torch.tensor([ids])).logits[0]
            probs = torch.softmax(logits[ends], dim=-1)[:, 1]
            out["prm"].append({"id": r["id"], "stepProbs": probs.tolist(), "tokens": len(ids)})
    if args.orm:
        tok = PreTrainedTokenizerFast.from_pretrained(args.orm)
        orm = Qwen2ForSequenceClassification.from_pretrained(args.orm, dtype=torch.float32).eval()
        out["orm"] = []
        for r in rows:
            ids, _ = chain_ids(tok, r["problem"], r["steps"])
            z = orm(input_ids=torch.tensor([ids])).logits[0, 0].item()
            out["orm"].append({"id": r["id"], "reward": z, "prob": float(torch.sigmoid(torch.tensor(z))), "tokens": len(ids)})
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
