#!/usr/bin/env bash
# The whole arithmetic demo-model experiment, seeded end to end:
#   bash scripts/dev/arithmetic/run.sh OUT_DIR
# Needs the package built (npm install) and a Python with torch and transformers 5 (PYTHON=/path/to/python;
# default python3). Every stage resumes: rerun the command after an interruption.
set -euo pipefail
out=${1:?usage: run.sh OUT_DIR}
py=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
data=$out/data
train() { nice -n 19 "$py" "$here/train.py" "$@" --data "$data" --resume; }

# 1. data: 200k correct solutions, 40k problems x 4 policy samples with MC and verifier labels,
#    2k held-out problems x 4 samples (default task: 4 steps, slip rate 0.1, 8 rollouts per step)
[ -f "$data/args.json" ] || nice -n 19 node "$here/make-data.mjs" --out "$data" --seed 1 --lm 200000 --train 40000 --eval 2000

# 2. tokenizer, and the check that prmkit's tokenizer (npm) encodes as Python does
"$py" "$here/tokenizer.py" "$data/tokenizer" --check "$data/train.jsonl" "$data/tokenizer-check.json"
node "$here/check-tokenizer.mjs" "$data/tokenizer" "$data/tokenizer-check.json"

# 3. language model on correct solutions (0.84M parameters: hidden 128, 4 layers, 4 heads of 32)
train lm --out "$out/lm" --steps 4000 --warmup 200 --lr 2e-3 --seed 0 --save-every 250

# 4. backbone: 2 more layers that learn to notice the LM's surprises (backbone.py), 1500 steps
train backbone --init "$out/lm" --out "$out/backbone" --add-layers 2 --steps 1500 --warmup 100 --lr 1e-3 --seed 0 --eval-every 250 --save-every 250 --log-every 25

# 5. PRM (hard Monte-Carlo step labels, BCE at each step's separator) and ORM (outcome, last
#    token), each fully fine-tuned from the backbone for 600 steps of 64 chains
train prm --init "$out/backbone" --out "$out/prm" --target hard --steps 600 --warmup 50 --lr 3e-4 --seed 0 --eval-every 100 --save-every 100 --log-every 25
train orm --init "$out/backbone" --out "$out/orm" --steps 600 --warmup 50 --lr 3e-4 --seed 0 --eval-every 100 --save-every 100 --log-every 25

# 6. AUROCs on all 8000 held-out chains, and the plain transformers forward pass on 20 of them
#    (the committed references of test/demo/data)
"$py" "$here/train.py" eval --data "$data" --eval-limit 100000 --prm "$out/prm" --orm "$out/orm" | tee "$out/eval.json"
"$py" "$here/reference.py" --prm "$out/prm" --chains "$data/eval.jsonl" --count 20 --out "$out/prm-reference.json"
"$py" "$here/reference.py" --orm "$out/orm" --chains "$data/eval.jsonl" --count 20 --out "$out/orm-reference.json"

# 7. the demo folders (models/demo in the repository)
node "$here/../../../dist/cli/main.js" convert "$out/prm" "$out/demo/prm" --format trl --separator '\n' --dtype int8 --int8-form blockwise --force
node "$here/../../../dist/cli/main.js" convert "$out/orm" "$out/demo/orm" --format plain-orm --dtype int8 --int8-form blockwise --force

# 8. heads on the frozen backbone, with prmkit train (no Python): the backbone converted without
#    a head, then an MLP and a linear head each for the PRM (hard MC labels) and the ORM (outcome)
#    on the first 20k training chains; the folder's active head is the PRM's MLP
prmkit() { node "$here/../../../dist/cli/main.js" "$@"; }
prmkit convert "$out/backbone" "$out/demo/backbone" --backbone --format trl --dtype float16 --force
node "$here/head-data.mjs" "$data" 20000
heads() { prmkit train -m "$out/demo/backbone" --batch-size 1024 --patience 5 --force "$@"; }
heads --cache "$out/heads-cache-orm" --data "$data/heads-orm.jsonl" --kind orm --name orm --head mlp --lr 0.003 --epochs 60 --no-activate
heads --cache "$out/heads-cache-orm" --data "$data/heads-orm.jsonl" --kind orm --name orm-linear --head linear --lr 0.01 --epochs 40 --no-activate
heads --cache "$out/heads-cache-prm" --data "$data/heads-prm.jsonl" --name prm-linear --head linear --lr 0.01 --epochs 40 --no-activate
heads --cache "$out/heads-cache-prm" --data "$data/heads-prm.jsonl" --name prm --head mlp --lr 0.003 --epochs 40
# 9. the backbone as committed: block-wise int8 like the demo PRM and ORM (every model file under
#    2 MB); --force onto the same checkpoint keeps the heads fitted on its float16 form
prmkit convert "$out/backbone" "$out/demo/backbone" --backbone --format trl --dtype int8 --int8-form blockwise --force
