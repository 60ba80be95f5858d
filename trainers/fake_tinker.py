"""An in-process fake of the Tinker SDK's client objects, strict about the real ``tinker`` types.

The Tinker service cannot be reached from tests, so this module stands in for
``tinker.ServiceClient`` and the ``TrainingClient`` / ``SamplingClient`` objects it hands out.
It is not a mock that records calls: it runs a tiny deterministic language model (a bigram table
of logits over a character-level tokenizer with the ChatML and Llama-3 special tokens), samples
from it with real per-token log-probabilities, trains it with the ``importance_sampling`` loss
and Adam, and saves/loads checkpoints under ``tinker://`` paths. Every request is checked
against the contract the real service enforces or silently relies on, and a violation raises
:class:`ContractViolation`:

* requests carry the real SDK types (``Datum``, ``ModelInput``, ``TensorData``,
  ``SamplingParams``, ``AdamParams``); responses are the real response types;
* a datum's ``model_input`` is ``tokens[:-1]`` and its ``target_tokens`` are ``tokens[1:]``
  (same length, shifted by one), its ``loss_fn_inputs`` are exactly ``target_tokens`` (int64),
  ``logprobs`` and ``advantages`` (float32), all 1-D and as long as the input;
* the sequence was actually sampled by this fake, prompt positions carry zero logprob and zero
  advantage, and the logprobs on completion positions are the sampler's own for those tokens;
* every future handed out is eventually resolved (:meth:`FakeTinker.assert_all_futures_resolved`).

Latency can be injected per operation (:class:`Latency`): sampling requests run concurrently on
a thread pool, training requests run one at a time in submission order, as on the service. Faults
can be injected (:meth:`FakeTinker.fail_next`) to exercise retries.

Use :func:`install` with pytest's ``monkeypatch`` to route ``tinker.ServiceClient`` to the fake.
"""

from __future__ import annotations

import functools
import itertools
import string
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import httpx
import numpy as np
import tinker
from tinker import types
from tinker.lib.public_interfaces.api_future import AwaitableConcurrentFuture

__all__ = [
    "REAL_CLASSES",
    "SPECIAL_TOKENS",
    "BigramLM",
    "ContractViolation",
    "FakeSamplingClient",
    "FakeServiceClient",
    "FakeTinker",
    "FakeTrainingClient",
    "Latency",
    "api_connection_error",
    "bad_request_error",
    "install",
    "internal_server_error",
    "make_tokenizer",
]

T = TypeVar("T")

SPECIAL_TOKENS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|begin_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
)


class ContractViolation(AssertionError):
    """A request that the real Tinker service would reject or mis-train on."""


F = TypeVar("F", bound=Callable[..., Any])


