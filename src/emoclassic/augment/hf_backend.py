"""Local generation with Hugging Face transformers (the ``hf`` backend)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from emoclassic.augment.backend import DEFAULT_MODEL, GenerationError
from emoclassic.augment.models import resolve_model
from emoclassic.errors import first_line, require

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
        login`` (or ``HF_TOKEN``) once. A ``.gguf`` file or a named offline
        model (``"smollm2-135m"``) is read with ``gguf_file=`` (needs the
        ``gguf`` package; dequantising takes 30-45 s on a CPU).
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
    transformers samples a whole batch from one random stream, so
    ``generate(prompts, seeds)`` seeds torch from all the batch's seeds: the
    same prompts in the same batch give the same texts. (The ``llamacpp`` and
    ``openai`` backends seed each prompt on its own.)
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
        resolved = resolve_model(self.model_name)
        if resolved.is_gguf:
            require("gguf", "offline-llm")
            where, extra = str(resolved.gguf.parent), {"gguf_file": resolved.gguf.name}
        else:
            where, extra = self.model_name, {}
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(where, **extra)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(
                where, dtype=dtype, **extra
            )
        except Exception as exc:  # hub, file and config errors come in many types
            reason = first_line(exc)
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

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str | None]:
        """Sample one text per prompt, ``batch_size`` prompts per model call."""
        import torch

        if len(prompts) != len(seeds):
            raise ValueError("prompts and seeds must have the same length")
        results: list[str | None] = []
        for start in range(0, len(prompts), self.batch_size):
            stop = start + self.batch_size
            chunk = [self.format_prompt(p) for p in prompts[start:stop]]
            torch.manual_seed(hash_seeds(seeds[start:stop]))
            encoded = self.tokenizer(
                chunk, return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.device)
            if self.temperature > 0:
                sampling = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p}
            else:
                sampling = {"do_sample": False}
            with torch.inference_mode():
                output = self.model.generate(
                    **encoded,
                    **sampling,
                    max_new_tokens=self.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            results += self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return results


def hash_seeds(seeds: Sequence[int]) -> int:
    """Fold a batch's seeds into one 63-bit torch seed.

    Examples
    --------
    >>> hash_seeds([1, 2]) == hash_seeds([1, 2]) != hash_seeds([2, 1])
    True
    """
    import hashlib

    digest = hashlib.sha256(",".join(map(str, seeds)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1
