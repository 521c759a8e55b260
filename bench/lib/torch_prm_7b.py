# The PyTorch side of bench:7b: a Qwen2.5-Math-PRM-shaped checkpoint (sharded bf16 safetensors,
# model.safetensors.index.json) run as the model card runs it, one chain per forward, in bf16
# (the checkpoint's dtype; what a Python user on a CPU would load), SDPA attention. The weights
# are built on the meta device and assigned shard by shard, so memory holds the model once.
# Prints one JSON line: tokens, seconds, tokens/s, peak RSS, per-chain step probabilities.
#   python torch_prm_7b.py CHECKPOINT_DIR CHAINS.json [threads]
import json, resource, sys, time
import torch, torch.nn as nn
from safetensors.torch import load_file
from transformers import Qwen2Config, Qwen2Model, PreTrainedTokenizerFast
d, chains_path = sys.argv[1:3]
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
raw = json.load(open(f'{d}/config.json'))
cfg = Qwen2Config(**{k: v for k, v in raw.items() if k not in ('architectures', 'auto_map', 'model_type')})
cfg._attn_implementation = 'sdpa'
class QwenPrm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = Qwen2Model(cfg)
        self.score = nn.Sequential(nn.Linear(cfg.hidden_size, cfg.hidden_size), nn.ReLU(), nn.Linear(cfg.hidden_size, 2))
    def forward(self, ids):
        return self.score(self.model(input_ids=ids).last_hidden_state)
t0 = time.perf_counter()
with torch.device('meta'):
    m = QwenPrm(cfg).to(torch.bfloat16)
index = json.load(open(f'{d}/model.safetensors.index.json'))
for shard in sorted(set(index['weight_map'].values())):
    m.load_state_dict(load_file(f'{d}/{shard}'), strict=False, assign=True)
m.model.rotary_emb = type(m.model.rotary_emb)(config=cfg)   # buffers made on meta are real again
missing = [n for n, p in list(m.named_parameters()) + list(m.named_buffers()) if p.is_meta]
if missing: raise SystemExit(f'tensors not in the checkpoint: {missing[:5]}')
m.eval()
load_s = time.perf_counter() - t0
tok = PreTrainedTokenizerFast(tokenizer_file=f'{d}/tokenizer.json')
tok.chat_template = json.load(open(f'{d}/tokenizer_config.json'))['chat_template']
chains = json.load(open(chains_path))
def encode(c):
    msgs = [{'role': 'system', 'content': 'Please reason step by step, and put your final answer within \\boxed{}.'},
            {'role': 'user', 'content': c['problem']}, {'role': 'assistant', 'content': '<extra_0>'.join(c['steps']) + '<extra_0>'}]
    return tok.encode(tok.apply_chat_template(msgs, tokenize=False))
enc = [encode(c) for c in chains]
out = []
with torch.inference_mode():
    m(torch.tensor([enc[0][:16]]))   # warm-up
    t = time.perf_counter()
    for e in enc:
        ids = torch.tensor([e]); p = m(ids).float().softmax(-1)[0, :, 1]
        out.append(p[ids[0] == 151651].tolist())
    s = time.perf_counter() - t
tokens = sum(len(e) for e in enc)
print(json.dumps({'tokens': tokens, 's': s, 'tokensPerS': tokens / s, 'loadS': load_s,
                  'peakRss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'stepProbs': out}))