def _api(method: F) -> F:
    """Record each call of a public SDK method (class, name, args, kwargs) on the world, so a
    test can check every call against the real SDK's signatures (see ``REAL_CLASSES``)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._world.api_calls.append((type(self).__name__, method.__name__, args, kwargs))
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@lru_cache(maxsize=1)
def make_tokenizer() -> Any:
    """A character-level Hugging Face fast tokenizer with Qwen3/Llama-3 special tokens.

    Built offline in milliseconds; ``encode``/``decode``/``convert_tokens_to_ids`` and special-token
    handling behave like the real Qwen3 tokenizer's, which is all the renderers rely on.
    """
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    chars = list(dict.fromkeys([*string.printable[:95], "\n"]))
    vocab = {c: i for i, c in enumerate(chars)}
    vocab["<unk>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return np.asarray(z - np.log(np.exp(z).sum(axis=-1, keepdims=True)))


class BigramLM:
    """``logits(next | prev) = base[prev, next] + delta[prev, next]``; ``delta`` is the "LoRA".

    The frozen ``base`` is seeded noise plus a little structure so that completions of
    "The answer is" look like answers: a space after a letter, digits after a space or a digit,
    then a period and the stop token. Base accuracy on 1-digit problems is low but not zero, so
    groups are mixed and RL has signal. ``delta`` starts at zero (LoRA's B = 0) and is what
    ``optim_step`` trains, so the base model stays exactly recoverable for KL references.
    """

    def __init__(self, tokenizer: Any, seed: int) -> None:
        vocab_size = len(tokenizer)
        rng = np.random.default_rng(seed)
        self.base = rng.normal(0.0, 1.0, size=(vocab_size, vocab_size))
        tid = tokenizer.convert_tokens_to_ids
        digits = [tid(d) for d in "0123456789"]
        stops = [tid("<|im_end|>"), tid("<|eot_id|>")]
        letters = [tid(c) for c in string.ascii_letters]
        self.base[:, digits] += 2.0
        self.base[np.ix_(letters, [tid(" ")])] += 8.0
        self.base[np.ix_([tid(" ")], digits)] += 6.0
        self.base[np.ix_(digits, digits)] += 1.5
        self.base[np.ix_(digits, stops)] += 5.0
        self.base[np.ix_(digits, [tid(".")])] += 4.0
        self.base[np.ix_([tid(".")], stops)] += 9.0
        self.vocab_size = vocab_size

    def logprobs_rows(self, delta: np.ndarray, prev: Sequence[int]) -> np.ndarray:
        """Log-softmax rows for each previous token (shape ``[len(prev), V]``)."""
        idx = np.asarray(prev, dtype=np.int64)
        return _log_softmax(self.base[idx] + delta[idx])

    def sequence_logprobs(self, delta: np.ndarray, tokens: Sequence[int]) -> list[float]:
        """``log p(tokens[i] | tokens[i-1])`` for ``i >= 1``."""
        if len(tokens) < 2:
            return []
        rows = self.logprobs_rows(delta, tokens[:-1])
        return rows[np.arange(len(tokens) - 1), np.asarray(tokens[1:])].tolist()


@dataclass
class Latency:
    """Seconds each request spends "on the service" (slept on a worker thread)."""

    sample: float = 0.0
    compute_logprobs: float = 0.0
    forward_backward: float = 0.0
    optim_step: float = 0.0
    save: float = 0.0
    create_client: float = 0.0


class TrackedFuture(AwaitableConcurrentFuture[T]):
    """The SDK's own ``APIFuture`` implementation, remembering whether anyone waited on it."""

    def __init__(self, future: Future[T], what: str) -> None:
        super().__init__(future)
        self.what = what
        self.consumed = False

    def result(self, timeout: float | None = None) -> T:
        self.consumed = True
        return super().result(timeout)


@dataclass
class _Weights:
    delta: np.ndarray
    m: np.ndarray
    v: np.ndarray
    step: int = 0

    def copy(self) -> _Weights:
        return _Weights(self.delta.copy(), self.m.copy(), self.v.copy(), self.step)


@dataclass
class _Checkpoint:
    kind: str  # "weights" | "sampler_weights"
    model_name: str
    lora_rank: int
    weights: _Weights


@dataclass
class _SampledRecord:
    prompt_len: int
    logprobs: list[float]


@dataclass
class FakeTinker:
    """The fake service: shared state of every client created through :func:`install`."""

    latency: Latency = field(default_factory=Latency)
    seed: int = 0
    honours_prompt_logprobs_last_n: bool = True
    """False: behave like a server that predates ``prompt_logprobs_last_n`` (SkyRL 0.4.0): it
    scores the whole prompt, and the SDK raises the error it raises for that."""
    tokenizer: Any = field(default_factory=make_tokenizer)
    futures: list[TrackedFuture[Any]] = field(default_factory=list)
    checkpoints: dict[str, _Checkpoint] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    """Every request submitted, by SDK method name, in order (for checks of submission order)."""
    api_calls: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    """Every public SDK method called on a fake client: ``(class, method, args, kwargs)``."""
    sampled: dict[tuple[int, ...], _SampledRecord] = field(default_factory=dict)
    train_datums: int = 0
    service_clients: list[FakeServiceClient] = field(default_factory=list)
    _failures: dict[str, list[BaseException]] = field(default_factory=dict)
    _poisoned_optim: BaseException | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _run_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _seq_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sample_rng_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.model = BigramLM(self.tokenizer, self.seed)
        self.sample_pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="fake-sample")
        # One worker: training requests execute in submission order, like the service's turns.
        self.train_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-train")

    # -- plumbing -----------------------------------------------------------------------------

    def fail_next(self, method: str, *errors: BaseException) -> None:
        """The next ``len(errors)`` calls of ``method`` fail with these errors (in order)."""
        self._failures.setdefault(method, []).extend(errors)

    def _submit(
        self, method: str, fn: Callable[[], T], *, pool: ThreadPoolExecutor | None, delay: float
    ) -> TrackedFuture[T]:
        with self._lock:
            self.calls.append(method)
            failures = self._failures.get(method)
            error = failures.pop(0) if failures else None

        def run() -> T:
            if delay:
                time.sleep(delay)
            if error is not None:
                if method == "forward_backward":
                    # The service orders a run's requests: the optim_step paired with a failed
                    # forward_backward fails too, and nothing is applied.
                    self._poisoned_optim = error
                raise error
            if method == "optim_step" and self._poisoned_optim is not None:
                poisoned, self._poisoned_optim = self._poisoned_optim, None
                raise poisoned
            return fn()

        if pool is None:
            future: Future[T] = Future()
            try:
                future.set_result(run())
            except BaseException as exc:
                future.set_exception(exc)
        else:
            future = pool.submit(run)
        tracked = TrackedFuture(future, method)
        with self._lock:
            self.futures.append(tracked)
        return tracked

    def assert_all_futures_resolved(self) -> None:
        """Every future handed out finished and was waited on (none leaked or dropped)."""
        pending = [f.what for f in self.futures if not f.future().done()]
        unread = [f.what for f in self.futures if not f.consumed]
        if pending or unread:
            raise ContractViolation(f"futures pending: {pending}; never waited on: {unread}")

    def new_weights(self) -> _Weights:
        shape = (self.model.vocab_size, self.model.vocab_size)
        return _Weights(np.zeros(shape), np.zeros(shape), np.zeros(shape))

    def new_run_id(self) -> str:
        return f"fake-{next(self._run_ids):04d}:train:0"

    def register_sample(self, full: list[int], prompt_len: int, logprobs: list[float]) -> None:
        with self._lock:
            self.sampled[tuple(full)] = _SampledRecord(prompt_len, logprobs)

    def shutdown(self) -> None:
        self.sample_pool.shutdown(wait=True)
        self.train_pool.shutdown(wait=True)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def _tokens_of(model_input: Any) -> list[int]:
    _check(isinstance(model_input, tinker.ModelInput), "model_input must be a tinker.ModelInput")
    _check(
        all(isinstance(c, types.EncodedTextChunk) for c in model_input.chunks),
        "only EncodedTextChunk inputs are supported for text models",
    )
    tokens: list[int] = model_input.to_ints()
    return tokens


