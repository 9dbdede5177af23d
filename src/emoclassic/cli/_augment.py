"""``emoclassic augment``: rephrase rare-emotion examples with an LLM and publish a dataset."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from emoclassic.cli._common import (
    add_data_arguments,
    input_file,
    integer,
    load_data,
    non_negative_float,
    number,
    positive_float,
    positive_int,
    seed,
    share_or_one,
    whole_number,
)

DEFAULT_OUT = Path("data") / "goemotions-augmented"


def add_parser(subparsers) -> None:
    """Register the ``augment`` subcommand."""
    parser = subparsers.add_parser(
        "augment",
        help="rephrase examples of rare emotions with an LLM and write a dataset",
        description="Find the labels under --threshold of the training rows, ask an instruct "
        "LLM to rephrase their examples, keep the outputs that pass the quality filters and "
        "write a Hugging Face dataset (augmented train, original validation and test). "
        "Generations are cached as they arrive: rerun the same command to resume.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  emoclassic augment --threshold 0.015\n"
        "  emoclassic augment --model smollm2-135m          # offline, CPU, llama.cpp\n"
        "  emoclassic augment --model path/to/model.gguf\n"
        "  emoclassic augment --backend openai --base-url http://127.0.0.1:8000/v1 \\\n"
        "      --model meta-llama/Llama-3.2-1B-Instruct --concurrency 32",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--limit", type=positive_int, default=None, help="use only the first N training rows"
    )
    parser.add_argument(
        "--threshold",
        type=number,
        default=0.015,
        help="augment labels under this share of training rows, between 0 and 1 (default: 0.015)",
    )
    _add_generation_arguments(parser.add_argument_group("generation"))
    _add_loop_arguments(parser.add_argument_group("loop"))
    _add_filter_arguments(parser.add_argument_group("prompt and filters"))
    _add_output_arguments(parser.add_argument_group("output"))
    parser.set_defaults(run=run)


def _add_generation_arguments(gen: argparse._ArgumentGroup) -> None:
    from emoclassic.augment.backend import DEFAULT_MODEL
    from emoclassic.augment.factory import BACKENDS
    from emoclassic.augment.models import OFFLINE_MODELS

    gen.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="auto",
        help="auto (default): llamacpp for GGUF models when xllamacpp is installed, else hf",
    )
    gen.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"Hub id or local folder (hf), a .gguf file, a named offline model "
        f"({', '.join(OFFLINE_MODELS)}), or a served model name (openai); "
        f"default: {DEFAULT_MODEL}",
    )
    gen.add_argument(
        "--base-url",
        default="http://127.0.0.1:8000/v1",
        help="OpenAI-compatible server, up to /v1 (default: http://127.0.0.1:8000/v1)",
    )
    gen.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the server's API key (default: OPENAI_API_KEY; "
        "unset means no key)",
    )
    gen.add_argument("--device", default=None, help="hf: force a device (default: GPU if any)")
    gen.add_argument(
        "--batch-size", type=positive_int, default=32, help="prompts per generate call (32)"
    )
    gen.add_argument(
        "--parallel",
        type=positive_int,
        default=8,
        help="llamacpp: sequences decoded at once (default: 8)",
    )
    gen.add_argument(
        "--temperature", type=non_negative_float, default=0.7, help="0 = greedy (default: 0.7)"
    )
    gen.add_argument("--top-p", type=share_or_one, default=0.95, help="default: 0.95")
    gen.add_argument("--max-new-tokens", type=positive_int, default=64, help="default: 64")
    gen.add_argument(
        "--concurrency", type=positive_int, default=8, help="openai: requests in flight (8)"
    )
    gen.add_argument(
        "--timeout",
        type=positive_float,
        default=60.0,
        help="openai: seconds to connect or to wait for the next bytes of an answer, per "
        "attempt (60)",
    )
    gen.add_argument(
        "--retries",
        type=whole_number(0),
        default=3,
        help="openai: retries per failed request (3)",
    )


def _add_loop_arguments(loop: argparse._ArgumentGroup) -> None:
    loop.add_argument(
        "--max-iterations",
        type=integer,
        default=50,
        help="iteration limit, at least 1 (default: 50)",
    )
    loop.add_argument(
        "--target-factor",
        type=number,
        default=1.5,
        help="each iteration aims to multiply a rare label's count by this, above 1 (default: 1.5)",
    )
    loop.add_argument(
        "--seed", type=seed, default=42, help="fixes picks and sampling (default: 42)"
    )


def _add_filter_arguments(filters: argparse._ArgumentGroup) -> None:
    filters.add_argument(
        "--prompt-file", type=input_file, default=None, help="prompt template (default: built in)"
    )
    filters.add_argument(
        "--forbidden-file",
        type=input_file,
        default=None,
        help="forbidden phrases (default: built in)",
    )
    filters.add_argument("--min-words", type=integer, default=3, help="default: 3")
    filters.add_argument("--max-words", type=integer, default=100, help="default: 100")
    filters.add_argument(
        "--min-overlap",
        type=number,
        default=0.3,
        help="least content-word overlap with the source, 0-1; 0 = off (default: 0.3)",
    )
    filters.add_argument(
        "--min-meaning",
        type=number,
        default=0.7,
        help="least cosine between a generation and its source under the sentence encoder, "
        "-1 to 1; 0 = off (default: 0.7)",
    )
    filters.add_argument(
        "--meaning-model",
        default="minilm",
        help="sentence encoder for --min-meaning: minilm (offline copy of "
        "sentence-transformers/all-MiniLM-L6-v2 when installed), a Hub id or a folder "
        "(default: minilm)",
    )
    filters.add_argument(
        "--similarity",
        type=number,
        default=85.0,
        help="near-duplicate cutoff, rapidfuzz ratio in (0, 100] (default: 85)",
    )


def _add_output_arguments(output: argparse._ArgumentGroup) -> None:
    output.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"dataset folder (default: {DEFAULT_OUT})"
    )
    output.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="generation cache, JSONL (default: OUT.cache.jsonl beside the dataset folder); "
        "a regular file outside OUT, which is replaced as a whole",
    )
    output.add_argument(
        "--push-to-hub", metavar="REPO", default=None, help="also publish to this Hub dataset repo"
    )
    output.add_argument("--private", action="store_true", help="make the Hub repo private")
    output.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Select, generate, filter, write (and push)."""
    from emoclassic.augment.cache import GenerationCache
    from emoclassic.augment.loop import AugmentSettings, augment_split
    from emoclassic.augment.prompts import PromptTemplate
    from emoclassic.augment.report import format_summary
    from emoclassic.augment.selection import format_minority_table, require_minority_labels

    cache_path = args.cache or args.out.with_name(f"{args.out.name}.cache.jsonl")
    check_outputs(args.out, cache_path)  # fail now, not after loading or generating
    settings = AugmentSettings(
        threshold=args.threshold,
        max_iterations=args.max_iterations,
        target_factor=args.target_factor,
        seed=args.seed,
    )
    template = PromptTemplate.from_file(args.prompt_file)
    quality = _quality_filter(args, template)
    dataset = load_data(args)
    if args.limit is not None:
        dataset = dataset.limit_train(args.limit)
    print(dataset.summary())
    minority = require_minority_labels(dataset.train.labels, dataset.label_names, args.threshold)
    print(format_minority_table(minority, len(dataset.train), args.threshold))
    sys.stdout.flush()
    quality = _with_encoder(quality, args.meaning_model)
    backend = _backend(args)
    cache = GenerationCache(cache_path)
    print(f"model {backend.model_name}; cache {cache_path} ({len(cache):,} generations)")
    sys.stdout.flush()
    result = augment_split(
        dataset.train,
        dataset.label_names,
        backend,
        template=template,
        quality=quality,
        settings=settings,
        cache=cache,
        progress=False if args.no_progress else None,
    )
    print()
    print(format_summary(result))
    print(
        f"stopped after {result.iterations} iteration(s): {result.stop_reason}; "
        f"{result.from_backend:,} new generations, {result.from_cache:,} from the cache"
    )
    return _publish(args, dataset, result, settings, backend.model_name, template, quality)


