"""The Tinker backend: the RL loop's model lives on Thinking Machines' hosted LoRA service.

Built on the official ``tinker`` SDK (>= 0.38, where creating a client returns a future). One
:class:`TinkerBackend` holds

* a LoRA ``TrainingClient`` of the configured rank on ``config.model_name``;
* a ``SamplingClient`` on a snapshot of the *current* weights, made once per weight update
  (``save_weights_and_get_sampling_client``) and reused for every sampling call until the next
  update;
* a ``SamplingClient`` on the frozen base model, made on first use, for the KL reference
  log-probabilities.

Everything the service does is asynchronous: every group of a batch is submitted before any is
awaited, ``forward_backward`` and ``optim_step`` are submitted back to back, and
:meth:`TinkerBackend.sample_async` lets a caller start sampling batch n+1 before it trains on
batch n (one step off-policy; :meth:`TinkerBackend.train_step` reports the staleness).

Transient API failures (connection errors, timeouts, 408/409/429/5xx, server-side request
failures) are retried with exponential backoff and logged; anything else is raised at once.

Without credentials :func:`create` raises :class:`MissingTinkerKeyError` before it does any
other work, and a service that refuses to start the run (an unsupported model or LoRA rank, an
unreachable ``base_url``) raises :class:`TinkerStartupError`; both messages are the one line a
command-line front end should print.

Self-hosted Tinker-compatible servers (SkyRL's ``skyrl.tinker.api``, reached with ``base_url``)
work too; where such a server predates an SDK feature the backend relies on
(``prompt_logprobs_last_n`` for the KL reference), the backend falls back to the older request.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

from trainers.backend import PromptSpec, Sample
from trainers.renderers import Renderer, get_renderer

if TYPE_CHECKING:
    import tinker

__all__ = [
    "MissingTinkerKeyError",
    "PendingSamples",
    "RetryPolicy",
    "TinkerBackend",
    "TinkerStartupError",
    "build_datum",
    "create",
    "is_transient",
    "require_tinker_key",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

LOSS_FN: Final = "importance_sampling"
"""Tinker's built-in policy-gradient loss: ``-sum(exp(logp - sampler_logp) * advantage)``."""


class MissingTinkerKeyError(RuntimeError):
    """No usable Tinker credential; the message is a single line naming ``TINKER_API_KEY``."""


class TinkerStartupError(RuntimeError):
    """The service refused or failed to start the run; the message is a single line."""


def require_tinker_key() -> None:
    """Fail fast, locally, when the Tinker SDK has no credential to use.

    ``TINKER_API_KEY`` wins when set and must look like a Tinker key (``tml-...``; the SDK also
    accepts a signed ``eyJ...`` token). Otherwise a credential stored by ``tinker auth login`` or
    a ``TINKER_CREDENTIAL_CMD`` is accepted, as the SDK itself would.
    """
    key = os.environ.get("TINKER_API_KEY", "").strip()
    if key:
        if not key.startswith(("tml-", "eyJ")):
            raise MissingTinkerKeyError(
                "TINKER_API_KEY is set but is not a Tinker API key (it must start with 'tml-')"
            )
        return
    import tinker.auth

    if not tinker.auth.tinker_has_credentials():
        raise MissingTinkerKeyError(
            "TINKER_API_KEY is not set: export TINKER_API_KEY=tml-... "
            "(or run `tinker auth login`) to use backend=tinker"
        )


# --------------------------------------------------------------------------------------------
# Retries


def is_transient(error: BaseException) -> bool:
    """Whether an SDK error is worth retrying (the SDK's own rule, plus server-side failures)."""
    import tinker

    if isinstance(error, (TimeoutError, tinker.APIConnectionError)):
        return True
    if isinstance(error, tinker.APIStatusError):
        code = error.status_code
        return code in (408, 409, 429) or 500 <= code < 600
    if isinstance(error, tinker.RequestFailedError):
        return str(error.category).lower() in ("server", "unknown")
    return False


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter for transient API failures."""

    max_attempts: int = 6
    """Attempts in all (the first try included) before the error is raised."""
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    jitter: float = 0.25
    """Each delay is multiplied by a uniform factor in ``[1 - jitter, 1 + jitter]``."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    retries: int = field(default=0, init=False)
    """Retries made so far (logged as ``tinker/retries``)."""

    def delay(self, attempt: int) -> float:
        base = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)

    def run(self, what: str, call: Callable[[], T]) -> T:
        """Run ``call`` (which submits a request *and* waits for it), retrying transient errors."""
        attempt = 1
        while True:
            try:
                return call()
            except Exception as error:
                if not is_transient(error) or attempt >= self.max_attempts:
                    raise
                wait = self.delay(attempt)
                self.retries += 1
                logger.warning(
                    "tinker %s failed (attempt %d/%d: %s: %s); retrying in %.1fs",
                    what,
                    attempt,
                    self.max_attempts,
                    type(error).__name__,
                    error,
                    wait,
                )
                self.sleep(wait)
                attempt += 1