def _resolve_stop(stop: Any, tokenizer: Any) -> set[int]:
    if stop is None:
        return {tokenizer.eos_token_id}
    if isinstance(stop, str):
        stop = [stop]
    ids: set[int] = set()
    for item in stop:
        if isinstance(item, str):
            encoded = tokenizer.encode(item, add_special_tokens=False)
            _check(len(encoded) == 1, f"the fake only supports single-token stop strings: {item!r}")
            ids.add(encoded[0])
        else:
            ids.add(int(item))
    return ids


class FakeSamplingClient:
    """Samples from a frozen snapshot of weights, like a real ``SamplingClient``."""

    def __init__(self, world: FakeTinker, model_name: str, weights: _Weights) -> None:
        self._world = world
        self._model_name = model_name
        self._delta = weights.delta.copy()

    @_api
    def get_base_model(self) -> str:
        return self._model_name

    @_api
    def get_tokenizer(self) -> Any:
        return self._world.tokenizer

    @_api
    def sample(
        self,
        prompt: tinker.ModelInput,
        num_samples: int,
        sampling_params: tinker.SamplingParams,
        include_prompt_logprobs: bool = False,
        topk_prompt_logprobs: int = 0,
        **_: Any,
    ) -> TrackedFuture[tinker.SampleResponse]:
        prompt_tokens = _tokens_of(prompt)
        _check(len(prompt_tokens) >= 1, "empty prompt")
        _check(isinstance(sampling_params, tinker.SamplingParams), "need tinker.SamplingParams")
        _check(isinstance(num_samples, int) and num_samples >= 1, "num_samples must be >= 1")
        max_tokens = sampling_params.max_tokens
        _check(max_tokens is not None and max_tokens >= 1, "set SamplingParams.max_tokens")
        assert max_tokens is not None
        stop_ids = _resolve_stop(sampling_params.stop, self._world.tokenizer)
        temperature = float(sampling_params.temperature)
        top_k = int(sampling_params.top_k)
        rng = np.random.default_rng(
            [self._world.seed, next(self._world._sample_rng_ids)]
            if sampling_params.seed is None
            else [self._world.seed, sampling_params.seed]
        )

        def run() -> tinker.SampleResponse:
            sequences = []
            for _ in range(num_samples):
                tokens, logprobs, reason = self._generate(
                    prompt_tokens, max_tokens, temperature, top_k, stop_ids, rng
                )
                self._world.register_sample([*prompt_tokens, *tokens], len(prompt_tokens), logprobs)
                sequences.append(
                    types.SampledSequence(
                        stop_reason=reason,
                        sequence_id=f"seq-{next(self._world._seq_ids)}",
                        tokens_np=np.asarray(tokens, dtype=np.int32),
                        logprobs_np=np.asarray(logprobs, dtype=np.float32),
                    )
                )
            return types.SampleResponse(sequences=sequences)

        return self._world._submit(
            "sample", run, pool=self._world.sample_pool, delay=self._world.latency.sample
        )

    def _generate(
        self,
        prompt: list[int],
        max_tokens: int,
        temperature: float,
        top_k: int,
        stop_ids: set[int],
        rng: np.random.Generator,
    ) -> tuple[list[int], list[float], str]:
        """Autoregressive sampling; logprobs are the model's own (temperature 1) and are recorded
        at float32 precision, as the service returns them."""
        model = self._world.model
        tokens: list[int] = []
        logprobs: list[float] = []
        prev = prompt[-1]
        for _ in range(max_tokens):
            row = model.logprobs_rows(self._delta, [prev])[0]
            if temperature <= 0 or top_k == 1:
                token = int(np.argmax(row))
            else:
                logits = row / temperature
                if top_k > 1:
                    logits = np.where(logits >= np.sort(logits)[-top_k], logits, -np.inf)
                token = int(rng.choice(len(row), p=np.exp(_log_softmax(logits))))
            tokens.append(token)
            logprobs.append(float(np.float32(row[token])))
            if token in stop_ids:
                return tokens, logprobs, "stop"
            prev = token
        return tokens, logprobs, "length"

    @_api
    def compute_logprobs(
        self, prompt: tinker.ModelInput, prompt_logprobs_last_n: int | None = None
    ) -> TrackedFuture[list[float | None]]:
        tokens = _tokens_of(prompt)
        if prompt_logprobs_last_n is not None:
            _check(
                1 <= prompt_logprobs_last_n <= len(tokens) - 1,
                "prompt_logprobs_last_n must be between 1 and len(prompt) - 1",
            )

        def run() -> list[float | None]:
            values: list[float | None] = [None]
            values += self._world.model.sequence_logprobs(self._delta, tokens)
            if (
                prompt_logprobs_last_n is not None
                and not self._world.honours_prompt_logprobs_last_n
            ):
                # The SDK's own check (tinker >= 0.38) on a whole-prompt answer.
                raise RuntimeError(
                    f"prompt_logprobs_last_n={prompt_logprobs_last_n} was requested but the "
                    "server returned prompt logprobs before that suffix; it may predate this "
                    "feature"
                )
            if prompt_logprobs_last_n is not None:
                cut = len(values) - prompt_logprobs_last_n
                values = [None] * cut + values[cut:]
            return values

        return self._world._submit(
            "compute_logprobs",
            run,
            pool=self._world.sample_pool,
            delay=self._world.latency.compute_logprobs,
        )


