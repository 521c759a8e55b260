"""The backbone and its two reward heads, as the Hugging Face classes prmkit converts:
Qwen2ForCausalLM (the language model trained on the task's text), Qwen2ForTokenClassification
with 2 labels (the PRM, TRL's PRMTrainer layout) and Qwen2ForSequenceClassification with 1 label
(the ORM). All three share the trunk's parameter names, so one initialises the other."""
import os
import shutil

import torch
import torch.nn.functional as F
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2ForSequenceClassification, Qwen2ForTokenClassification

from data import PAD_ID


def make_config(vocab, hidden, layers, heads, kv_heads, inter, max_len=512):
    assert hidden % heads == 0 and (hidden // heads) % 16 == 0, "head size must be a multiple of 16 (onnxruntime GQA)"
    return Qwen2Config(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=hidden // heads,
        max_position_embeddings=max_len,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        pad_token_id=PAD_ID,
        bos_token_id=None,
        eos_token_id=None,
        classifier_dropout=0.0,
        use_cache=False,
    )


def build(kind, config):
    if kind == "lm":
        return Qwen2ForCausalLM(config)
    if kind == "prm":
        config.num_labels = 2
        return Qwen2ForTokenClassification(config)
    if kind == "orm":
        config.num_labels = 1
        return Qwen2ForSequenceClassification(config)
    raise ValueError(kind)


def load(kind, path):
    cls = {"lm": Qwen2ForCausalLM, "prm": Qwen2ForTokenClassification, "orm": Qwen2ForSequenceClassification}[kind]
    return cls.from_pretrained(path, dtype=torch.float32)


def from_backbone(kind, lm):
    """A reward model whose trunk starts as the language model's; the head starts small."""
    config = Qwen2Config.from_dict(lm.config.to_dict())
    net = build(kind, config)
    net.model.load_state_dict(lm.model.state_dict())
    torch.nn.init.normal_(net.score.weight, std=0.02)
    if net.score.bias is not None:
        torch.nn.init.zeros_(net.score.bias)
    return net


def hidden(net, ids, mask):
    return net.model(input_ids=ids, attention_mask=mask).last_hidden_state


def lm_logits(net, h):
    """Next-token logits through the tied input embedding (reward models keep no lm_head)."""
    return F.linear(h, net.model.embed_tokens.weight)


def save(net, out, tokenizer_dir):
    os.makedirs(out, exist_ok=True)
    net.config.architectures = [type(net).__name__]
    net.save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(out, name))


def count_params(net):
    return sum(p.numel() for p in net.parameters())
