"""Local generation with Hugging Face transformers (the ``hf`` backend)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from emoclassic.augment.backend import DEFAULT_MODEL, GenerationError
from emoclassic.errors import require

__all__ = ["HFGenerator"]

log = logging.getLogger(__name__)


class HFGenerator:
    """Sample rephrasings from a causal LM through its chat template.

    The model loads when the generator is created, so a wrong model id fails
    at once with one :class:`~emoclassic.augment.backend.GenerationError`
    line. On a machine with a CUDA GPU it runs there in bfloat16 (float16
    where bf16 is unsupported), moved there with ``.to(device)``; otherwise on
    the CPU in float32. Prompts are generated in batches with left padding
    (decoder-only models continue from the right end of each row).

    Parameters
    ----------
    model : str, default="meta-llama/Llama-3.2-1B-Instruct"
        A Hugging Face Hub model id or a local folder with a causal LM and
        its tokenizer. Gated models such as Llama need ``huggingface-cli
        login`` (or ``HF_TOKEN``) once.
    batch_size : int, default=16
        Prompts per ``generate`` call.
    temperature : float, default=0.9
        Sampling temperature; ``0`` means greedy decoding.
    top_p : float, default=0.95
        Nucleus sampling mass.
    max_new_tokens : int, default=128
        Generation length limit; texts cut by it are usually rejected as
        unfinished sentences.
    device : str or None
        Force a device (``"cpu"``, ``"cuda"``); ``None`` picks the GPU when
        there is one.

    Notes
    -----
    ``generate(prompts, n, seed)`` seeds torch with ``seed`` before sampling,
    so the same prompts, batch and seed give the same texts.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = 16,
        temperature: float = 0.9,
        top_p: float = 0.95,
        max_new_tokens: int = 128,
        device: str | None = None,
    ) -> None:
        torch = require("torch", "augment")
        transformers = require("transformers", "augment")
        self.model_name = str(model)
        self.batch_size = batch_size
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if device.startswith("cuda"):
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = torch.float32
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_name)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(
                self.model_name, dtype=dtype
            )
        except Exception as exc:  # hub, file and config errors come in many types
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GenerationError(f"cannot load model {self.model_name!r}: {reason}") from None
        self.model.to(device)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.tokenizer.chat_template is None:
            log.warning("%s has no chat template; prompts are sent as plain text", model)
        log.info("loaded %s on %s (%s)", self.model_name, device, dtype)

    def format_prompt(self, prompt: str) -> str:
        """Wrap one user message in the model's chat template (with the assistant cue)."""
        if self.tokenizer.chat_template is None:
            return prompt
        return self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )

    def generate(self, prompts: Sequence[str], n: int, seed: int) -> list[list[str]]:
        """Sample ``n`` texts per prompt, ``batch_size`` prompts per model call."""
        import torch

        torch.manual_seed(seed)
        results: list[list[str]] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = [self.format_prompt(p) for p in prompts[start : start + self.batch_size]]
            encoded = self.tokenizer(
                chunk, return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.device)
            if self.temperature > 0:
                sampling = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p}
                per_prompt = n
            else:  # greedy decoding has one answer per prompt; the loop accepts fewer
                sampling = {"do_sample": False}
                per_prompt = 1
            with torch.inference_mode():
                output = self.model.generate(
                    **encoded,
                    **sampling,
                    max_new_tokens=self.max_new_tokens,
                    num_return_sequences=per_prompt,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            results += [texts[i * per_prompt : (i + 1) * per_prompt] for i in range(len(chunk))]
        return results