class FakeTrainingClient:
    """A LoRA training run: strict ``forward_backward`` / ``optim_step`` / checkpoints."""

    def __init__(
        self, world: FakeTinker, model_name: str, rank: int, weights: _Weights | None = None
    ) -> None:
        self._world = world
        self.model_name = model_name
        self.rank = rank
        self.run_id = world.new_run_id()
        self.model_id = self.run_id
        self.weights = weights or world.new_weights()
        self._grad: np.ndarray | None = None
        self._pending_backward = 0

    # -- info ---------------------------------------------------------------------------------

    @_api
    def get_info(self) -> types.GetInfoResponse:
        return types.GetInfoResponse(
            model_data=types.ModelData(model_name=self.model_name, arch="bigram"),
            model_id=self.model_id,
            is_lora=True,
            lora_rank=self.rank,
            model_name=self.model_name,
        )

    @_api
    def get_tokenizer(self) -> Any:
        return self._world.tokenizer

    # -- training -----------------------------------------------------------------------------

    def _check_datum(
        self, datum: Any, i: int
    ) -> tuple[list[int], list[int], np.ndarray, np.ndarray]:
        _check(isinstance(datum, tinker.Datum), f"datum {i} is {type(datum).__name__}, not Datum")
        inputs = _tokens_of(datum.model_input)
        keys = set(datum.loss_fn_inputs)
        _check(
            keys == {"target_tokens", "logprobs", "advantages"},
            f"datum {i}: importance_sampling takes target_tokens, logprobs, advantages; got {keys}",
        )
        tensors = datum.loss_fn_inputs
        for key, dtype in (
            ("target_tokens", "int64"),
            ("logprobs", "float32"),
            ("advantages", "float32"),
        ):
            tensor = tensors[key]
            _check(isinstance(tensor, tinker.TensorData), f"datum {i}: {key} is not TensorData")
            _check(tensor.dtype == dtype, f"datum {i}: {key} dtype {tensor.dtype}, want {dtype}")
            _check(
                tensor.shape == [len(inputs)],
                f"datum {i}: {key} shape {tensor.shape} != model_input length [{len(inputs)}]",
            )
        targets = [int(t) for t in tensors["target_tokens"].tolist()]
        sampler_lp = np.asarray(tensors["logprobs"].tolist(), dtype=np.float64)
        advantages = np.asarray(tensors["advantages"].tolist(), dtype=np.float64)
        _check(bool(np.all(np.isfinite(sampler_lp))), f"datum {i}: non-finite logprobs")
        _check(bool(np.all(np.isfinite(advantages))), f"datum {i}: non-finite advantages")
        _check(
            targets[:-1] == inputs[1:],
            f"datum {i}: target_tokens must be model_input shifted left by one",
        )
        full = [*inputs, targets[-1]]
        record = self._world.sampled.get(tuple(full))
        _check(record is not None, f"datum {i}: this prompt + completion was never sampled")
        assert record is not None
        pad = record.prompt_len - 1
        _check(
            bool(np.all(advantages[:pad] == 0.0)) and bool(np.all(sampler_lp[:pad] == 0.0)),
            f"datum {i}: prompt positions must have zero advantage and zero logprob",
        )
        _check(
            np.allclose(sampler_lp[pad:], record.logprobs, atol=1e-5),
            f"datum {i}: completion logprobs are not the sampler's logprobs of those tokens",
        )
        return inputs, targets, sampler_lp, advantages

    @_api
    def forward_backward(
        self,
        data: list[tinker.Datum],
        loss_fn: str,
        loss_fn_config: dict[str, Any] | None = None,
    ) -> TrackedFuture[tinker.ForwardBackwardOutput]:
        _check(isinstance(data, list) and len(data) > 0, "forward_backward needs a non-empty list")
        _check(loss_fn == "importance_sampling", f"expected importance_sampling, got {loss_fn!r}")
        checked = [self._check_datum(d, i) for i, d in enumerate(data)]
        self._world.train_datums += len(data)
        self._pending_backward += 1

        def run() -> tinker.ForwardBackwardOutput:
            model = self._world.model
            grad = np.zeros_like(self.weights.delta)
            outputs = []
            loss_sum = 0.0
            for inputs, targets, sampler_lp, advantages in checked:
                rows = model.logprobs_rows(self.weights.delta, inputs)
                idx = np.arange(len(targets))
                lp = rows[idx, targets]
                ratio = np.exp(lp - sampler_lp)
                # importance_sampling: loss = -sum(ratio * advantage); dratio/dlogits = ratio*(1-p)
                coef = -(advantages * ratio)
                dlogits = -np.exp(rows)
                dlogits[idx, targets] += 1.0
                dlogits *= coef[:, None]
                np.add.at(grad, np.asarray(inputs), dlogits)
                loss_sum += float(np.sum(-(ratio * advantages)))
                outputs.append({"logprobs": tinker.TensorData.from_numpy(lp.astype(np.float32))})
            self._grad = grad if self._grad is None else self._grad + grad
            return types.ForwardBackwardOutput(
                loss_fn_output_type="ArrayRecord",
                loss_fn_outputs=outputs,
                metrics={"loss:sum": loss_sum},
            )

        return self._world._submit(
            "forward_backward",
            run,
            pool=self._world.train_pool,
            delay=self._world.latency.forward_backward,
        )

    @_api
    def optim_step(self, optim_params: Any = None, **kwargs: Any) -> TrackedFuture[Any]:
        params = optim_params if optim_params is not None else kwargs.get("adam_params")
        _check(isinstance(params, tinker.AdamParams), "optim_step needs tinker.AdamParams")
        _check(self._pending_backward > 0, "optim_step without a preceding forward_backward")
        self._pending_backward = 0

        def run() -> types.OptimStepResponse:
            w = self.weights
            g = self._grad if self._grad is not None else np.zeros_like(w.delta)
            w.step += 1
            w.m = params.beta1 * w.m + (1 - params.beta1) * g
            w.v = params.beta2 * w.v + (1 - params.beta2) * g * g
            m_hat = w.m / (1 - params.beta1**w.step)
            v_hat = w.v / (1 - params.beta2**w.step)
            w.delta -= params.learning_rate * m_hat / (np.sqrt(v_hat) + params.eps)
            self._grad = None
            return types.OptimStepResponse(metrics={"grad_norm": float(np.sqrt((g * g).sum()))})

        return self._world._submit(
            "optim_step", run, pool=self._world.train_pool, delay=self._world.latency.optim_step
        )

    # -- checkpoints and samplers ---------------------------------------------------------------

    def _save(self, name: str, kind: str) -> str:
        _check(bool(name) and "/" not in name, f"bad checkpoint name {name!r}")
        path = f"tinker://{self.run_id}/{kind}/{name}"
        self._world.checkpoints[path] = _Checkpoint(
            kind, self.model_name, self.rank, self.weights.copy()
        )
        return path

    @_api
    def save_state(self, name: str, ttl_seconds: int | None = None, **_: Any) -> TrackedFuture[Any]:
        return self._world._submit(
            "save_state",
            lambda: types.SaveWeightsResponse(path=self._save(name, "weights")),
            pool=self._world.train_pool,
            delay=self._world.latency.save,
        )

    @_api
    def save_weights_for_sampler(
        self, name: str, ttl_seconds: int | None = None, **_: Any
    ) -> TrackedFuture[Any]:
        return self._world._submit(
            "save_weights_for_sampler",
            lambda: types.SaveWeightsForSamplerResponse(path=self._save(name, "sampler_weights")),
            pool=self._world.train_pool,
            delay=self._world.latency.save,
        )

    @_api
    def save_weights_and_get_sampling_client(self, **_: Any) -> TrackedFuture[FakeSamplingClient]:
        # Ordered after every training request submitted before it, as on the service.
        return self._world._submit(
            "save_weights_and_get_sampling_client",
            lambda: FakeSamplingClient(self._world, self.model_name, self.weights),
            pool=self._world.train_pool,
            delay=self._world.latency.save,
        )

    @_api
    def create_sampling_client(self, model_path: str, **_: Any) -> TrackedFuture[Any]:
        return self._world.service_clients[0].create_sampling_client(model_path=model_path)

    @_api
    def load_state(self, path: str) -> None:  # pragma: no cover - guard
        raise ContractViolation(
            "TrainingClient.load_state is deprecated in tinker >= 0.38 (FutureWarning); use "
            "ServiceClient.create_training_client_from_state_with_optimizer"
        )