def _await_or_resubmit(
    policy: RetryPolicy,
    what: str,
    future: tinker.APIFuture[T],
    submit: Callable[[], tinker.APIFuture[T]],
) -> T:
    """Wait for an already submitted request; on a transient failure resubmit it with backoff."""
    try:
        return future.result()
    except Exception as error:
        if not is_transient(error) or policy.max_attempts <= 1:
            raise
        wait = policy.delay(1)
        policy.retries += 1
        logger.warning(
            "tinker %s failed (%s: %s); resubmitting in %.1fs",
            what,
            type(error).__name__,
            error,
            wait,
        )
        policy.sleep(wait)
    return policy.run(what, lambda: submit().result())


def _await_all(
    policy: RetryPolicy,
    what: str,
    futures: Sequence[tinker.APIFuture[T]],
    submits: Sequence[Callable[[], tinker.APIFuture[T]]],
) -> list[T]:
    """Wait for already submitted requests, resubmitting the ones that fail transiently.

    On a permanent failure the remaining requests are still waited for (their results
    dropped) before the first error is raised, so nothing is left running in the background.
    """
    results: list[T] = []
    first_error: BaseException | None = None
    for future, submit in zip(futures, submits, strict=True):
        if first_error is not None:
            try:
                future.result()
            except Exception as error:
                logger.debug("dropping the outcome of a %s after an earlier error: %s", what, error)
            continue
        try:
            results.append(_await_or_resubmit(policy, what, future, submit))
        except Exception as error:
            first_error = error
    if first_error is not None:
        raise first_error
    return results


def _gather(
    policy: RetryPolicy, what: str, submits: Sequence[Callable[[], tinker.APIFuture[T]]]
) -> list[T]:
    """Submit every request first, then wait for each (see :func:`_await_all`)."""
    return _await_all(policy, what, [submit() for submit in submits], submits)


# --------------------------------------------------------------------------------------------
# Datums


def build_datum(
    prompt_tokens: Sequence[int],
    tokens: Sequence[int],
    logprobs: Sequence[float],
    advantages: Sequence[float],
) -> tinker.Datum:
    """One ``importance_sampling`` datum for a sampled completion.

    The full sequence is ``prompt + completion``; the model reads ``full[:-1]`` and is scored on
    ``full[1:]``. Target ``j`` is completion token ``j - (len(prompt) - 1)``, so the first
    ``len(prompt) - 1`` targets are prompt tokens: they get sampler logprob 0 and advantage 0
    (no gradient), and the rest carry the sampler's logprob and the advantage of that token.
    """
    import numpy as np
    import tinker

    n_prompt, n_gen = len(prompt_tokens), len(tokens)
    if n_prompt < 1:
        raise ValueError("a datum needs at least one prompt token")
    if not (n_gen == len(logprobs) == len(advantages)):
        raise ValueError(
            f"tokens/logprobs/advantages lengths differ: {n_gen}/{len(logprobs)}/{len(advantages)}"
        )
    full = [*prompt_tokens, *tokens]
    pad = n_prompt - 1
    target_tokens_T = np.asarray(full[1:], dtype=np.int64)
    logprobs_T = np.concatenate([np.zeros(pad), np.asarray(logprobs, dtype=np.float64)])
    advantages_T = np.concatenate([np.zeros(pad), np.asarray(advantages, dtype=np.float64)])
    return tinker.Datum(
        model_input=tinker.ModelInput.from_ints(full[:-1]),
        loss_fn_inputs={
            "target_tokens": tinker.TensorData.from_numpy(target_tokens_T),
            "logprobs": tinker.TensorData.from_numpy(logprobs_T.astype(np.float32)),
            "advantages": tinker.TensorData.from_numpy(advantages_T.astype(np.float32)),
        },
    )


