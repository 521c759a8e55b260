"""Stage 2 of the backbone: a language model that also notices its own surprises.

The language model of stage 1 (trained on correct solutions only) already knows which steps are
wrong: the lowest probability it gives any solution token so far separates right from wrong steps
almost perfectly. A head at a step's last token cannot read that out, though: the model's layers
are all busy predicting the next token, and the comparison (what I predicted at t vs the token at
t+1) and the memory of an earlier slip need layers after the prediction. So the backbone grows by
a few layers (added as identities: zero output projections) and learns, on the policy's own
chains (text only, no labels), two things at once:
  - the stage-1 model's next-token distribution (KL to the frozen teacher), so it stays a
    language model of correct solutions;
  - at every solution token, the teacher's "nothing surprising so far": min over solution tokens
    u <= t of P_teacher(token u), through a throwaway linear probe (BCE).
The probe is dropped; the PRM and ORM are then fine-tuned from this backbone with their own
labels (Monte-Carlo step labels, outcomes) and fresh heads."""
import copy

import torch
import torch.nn.functional as F
from transformers import Qwen2Config, Qwen2ForCausalLM

from model import hidden, lm_logits


def grow(lm, add_layers):
    """`lm` with `add_layers` more decoder layers on top, each an identity at the start."""
    cfg = Qwen2Config.from_dict(lm.config.to_dict())
    n = cfg.num_hidden_layers
    cfg.num_hidden_layers = n + add_layers
    cfg.layer_types = ["full_attention"] * cfg.num_hidden_layers
    net = Qwen2ForCausalLM(cfg)
    missing = net.load_state_dict(lm.state_dict(), strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys
    for layer in net.model.layers[n:]:
        torch.nn.init.zeros_(layer.self_attn.o_proj.weight)
        torch.nn.init.zeros_(layer.mlp.down_proj.weight)
    return net


def frozen(lm):
    t = copy.deepcopy(lm).eval()
    for p in t.parameters():
        p.requires_grad_(False)
    return t


@torch.no_grad()
def teacher_view(teacher, ids, mask, plens):
    """The teacher's next-token log-distribution at each position, and the "nothing surprising
    so far" target at each solution token (NaN elsewhere)."""
    logp = torch.log_softmax(lm_logits(teacher, hidden(teacher, ids, mask)), -1)
    tok = torch.zeros(ids.shape, dtype=torch.float32)
    tok[:, 1:] = logp[:, :-1].gather(-1, ids[:, 1:, None])[..., 0]  # log P(token t | < t)
    ok = torch.full(ids.shape, float("nan"))
    lens = mask.sum(1)
    for b, pl in enumerate(plens):
        n = int(lens[b])
        ok[b, pl:n] = torch.cummin(tok[b, pl:n], 0).values.exp()
    return logp, ok


def stage2_loss(student, probe, teacher, data, idx, kl_weight=1.0):
    ids, mask = data.batch(idx)
    plens = [data.plen[i] for i in idx]
    t_logp, ok = teacher_view(teacher, ids, mask, plens)
    h = hidden(student, ids, mask)
    # next-token distillation on the solution (positions plen-1 .. n-2 predict the solution)
    pred = torch.zeros(ids.shape, dtype=torch.bool)
    for b, pl in enumerate(plens):
        pred[b, pl - 1 : int(mask[b].sum()) - 1] = True
    s_logp = torch.log_softmax(lm_logits(student, h[pred]), -1)
    kl = F.kl_div(s_logp, t_logp[pred], log_target=True, reduction="batchmean")
    where = ~torch.isnan(ok)
    z = probe(h[where])[:, 0]
    bce = F.binary_cross_entropy_with_logits(z, ok[where])
    return bce + kl_weight * kl, (bce.item(), kl.item())


@torch.no_grad()
def probe_step_scores(student, probe, data, size=256):
    """The probe's P(nothing wrong so far) at each step's separator, in chain order."""
    student.eval()
    out = []
    for k in range(0, len(data), size):
        idx = list(range(k, min(len(data), k + size)))
        ids, mask = data.batch(idx)
        rows, cols = data.step_positions(idx)
        out.append(torch.sigmoid(probe(hidden(student, ids, mask)[rows, cols])[:, 0]))
    student.train()
    return torch.cat(out).numpy()