def _quality_filter(args: argparse.Namespace, template):
    from emoclassic.augment.filters import QualityFilter, load_forbidden_phrases

    return QualityFilter(
        min_words=args.min_words,
        max_words=args.max_words,
        forbidden=load_forbidden_phrases(args.forbidden_file),
        min_overlap=args.min_overlap,
        similarity=args.similarity,
        min_meaning=args.min_meaning,
        instructions=template.instructions,
    )


def _with_encoder(quality, meaning_model: str):
    """Load the sentence encoder of the meaning filter, when that filter is on."""
    if quality.min_meaning <= 0:
        return quality
    from emoclassic.augment.meaning import SentenceEncoder

    return dataclasses.replace(quality, encoder=SentenceEncoder(meaning_model))


def _backend(args: argparse.Namespace):
    """Build the generator backend; each backend takes the options that are its own."""
    from emoclassic.augment.factory import choose_backend, make_backend

    name = choose_backend(args.model) if args.backend == "auto" else args.backend
    return make_backend(
        name,
        model=args.model,
        batch_size=args.batch_size,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        parallel=args.parallel,
        device=args.device,
        base_url=args.base_url,
        api_key=os.environ.get(args.api_key_env) or None,
        concurrency=args.concurrency,
        timeout=args.timeout,
        retries=args.retries,
        drop_unused=True,
    )


