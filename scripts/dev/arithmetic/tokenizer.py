"""A digit-level tokenizer for the arithmetic task, as a Hugging Face tokenizer.json.

One token per digit (numbers never merge, so the model sees place value digit by digit), one
per symbol, one per word of the task's text ("multiply", "\\boxed"), "\n" kept as the step
separator, other whitespace dropped. Unknown words fall back to letters and unknown
characters to UTF-8 byte tokens, so any text encodes and no id is ever <unk>.

Built only from parts that both Python `tokenizers` and the npm `@huggingface/tokenizers`
implement the same way: two Split pre-tokenizers (remove spaces, then isolate each word,
digit and symbol) and a BPE model with no merges, `ignore_merges` (a piece that is in the
vocabulary is one token) and byte fallback.

    python tokenizer.py OUT_DIR                 writes tokenizer.json and tokenizer_config.json
    python tokenizer.py OUT_DIR --check DATA.jsonl REF.json
                                                also writes the ids Python gives for the texts of
                                                DATA.jsonl and some odd texts (for check-tokenizer.mjs)
"""
import json
import os
import sys

# every word of the task's problems and solutions (problems.ts, generator.ts), and a few that
# people type around arithmetic; anything else is spelled out in letters
WORDS = [
    "Start", "with", "add", "subtract", "multiply", "divide", "by", "then", "What", "is", "the",
    "result", "The", "answer", "\\boxed",
    "and", "So", "so", "We", "we", "get", "Answer", "First", "Next", "Finally", "step", "Step",
]
PAD, UNK = "<pad>", "<unk>"
# whitespace other than the step separator carries nothing here
DROP = r"[ \t\r\f\v]+"
# a word (optionally a LaTeX command), else exactly one character
PIECE = r"\\?[A-Za-z]+|[^A-Za-z]"


def vocabulary():
    toks = [PAD, UNK, "\n"] + [chr(c) for c in range(0x21, 0x7F)] + WORDS
    toks += [f"<0x{b:02X}>" for b in range(256)]
    assert len(set(toks)) == len(toks)
    return {t: i for i, t in enumerate(toks)}


def tokenizer_json():
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": DROP}, "behavior": "Removed", "invert": False},
                {"type": "Split", "pattern": {"Regex": PIECE}, "behavior": "Isolated", "invert": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": UNK,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": True,
            "ignore_merges": True,
            "vocab": vocabulary(),
            "merges": [],
        },
    }


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "pad_token": PAD,
        "unk_token": UNK,
        "model_max_length": 512,
        "clean_up_tokenization_spaces": False,
    }


def write(out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=1)
        f.write("\n")


def load(path):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(path, "tokenizer.json"))


ODD = [
    "", "\n", "\n\n", "  leading and trailing spaces  ", "tabs\tand\rreturns", "3×4 = 12 ✓", "héllo wörld",
    "-12 - -5 = -7", "1.5 + 2.25 = 3.75", "\\frac{1}{2} + \\boxed{x}", "<pad> <unk> <0x41>", "emoji 🙂 ok",
    "Multiply THE Result", "a+b=c", "12,345,678", "日本語のテキスト", "\\", "\\boxedx",
]


def check_file(out, data, ref):
    tok = load(out)
    texts = list(ODD)
    with open(data) as f:
        for k, line in enumerate(f):
            if k >= 300:
                break
            r = json.loads(line)
            texts.append(r["problem"])
            texts.extend(r["steps"])
    rows = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]
    with open(ref, "w") as f:
        json.dump(rows, f, ensure_ascii=False)
    print(f"{len(rows)} texts written to {ref}")


if __name__ == "__main__":
    write(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--check":
        check_file(sys.argv[1], sys.argv[3], sys.argv[4])
