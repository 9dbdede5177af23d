#!/usr/bin/env bash
# Augment the GoEmotions labels under 1.5% of the training rows with a local model.
# Needs: pip install 'emoclassic[augment]' and, for the gated Llama, `huggingface-cli login`.
# Extra options (for example --prompt-file augment/my_prompt.txt) are passed through.
set -euo pipefail
emoclassic augment \
    --threshold 0.015 \
    --backend hf \
    --model meta-llama/Llama-3.2-1B-Instruct \
    --batch-size 16 --temperature 0.9 --top-p 0.95 --max-new-tokens 128 \
    --max-iterations 50 --target-factor 1.5 --seed 42 \
    --out data/goemotions-augmented \
    "$@"