def check_outputs(out: Path, cache: Path) -> None:
    """Refuse an output folder or cache file that the run could not write, before any work.

    The dataset folder ``out`` is replaced as a whole when the run ends, so the
    cache must not lie inside it (it would be lost, and its presence makes the
    folder one emoclassic did not write). The cache is appended to as the
    generations arrive: it must be a regular file (or not exist yet), never a
    FIFO or a device.
    """
    from emoclassic.atomic import (
        check_output_file,
        check_replaceable_folder,
        check_writable_parent,
    )
    from emoclassic.errors import UsageError

    check_replaceable_folder(out)
    if cache.is_dir():
        raise UsageError(f"{cache}: the generation cache is a folder; give a file path")
    if cache.resolve().is_relative_to(out.resolve()):
        raise UsageError(
            f"{cache}: the generation cache (--cache) lies inside the output folder {out}, "
            "which is replaced as a whole; give a path outside it"
        )
    check_output_file(cache)  # a FIFO, a device, an unwritable folder, too long a name
    check_writable_parent(out)
    if cache.exists() and not os.access(cache, os.R_OK | os.W_OK):
        raise UsageError(f"{cache}: the generation cache cannot be read and written")


def _publish(args, dataset, result, settings, model_name, template, quality) -> int:
    from emoclassic.augment.publish import (
        build_dataset_dict,
        dataset_card,
        push_to_hub,
        write_dataset,
    )

    dataset_dict = build_dataset_dict(dataset, result)
    card = dataset_card(
        dataset,
        result,
        settings=settings,
        model=model_name,
        prompt=template.text,
        filters=quality.describe(),
        split_sizes={name: len(split) for name, split in dataset_dict.items()},
    )
    write_dataset(dataset_dict, args.out, card)
    sizes = ", ".join(f"{name} {len(split):,}" for name, split in dataset_dict.items())
    print(f"wrote {args.out} ({sizes}; {len(result.kept):,} synthetic train rows)")
    if args.push_to_hub:
        url = push_to_hub(dataset_dict, args.push_to_hub, card, private=args.private)
        print(f"pushed to {url}")
    return 0