class FakeServiceClient:
    """Stands in for ``tinker.ServiceClient``; all instances share one :class:`FakeTinker`."""

    def __init__(self, world: FakeTinker, *args: Any, **kwargs: Any) -> None:
        self._world = world
        self.closed: str | None = None
        world.service_clients.append(self)
        world.api_calls.append(("FakeServiceClient", "__init__", args, kwargs))

    @_api
    def create_lora_training_client(
        self,
        base_model: str,
        rank: int = 32,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
        user_metadata: dict[str, str] | None = None,
        **_: Any,
    ) -> TrackedFuture[FakeTrainingClient]:
        _check(isinstance(base_model, str) and "/" in base_model, f"bad model {base_model!r}")
        _check(isinstance(rank, int) and rank >= 1, f"bad LoRA rank {rank!r}")
        return self._world._submit(
            "create_lora_training_client",
            lambda: FakeTrainingClient(self._world, base_model, rank),
            pool=None,
            delay=self._world.latency.create_client,
        )

    def _checkpoint(self, path: str, kinds: tuple[str, ...]) -> _Checkpoint:
        parsed = tinker.ParsedCheckpointTinkerPath.from_tinker_path(path)
        checkpoint = self._world.checkpoints.get(parsed.tinker_path)
        if checkpoint is None or checkpoint.kind not in kinds:
            raise tinker.NotFoundError(
                f"checkpoint {path} not found",
                response=httpx.Response(404, request=httpx.Request("POST", "http://fake")),
                body=None,
            )
        return checkpoint

    @_api
    def create_training_client_from_state_with_optimizer(
        self, path: str, **_: Any
    ) -> TrackedFuture[FakeTrainingClient]:
        def run() -> FakeTrainingClient:
            ckpt = self._checkpoint(path, ("weights",))
            return FakeTrainingClient(
                self._world, ckpt.model_name, ckpt.lora_rank, ckpt.weights.copy()
            )

        return self._world._submit(
            "create_training_client_from_state_with_optimizer",
            run,
            pool=None,
            delay=self._world.latency.create_client,
        )

    @_api
    def create_training_client_from_state(
        self, path: str, **_: Any
    ) -> TrackedFuture[FakeTrainingClient]:
        def run() -> FakeTrainingClient:
            ckpt = self._checkpoint(path, ("weights",))
            fresh = self._world.new_weights()
            fresh.delta = ckpt.weights.delta.copy()
            return FakeTrainingClient(self._world, ckpt.model_name, ckpt.lora_rank, fresh)

        return self._world._submit("create_training_client_from_state", run, pool=None, delay=0.0)

    @_api
    def create_sampling_client(
        self, model_path: str | None = None, base_model: str | None = None, **_: Any
    ) -> TrackedFuture[FakeSamplingClient]:
        if model_path is None and base_model is None:
            raise ValueError("Either model_path or base_model must be provided")

        def run() -> FakeSamplingClient:
            if model_path is not None:
                ckpt = self._checkpoint(model_path, ("weights", "sampler_weights"))
                return FakeSamplingClient(self._world, ckpt.model_name, ckpt.weights)
            assert base_model is not None
            return FakeSamplingClient(self._world, base_model, self._world.new_weights())

        return self._world._submit(
            "create_sampling_client", run, pool=None, delay=self._world.latency.create_client
        )

    @_api
    def close(self, status: str, detail: str | None = None) -> TrackedFuture[None]:
        _check(status in ("success", "errored", "interrupted"), f"bad close status {status!r}")

        def run() -> None:
            self.closed = status

        return self._world._submit("close", run, pool=None, delay=0.0)