# --------------------------------------------------------------------------------------------
# The backend


class PendingSamples:
    """Sampling requests already submitted to Tinker; :meth:`result` waits for all of them."""

    def __init__(
        self,
        backend: TinkerBackend,
        prompt_tokens: list[list[int]],
        futures: list[tinker.APIFuture[tinker.SampleResponse]],
        resubmit: list[Callable[[], tinker.APIFuture[tinker.SampleResponse]]],
        num_samples: int,
        policy_version: int,
    ) -> None:
        self._backend = backend
        self._prompt_tokens = prompt_tokens
        self._futures = futures
        self._resubmit = resubmit
        self._num_samples = num_samples
        self.policy_version = policy_version
        """The backend's ``weights_version`` when the requests were submitted."""
        self._result: list[list[Sample]] | None = None

    def result(self) -> list[list[Sample]]:
        """One list of ``num_samples`` samples per prompt, in prompt order."""
        if self._result is None:
            responses = _await_all(self._backend.retry, "sample", self._futures, self._resubmit)
            self._result = [
                self._backend._to_samples(prompt, response, self._num_samples, self.policy_version)
                for prompt, response in zip(self._prompt_tokens, responses, strict=True)
            ]
        return self._result


class TinkerBackend:
    """:class:`trainers.backend.Backend` on a Tinker LoRA training client."""

    def __init__(
        self,
        service_client: tinker.ServiceClient,
        training_client: tinker.TrainingClient,
        renderer: Renderer,
        *,
        model_name: str,
        learning_rate: float,
        retry: RetryPolicy | None = None,
        sampling_seed: int | None = None,
    ) -> None:
        self.service_client = service_client
        self.training_client = training_client
        self.renderer = renderer
        self.model_name = model_name
        self.learning_rate = learning_rate
        self.retry = retry or RetryPolicy()
        self.sampling_seed = sampling_seed
        self.weights_version = 0
        """Bumped by every optimizer step and every load: names the weights samples come from."""
        self._policy_sampler: tinker.SamplingClient | None = None
        self._policy_sampler_version = -1
        self._base_sampler: tinker.SamplingClient | None = None
        self._n_sample_calls = 0
        self._score_whole_prompt = False
        """Set once the server is seen to ignore ``prompt_logprobs_last_n``."""

    # -- sampling --------------------------------------------------------------------------

    def policy_sampler(self) -> tinker.SamplingClient:
        """A sampling client on the current weights (one snapshot per weight version)."""
        if self._policy_sampler is None or self._policy_sampler_version != self.weights_version:
            self._policy_sampler = self.retry.run(
                "save_weights_and_get_sampling_client",
                lambda: self.training_client.save_weights_and_get_sampling_client().result(),
            )
            self._policy_sampler_version = self.weights_version
        return self._policy_sampler

    def base_sampler(self) -> tinker.SamplingClient:
        """A sampling client on the frozen base model (KL reference), created on first use."""
        if self._base_sampler is None:
            self._base_sampler = self.retry.run(
                "create_sampling_client",
                lambda: self.service_client.create_sampling_client(
                    base_model=self.model_name
                ).result(),
            )
        return self._base_sampler

    def sampling_params(self, max_tokens: int, temperature: float) -> tinker.SamplingParams:
        """Sampler settings: stop on the renderer's stop tokens; ``temperature == 0`` is greedy."""
        import tinker

        seed = None
        if self.sampling_seed is not None:
            seed = self.sampling_seed + self._n_sample_calls
        if temperature <= 0:
            # Greedy as top-1 sampling: well defined on any sampler, whatever it does with T=0.
            return tinker.SamplingParams(
                max_tokens=max_tokens,
                temperature=1.0,
                top_k=1,
                stop=self.renderer.stop_token_ids,
                seed=seed,
            )
        return tinker.SamplingParams(
            max_tokens=max_tokens,
            temperature=temperature,
            stop=self.renderer.stop_token_ids,
            seed=seed,
        )

    def sample_async(
        self,
        prompts: Sequence[PromptSpec],
        num_samples: int,
        *,
        max_tokens: int,
        temperature: float,
    ) -> PendingSamples:
        """Submit one request per prompt (``num_samples`` completions each) and return at once.

        The requests are pinned to the weights as they are *now*: calling this before
        :meth:`train_step` samples the next batch while the current one trains.
        """
        import tinker

        if num_samples < 1 or max_tokens < 1:
            raise ValueError("num_samples and max_tokens must be positive")
        sampler = self.policy_sampler()
        params = self.sampling_params(max_tokens, temperature)
        self._n_sample_calls += 1
        prompt_tokens = [
            self.renderer.build_prompt(p.messages, p.assistant_prefix) for p in prompts
        ]

        def submitter(tokens: list[int]) -> Callable[[], tinker.APIFuture[tinker.SampleResponse]]:
            return lambda: sampler.sample(
                prompt=tinker.ModelInput.from_ints(tokens),
                num_samples=num_samples,
                sampling_params=params,
            )

        resubmit = [submitter(tokens) for tokens in prompt_tokens]
        futures = [submit() for submit in resubmit]
        return PendingSamples(
            self, prompt_tokens, futures, resubmit, num_samples, self.weights_version
        )

    def sample(
        self,
        prompts: Sequence[PromptSpec],
        num_samples: int,
        *,
        max_tokens: int,
        temperature: float,
    ) -> list[list[Sample]]:
        """Sample every prompt concurrently from the current weights (see the Backend protocol)."""
        return self.sample_async(
            prompts, num_samples, max_tokens=max_tokens, temperature=temperature
        ).result()

    def _to_samples(
        self,
        prompt_tokens: list[int],
        response: tinker.SampleResponse,
        num_samples: int,
        policy_version: int,
    ) -> list[Sample]:
        if len(response.sequences) != num_samples:
            raise RuntimeError(
                f"Tinker returned {len(response.sequences)} sequences, asked for {num_samples}"
            )
        samples = []
        for seq in response.sequences:
            tokens = [int(t) for t in seq.tokens]
            logprobs = seq.logprobs
            if logprobs is None or len(logprobs) != len(tokens):
                raise RuntimeError("Tinker returned a sequence without one logprob per token")
            text, ended_on_stop = self.renderer.decode_completion(tokens)
            samples.append(
                Sample(
                    prompt_tokens=list(prompt_tokens),
                    tokens=tokens,
                    logprobs=[float(x) for x in logprobs],
                    text=text,
                    stopped=seq.stop_reason == "stop" or ended_on_stop,
                    extra={"policy_version": float(policy_version)},
                )
            )
        return samples

    # -- reference logprobs ----------------------------------------------------------------

    def base_logprobs(self, samples: Sequence[Sample]) -> list[list[float]]:
        """Base-model logprobs of each sample's tokens, all requests in flight at once.

        Only the completion positions are asked for (``prompt_logprobs_last_n``), so the
        service can serve the prompt from its prefix cache. A server that predates that field
        scores the whole prompt, which the SDK refuses as a broken promise; the backend then
        asks that server for whole-prompt logprobs from then on and keeps the suffix.
        """
        todo = [i for i, s in enumerate(samples) if s.tokens]
        try:
            results = self._compute_logprobs([samples[i] for i in todo])
        except RuntimeError as error:
            if self._score_whole_prompt or not _is_unhonoured_last_n(error):
                raise
            logger.warning(
                "the Tinker server ignores prompt_logprobs_last_n (%s); requesting whole-prompt "
                "logprobs for the KL reference from now on",
                error,
            )
            self._score_whole_prompt = True
            results = self._compute_logprobs([samples[i] for i in todo])
        out: list[list[float]] = [[] for _ in samples]
        for i, logprobs in zip(todo, results, strict=True):
            tail = logprobs[-len(samples[i].tokens) :]
            if len(tail) != len(samples[i].tokens) or any(x is None for x in tail):
                raise RuntimeError("Tinker returned no logprob for some sampled token")
            out[i] = [float(x) for x in tail if x is not None]
        return out

    def _compute_logprobs(self, samples: Sequence[Sample]) -> list[list[float | None]]:
        import tinker

        sampler = self.base_sampler()

        def submitter(sample: Sample) -> Callable[[], tinker.APIFuture[list[float | None]]]:
            last_n = None if self._score_whole_prompt else len(sample.tokens)
            return lambda: sampler.compute_logprobs(
                tinker.ModelInput.from_ints([*sample.prompt_tokens, *sample.tokens]),
                prompt_logprobs_last_n=last_n,
            )

        return _gather(self.retry, "compute_logprobs", [submitter(s) for s in samples])

    # -- training --------------------------------------------------------------------------

    def train_step(
        self, samples: Sequence[Sample], advantages: Sequence[Sequence[float]]
    ) -> dict[str, float]:
        """One importance-sampling update: forward_backward + optim_step, submitted together."""
        import tinker

        if len(samples) != len(advantages):
            raise ValueError("one advantage sequence per sample is required")
        pairs = [(s, a) for s, a in zip(samples, advantages, strict=True) if s.tokens]
        metrics: dict[str, float] = {}
        versions = [s.extra.get("policy_version") for s in samples]
        known = [v for v in versions if v is not None]
        if known:
            metrics["tinker/staleness"] = float(self.weights_version - min(known))
        if not pairs:
            logger.warning("train_step called with no sampled tokens; skipping the update")
            return metrics
        data = [build_datum(s.prompt_tokens, s.tokens, s.logprobs, a) for s, a in pairs]
        adam = tinker.AdamParams(learning_rate=self.learning_rate)

        def step() -> tuple[tinker.ForwardBackwardOutput, tinker.OptimStepResponse]:
            fb_future = self.training_client.forward_backward(data, LOSS_FN)
            optim_future = self.training_client.optim_step(adam)
            # Wait for both even when the first fails: no request is left unobserved.
            try:
                fb = fb_future.result()
            except Exception:
                with contextlib.suppress(Exception):
                    optim_future.result()
                raise
            return fb, optim_future.result()

        start = time.monotonic()
        fb, optim = self.retry.run("forward_backward+optim_step", step)
        metrics["time/train_step"] = time.monotonic() - start
        self.weights_version += 1

        n_tokens = sum(len(s.tokens) for s, _ in pairs)
        metrics["optim/n_datums"] = float(len(data))
        metrics["optim/n_tokens"] = float(n_tokens)
        loss_sum = fb.metrics.get("loss:sum")
        if loss_sum is not None:
            metrics["optim/loss"] = float(loss_sum) / max(n_tokens, 1)
        metrics.update(_sampler_trainer_kl(pairs, fb))
        for key, value in (optim.metrics or {}).items():
            metrics[f"optim/{key}"] = float(value)
        metrics["tinker/retries"] = float(self.retry.retries)
        return metrics

    # -- checkpoints -----------------------------------------------------------------------

    def save_state(self, name: str) -> str:
        """Resumable checkpoint (LoRA weights + Adam state); returns ``tinker://.../weights/name``."""
        response = self.retry.run(
            "save_state", lambda: self.training_client.save_state(name).result()
        )
        return response.path

    def load_state(self, path: str) -> None:
        """Resume from a :meth:`save_state` path, optimizer state included.

        The SDK's ``TrainingClient.load_state`` is deprecated; the supported way is a new
        training client created from the checkpoint, which replaces the current one.
        """
        self.training_client = self.retry.run(
            "create_training_client_from_state_with_optimizer",
            lambda: self.service_client.create_training_client_from_state_with_optimizer(
                path
            ).result(),
        )
        self.weights_version += 1  # forces a new sampler snapshot of the loaded weights

    def save_final(self, name: str) -> str:
        """Sampler weights for serving/evaluation; returns ``tinker://.../sampler_weights/name``."""
        response = self.retry.run(
            "save_weights_for_sampler",
            lambda: self.training_client.save_weights_for_sampler(name).result(),
        )
        return response.path

    def close(self) -> None:
        """Mark the Tinker session finished (best effort)."""
        try:
            self.service_client.close("success").result(timeout=30)
        except Exception as error:  # closing must never mask the run's own outcome
            logger.warning("closing the Tinker session failed: %s", error)


