#!/usr/bin/env bash
# Offline augmentation on a CPU: SmolLM2-135M-Instruct (GGUF) through llama.cpp.
# Needs: pip install 'emoclassic[augment,offline-llm]'
# A 135M stand-in for Llama-3.2-1B-Instruct: see the audit in docs/augmentation.md first.
set -euo pipefail
emoclassic augment --threshold 0.015 --model smollm2-135m "$@"
