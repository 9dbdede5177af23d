#!/usr/bin/env bash
# Augment through an OpenAI-compatible server. Start the server first, for example:
#   vllm serve meta-llama/Llama-3.2-1B-Instruct --port 8000
# (Ollama: --base-url http://127.0.0.1:11434/v1 --model llama3.2:1b)
# A key, if the server wants one, is read from $OPENAI_API_KEY (see --api-key-env).
set -euo pipefail
emoclassic augment \
    --threshold 0.015 \
    --backend openai \
    --base-url "${BASE_URL:-http://127.0.0.1:8000/v1}" \
    --model "${MODEL:-meta-llama/Llama-3.2-1B-Instruct}" \
    --concurrency 32 --batch-size 64 --timeout 60 --retries 3 \
    --temperature 0.9 --top-p 0.95 --max-new-tokens 128 \
    --max-iterations 50 --target-factor 1.5 --seed 42 \
    --out data/goemotions-augmented \
    "$@"