def _is_unhonoured_last_n(error: RuntimeError) -> bool:
    """The SDK's error for a server that ignored ``prompt_logprobs_last_n`` (tinker >= 0.38)."""
    text = str(error)
    return "prompt_logprobs_last_n" in text and "before that suffix" in text


def _sampler_trainer_kl(
    pairs: Sequence[tuple[Sample, Sequence[float]]], fb: tinker.ForwardBackwardOutput
) -> dict[str, float]:
    """KL(sampler || trainer) estimates on the sampled tokens (as tinker-cookbook logs them).

    A large value means the sampler and the trainer disagree about the same weights (numerics)
    or the samples are off-policy (pipelining): the importance ratio then does real work.
    """
    if len(fb.loss_fn_outputs) != len(pairs):
        return {}
    diffs: list[float] = []
    for (sample, _), output in zip(pairs, fb.loss_fn_outputs, strict=True):
        train_lp = output.get("logprobs")
        if train_lp is None:
            return {}
        values = train_lp.tolist()
        tail = values[-len(sample.tokens) :]
        diffs.extend(s - t for s, t in zip(sample.logprobs, tail, strict=True))
    if not diffs:
        return {}
    v1 = sum(diffs) / len(diffs)
    v2 = sum(0.5 * d * d for d in diffs) / len(diffs)
    if not (math.isfinite(v1) and math.isfinite(v2)):
        return {}
    return {"optim/kl_sample_train_v1": v1, "optim/kl_sample_train_v2": v2}