REAL_CLASSES: dict[str, type] = {
    "FakeServiceClient": tinker.ServiceClient,
    "FakeTrainingClient": tinker.TrainingClient,
    "FakeSamplingClient": tinker.SamplingClient,
}
"""The SDK class each fake stands in for (``__init__`` of the service client included)."""


def install(
    monkeypatch: Any, world: FakeTinker | None = None, *, key: str = "tml-fake"
) -> FakeTinker:
    """Route ``tinker.ServiceClient`` to a fake service and set a well-formed API key."""
    world = world or FakeTinker()
    monkeypatch.setenv("TINKER_API_KEY", key)
    monkeypatch.setattr(tinker, "ServiceClient", lambda *a, **k: FakeServiceClient(world, *a, **k))
    return world


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://fake-tinker.invalid/api/v1")


def api_connection_error() -> tinker.APIConnectionError:
    """A transient error, as the SDK raises it when the connection drops."""
    return tinker.APIConnectionError(request=_request())


def internal_server_error() -> tinker.InternalServerError:
    """A transient 500 from the service."""
    response = httpx.Response(500, request=_request())
    return tinker.InternalServerError("internal error", response=response, body=None)


def bad_request_error() -> tinker.BadRequestError:
    """A permanent 400: must not be retried."""
    response = httpx.Response(400, request=_request())
    return tinker.BadRequestError("bad request", response=response, body=None)