def _config_value(config: Any, name: str, default: Any = None) -> Any:
    return getattr(config, name, default)


def _one_line(error: BaseException) -> str:
    """An SDK error as one line: the server's own ``detail`` when it sent one."""
    body = getattr(error, "body", None)
    detail = body.get("detail") if isinstance(body, dict) else None
    status = getattr(error, "status_code", None)
    text = str(detail) if detail else str(error) or type(error).__name__
    text = " ".join(text.split())
    return f"{status}: {text}" if status else text


def create(
    config: Any, *, retry: RetryPolicy | None = None, resume_from: str | None = None
) -> TinkerBackend:
    """Build the Tinker backend for a :class:`trainers.config.TrainConfig`.

    Checks the credential first (:class:`MissingTinkerKeyError`, nothing else done), then
    creates the training client, takes the tokenizer from it and picks the renderer
    (``config.renderer`` when set, else the model's default). The training client is a fresh
    LoRA of ``lora_rank`` seeded with ``seed``, or, with ``resume_from`` (a :meth:`save_state`
    path), the run restored from that state with its optimizer: either way one training run,
    so a resume costs no throwaway LoRA on the service. ``seed`` also seeds sampling.

    Raises :class:`TinkerStartupError` (one line) when the service refuses or fails any of it.
    """
    require_tinker_key()
    import tinker

    model_name: str = config.model_name
    rank = int(_config_value(config, "lora_rank", 16))
    seed = _config_value(config, "seed")
    base_url = _config_value(config, "base_url") or None
    policy = retry or RetryPolicy()
    try:
        service_client = tinker.ServiceClient(
            user_metadata={"project": "mult_env", "model": model_name}, base_url=base_url
        )
        if resume_from:
            training_client = policy.run(
                "create_training_client_from_state_with_optimizer",
                lambda: service_client.create_training_client_from_state_with_optimizer(
                    resume_from
                ).result(),
            )
        else:
            training_client = policy.run(
                "create_lora_training_client",
                lambda: service_client.create_lora_training_client(
                    base_model=model_name, rank=rank, seed=seed
                ).result(),
            )
        tokenizer = training_client.get_tokenizer()
    except tinker.TinkerError as error:
        where = f" at {base_url}" if base_url else ""
        what = f"resume from {resume_from}" if resume_from else f"start a LoRA run on {model_name}"
        raise TinkerStartupError(
            f"the Tinker service{where} could not {what} ({type(error).__name__} "
            f"{_one_line(error)})"
        ) from error
    try:
        renderer = get_renderer(_config_value(config, "renderer"), tokenizer, model_name)
    except ValueError as error:
        raise TinkerStartupError(str(error)) from error
    logger.info(
        "Tinker training client on %s (%s), renderer %s",
        model_name,
        f"resumed from {resume_from}" if resume_from else f"rank {rank}",
        renderer.name,
    )
    return TinkerBackend(
        service_client,
        training_client,
        renderer,
        model_name=model_name,
        learning_rate=float(config.learning_rate),
        retry=policy,
        sampling_seed=None if seed is None else int(seed),
    )
