"""The hot-path shortcuts give exactly what the general code gives.

``AnswerParser``, ``Scorer`` (per item, groups, ``score_many``, ``score_columns``),
``ProblemSet`` item access, the env's prompt template and its index draw each have a fast route
(see ``docs/benchmarks.md``). Each is compared here against a reference: the straightforward
implementation the library had before the shortcut (regex-only parsing, breakdowns built field
by field, per-item hashing, ``render_text``/``build_messages``, ``Generator.integers``), on a
broad set of completions including adversarial ones. Equality is checked on ``repr`` as well,
so ``0.0`` vs ``-0.0`` or ``1`` vs ``1.0`` would be caught.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mult_env import MultiplicationEnv, Problem, ProblemSet, Scorer
from mult_env.env import _draw_index
from mult_env.parsers import (
    _ANSWER_RE,
    MAX_ANSWER_CHARS,
    AnswerParser,
    ParseResult,
    _why_not_a_number,
)
from mult_env.prompts import PromptStyle, _Template, build_messages, render_text
from mult_env.rewards import RewardBreakdown, leading_digits_matched


def _ref_why(text: str) -> str:
    if not text:
        return "empty"
    if "-" in text:
        return "negative or signed number"
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        return "non-ASCII digits"
    if "." in text.rstrip("."):
        return "not an integer"
    if "," in text:
        return "invalid thousands separators"
    return "not a single number"


def ref_parse(completion: str) -> ParseResult:
    """The ``answer`` parser as first written: one regex, no shortcut."""
    text = completion.strip()
    if len(text) > MAX_ANSWER_CHARS:
        return ParseResult(None, False, "too long")
    match = _ANSWER_RE.fullmatch(text)
    if match:
        return ParseResult(int(match.group(1).replace(",", "")), True, "ok")
    if not text:
        return ParseResult(None, False, "empty")
    body = re.sub(r"^[Tt]he answer is:?\s*", "", text).rstrip(".")
    return ParseResult(None, False, _ref_why(body))


def ref_score(scorer: Scorer, completion: str, problem: Problem) -> RewardBreakdown:
    """``Scorer.score`` as first written, with the reference parser for ``answer``."""
    answer = problem.answer
    text = scorer.assistant_prefix + completion
    parsed = ref_parse(text) if type(scorer.parser) is AnswerParser else scorer.parser(text)
    correctness = float(scorer.reward(parsed.value, answer))
    penalty = 0.0 if parsed.well_formed else -scorer.format_coef
    return RewardBreakdown(
        total=correctness + penalty,
        correctness=correctness,
        format_penalty=penalty,
        correct=parsed.value is not None and parsed.value == answer,
        format_ok=parsed.well_formed,
        digits_matched=leading_digits_matched(parsed.value, answer),
        num_digits=len(str(answer)),
        parsed=parsed.value,
        reason=parsed.reason,
    )


def ref_to_dict(b: RewardBreakdown) -> dict[str, object]:
    d = dataclasses.asdict(b)
    d["parsed"] = None if b.parsed is None else str(b.parsed)
    return d


PROBLEMS = [
    Problem(847, 293),  # 248171
    Problem(12, 15),  # 180
    Problem(0, 7),  # 0
    Problem(1, 1),  # 1
    Problem(999, 999),  # 998001
    Problem(1234, 5678),  # 7006652
    Problem(99999, 99999),
    Problem(-3, 4),  # a negative answer cannot come from a ProblemSet, but Problem allows it
    Problem(10**77 + 7, 10**69 + 3),  # 147 digits: "The answer is A." is over the length limit
    Problem(10**80 + 7, 10**79 + 3),  # 160 digits: "A" alone is at the limit
]


def surface_forms(answer: int) -> list[str]:
    """Completions around ``answer``: accepted forms, near misses, hacks and junk."""
    s = str(answer)
    commas = f"{answer:,}"
    forms = [
        s,
        f"{s}.",
        f"The answer is {s}.",
        f"the answer is {s}",
        f"The answer is: {s}.",
        f"The answer is  {s}.",
        f"The answer is\t{s}.",
        f"The answer is\n{s}",
        f"The answer is\u00a0{s}.",
        f"The answer is\u2003{s}.",
        f"  The answer is {s}.  \n",
        f"THE ANSWER IS {s}.",
        f"The answer is {s}..",
        f"The answer is {s}. ",
        f"The answer is{s}.",
        f"The answer is {commas}.",
        commas,
        f"{s}.0",
        f"0{s}",
        f"00{s}",
        f"+{s}",
        f"-{s}",
        f"The answer is -{s}.",
        f"{s}0",
        s[:-1] or "0",
        f"{s}1",
        f"{s} or {s}",
        f"{s}, {s}",
        f"{s} {s}",
        f"I think it is {s}.",
        f"12*15=180 so {s}",
        f"<answer>{s}</answer>",
        f"\\boxed{{{s}}}",
        f"<think>hmm</think>{s}",
        s.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        s.translate(str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))),
        s.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")),
        f"The answer is {s}²",
        f"{s[:-1]}٣" if len(s) > 1 else "٣",
    ]
    # every single-digit change, at every position (same length: partial credit)
    for i, ch in enumerate(s):
        if ch.isdigit():
            for d in "0123456789":
                if d != ch:
                    forms.append(f"The answer is {s[:i]}{d}{s[i + 1 :]}.")
    return forms


ADVERSARIAL = [
    "",
    " ",
    ".",
    "..",
    "0",
    "0.",
    "00",
    "000.",
    "The answer is",
    "The answer is ",
    "The answer is .",
    "The answer is 0",
    "The answer is 00.",
    "The answer is 1,23.",
    "The answer is 1,2345.",
    "The answer is ,123.",
    "1,000,000",
    "1000,000",
    "9" * MAX_ANSWER_CHARS,
    "9" * (MAX_ANSWER_CHARS + 1),
    "The answer is " + "9" * (MAX_ANSWER_CHARS - 15) + ".",
    "The answer is " + "9" * (MAX_ANSWER_CHARS - 14) + ".",
    "1" * 5000,
    "\x00",
    "\ufeff248171",
    "248171\u200b",
    "२४८१७१",
    "True",
    "None",
    "nan",
    "inf",
    "1e5",
    "0x10",
    "1_000",
    "٤" * 3,
]


def corpus() -> list[str]:
    out = list(ADVERSARIAL)
    for p in PROBLEMS:
        out += surface_forms(p.answer)
    return out


SCORERS: list[Callable[[], Scorer]] = [
    lambda: Scorer(),
    lambda: Scorer(reward="binary"),
    lambda: Scorer(format_coef=0.0),
    lambda: Scorer(format_coef=1.0, reward="binary"),
    lambda: Scorer(assistant_prefix="The answer is "),
    lambda: Scorer(assistant_prefix=" "),
    lambda: Scorer(parser="boxed"),
    lambda: Scorer(parser="think_answer"),
    lambda: Scorer(parser="last_number", reward="shaped"),
    lambda: Scorer(reward=lambda value, answer: 0.5 if value == answer else 0.0),
]


def same(got: object, want: object) -> None:
    assert got == want
    assert repr(got) == repr(want)


def test_answer_parser_equals_regex_only_reference() -> None:
    parser = AnswerParser()
    for c in corpus():
        same(parser(c), ref_parse(c))


@pytest.mark.parametrize("make", SCORERS)
def test_every_scoring_path_equals_reference(make: Callable[[], Scorer]) -> None:
    scorer = make()
    completions = corpus()
    for p in PROBLEMS:
        want = [ref_score(scorer, c, p) for c in completions]
        same([scorer.score(c, p) for c in completions], want)
        same(scorer.score_group(completions, p), want)
        same(scorer.score_many(completions, [p] * len(completions)), want)
        columns = scorer.score_columns(completions, p)
        same(columns.rows(), want)
        same(columns.total, tuple(b.total for b in want))
        same(scorer.score_columns(completions, [p] * len(completions)).rows(), want)
        same([b.to_dict() for b in want], [ref_to_dict(b) for b in want])
    # problems that change from item to item (the answer string is cached per run of answers)
    mixed = [PROBLEMS[i % len(PROBLEMS)] for i in range(len(completions))]
    want = [ref_score(scorer, c, p) for c, p in zip(completions, mixed, strict=True)]
    same(scorer.score_many(completions, mixed), want)
    same(scorer.score_columns(completions, mixed).rows(), want)


# Text built to reach every rejection reason: an optional prefix (either case, a colon, ASCII
# or Unicode spaces) before pieces that each trigger one reason, or none, in any order.
REASON_TEXT = st.builds(
    "".join,
    st.lists(
        st.sampled_from(
            ["", " ", "\u00a0", "\t", "The answer is", "the answer is", "The answer is:", ":"]
        ),
        max_size=2,
    ),
).flatmap(
    lambda head: st.builds(
        lambda body: head + "".join(body),
        st.lists(
            st.sampled_from(
                [
                    *("0", "1", "248171", "007", ",", ",000", "-", "+", ".", "..", "x", "or", "e"),
                    *(" ", "\u2003", "\u0662", "\u0966", "\u00b2", "\u2460", "\uff10"),
                ]
            ),
            max_size=6,
        ),
    )
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), REASON_TEXT))
def test_rejection_reasons_equal_reference(text: str) -> None:
    same(_why_not_a_number(text), _ref_why(text))
    same(AnswerParser()(text), ref_parse(text))


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.from_regex(r"\s*([Tt]he answer is:?\s*)?[0-9,.\-+ ]{0,12}\.?\s*", fullmatch=True),
        st.text(alphabet="0123456789,. -٣Tthe answris:", max_size=30),
        REASON_TEXT,
    ),
    pick=st.integers(0, len(PROBLEMS) - 1),
)
def test_random_text_scores_like_reference(text: str, pick: int) -> None:
    p = PROBLEMS[pick]
    for make in SCORERS[:6]:
        scorer = make()
        want = ref_score(scorer, text, p)
        same(scorer.score(text, p), want)
        same(scorer.score_columns([text, text], p).rows(), [want, want])
    same(AnswerParser()(text), ref_parse(text))


def test_fast_built_objects_behave_like_constructed_ones() -> None:
    b = Scorer().score("The answer is 248171.", Problem(847, 293))
    ref = RewardBreakdown(1.0, 1.0, 0.0, True, True, 6, 6, 248171, "ok")
    same(b, ref)
    assert hash(b) == hash(ref)
    assert dataclasses.asdict(b) == dataclasses.asdict(ref)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.total = 0.0  # type: ignore[misc]
    parsed = AnswerParser()("248171")
    assert hash(parsed) == hash(ParseResult(248171, True, "ok"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.value = 1  # type: ignore[misc]
    problem = ProblemSet()[0]
    assert hash(problem) == hash(Problem(problem.a, problem.b))
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.a = 1  # type: ignore[misc]


def test_non_str_completions_still_raise() -> None:
    scorer = Scorer()
    with pytest.raises(TypeError, match="completion must be a str"):
        scorer.score_columns(["The answer is 1.", 1], Problem(1, 1))  # type: ignore[list-item]
    with pytest.raises(TypeError, match="completion must be a str"):
        scorer.score(b"1", Problem(1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pair up"):
        scorer.score_columns(["1"], [Problem(1, 1), Problem(1, 1)])


def test_score_columns_of_nothing() -> None:
    columns = Scorer().score_columns([], Problem(1, 1))
    assert len(columns) == 0
    assert columns.rows() == []


@pytest.mark.parametrize(
    "difficulty", ["tiny", "easy", "medium", "hard", (4, 5), (5, 5), (10, 12), (20, 20)]
)
@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize(("shard", "num_shards"), [(0, 1), (2, 3), (999_999, 1_000_003)])
def test_problem_access_equals_per_item_hashing(
    difficulty: str | tuple[int, int], split: str, shard: int, num_shards: int
) -> None:
    ps = ProblemSet(difficulty, seed=7, split=split, shard=shard, num_shards=num_shards)  # type: ignore[arg-type]

    def ref(i: int) -> Problem:
        return ps._problem_at(ps._position(i * num_shards + shard))

    for start in (0, 5, 2**40, ps.length - 300):
        want = [ref(i) for i in range(start, start + 300)]
        same([ps[i] for i in range(start, start + 300)], want)
        same(ps.take(300, start), want)
        same(ps.take(10, start), want[:10])
        same(ps[start : start + 300 : 2], want[::2])
        if ps.digits[0] + ps.digits[1] <= 9:
            a, b = ps.arrays(300, start)
            assert [Problem(int(x), int(y)) for x, y in zip(a, b, strict=True)] == want
    same(ps[-1], ref(ps.length - 1))
    same(ps.take(100, ps.length - 50), [ref(i) for i in range(ps.length - 50, ps.length)])
    assert ps.take(100, ps.length) == []
    same(ps.take(70, -80), [ref(i) for i in range(ps.length - 80, ps.length - 10)])


@pytest.mark.parametrize(
    "style",
    [
        PromptStyle(),
        PromptStyle(few_shot=False),
        PromptStyle(system_prompt="Be exact.\nReally."),
        PromptStyle(few_shot=False, system_prompt="sys", assistant_prefix="The answer is "),
        PromptStyle(assistant_prefix="The answer is"),
    ],
)
def test_prompt_template_equals_render_and_messages(style: PromptStyle) -> None:
    template = _Template(style)
    for p in [*PROBLEMS, *ProblemSet("hard").take(20)]:
        text, messages = template.render(p)
        same(text, render_text(p, style))
        same(messages, build_messages(p, style))
    # fresh messages each call: mutating one rendering leaves the next intact
    _, first = template.render(PROBLEMS[0])
    first[0]["content"] = "changed"
    assert template.render(PROBLEMS[0])[1] == build_messages(PROBLEMS[0], style)


def test_index_draw_equals_generator_integers() -> None:
    for seed in range(200):
        fast = np.random.default_rng(seed)
        slow = np.random.default_rng(seed)
        for n in (1 << 62, 1000, (1 << 62) - 1, 7):
            assert _draw_index(fast, n) == int(slow.integers(0, n))
        assert fast.bit_generator.state == slow.bit_generator.state
    mt = np.random.Generator(np.random.MT19937(3))
    mt_ref = np.random.Generator(np.random.MT19937(3))
    assert _draw_index(mt, 1 << 62) == int(mt_ref.integers(0, 1 << 62))


def test_env_episodes_equal_reference() -> None:
    env = MultiplicationEnv()
    rng = np.random.default_rng(11)
    obs, info = env.reset(seed=11)
    # the reference draw: super().reset(seed=11) seeds np_random exactly like default_rng(11)
    for episode in range(50):
        if episode:
            obs, info = env.reset()
        index = int(rng.integers(0, 1 << 62))
        problem = env.problems._problem_at(env.problems._position(index))
        assert info["index"] == index
        same(info["problem"], problem)
        same(obs, render_text(problem, env.style))
        same(info["messages"], build_messages(problem, env.style))
        completion = surface_forms(problem.answer)[episode % 40]
        _, reward, terminated, truncated, step_info = env.step(completion)
        want = ref_score(env.scorer, completion, problem)
        same(step_info, {**ref_to_dict(want), "problem": problem})
        same(reward, want.total)
        assert terminated is True and truncated is False


@pytest.mark.parametrize("difficulty", ["medium", (4, 5), (5, 5)])
def test_reset_lookahead_draws_what_the_generator_says(difficulty: str | tuple[int, int]) -> None:
    """reset's lookahead (medium and 4x5: vectorised; 5x5: not) picks exactly item
    ``integers(0, 2**62)`` of a twin generator, across rebuilds, draws from ``np_random``
    between episodes, reseeding, seeding every episode and a replaced generator."""
    env = MultiplicationEnv(difficulty=difficulty, problem_seed=3)
    twin = np.random.default_rng(5)
    env.reset(seed=5)
    twin.integers(0, 1 << 62)

    def check(info: dict[str, object]) -> None:
        index = int(twin.integers(0, 1 << 62))
        assert info["index"] == index
        same(info["problem"], env.problems._problem_at(env.problems._position(index)))

    for episode in range(700):  # more than two lookaheads
        if episode % 97 == 5:  # someone else draws from the env's generator
            assert int(env.np_random.integers(0, 1000)) == int(twin.integers(0, 1000))
        if episode == 400:
            env.reset(seed=6)
            twin = np.random.default_rng(6)
            twin.integers(0, 1 << 62)
        if 500 <= episode < 520:  # seeding every episode
            _, info = env.reset(seed=episode)
            twin = np.random.default_rng(episode)
        else:
            _, info = env.reset()
        check(info)
        env.step("1")
        if episode == 300:  # the lookahead is in use where it applies
            assert bool(env._ahead) == env.problems._vectorised
    env.np_random = np.random.default_rng(99)
    twin = np.random.default_rng(99)
    for _ in range(10):
        check(env.reset()[1])
    assert len(env._ahead) <= 256
    assert env.np_random.bit_generator.state == twin.bit_generator.state


def test_prompt_template_follows_a_replaced_instruction(monkeypatch: pytest.MonkeyPatch) -> None:
    import mult_env.prompts as prompts

    template = _Template(PromptStyle())
    problem = PROBLEMS[0]
    monkeypatch.setattr(prompts, "INSTRUCTION", "Compute {b} times {a}, {{exactly}}.")
    text, messages = template.render(problem)
    same(text, render_text(problem, PromptStyle()))
    same(messages, build_messages(problem, PromptStyle()))
    assert "Compute 293 times 847, {exactly}." in text
    monkeypatch.setattr(prompts, "INSTRUCTION", "What is {a:>5} * {b!r}?")
    same(template.render(problem)[0], render_text(problem, PromptStyle()))


def test_batch_paths_fail_on_a_missing_problem_like_score() -> None:
    scorer = Scorer()
    with pytest.raises(AttributeError):
        scorer.score("1", None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        scorer.score_many(["1"], [None])  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        scorer.score_columns(["1", "2"], [Problem(1, 1), None])  # type: ignore[list-item]


def test_equal_answers_of_distinct_problems_score_alike() -> None:
    scorer = Scorer()
    problems = [Problem(12, 15), Problem(15, 12), Problem(10, 18), Problem(12, 15)]
    completions = ["The answer is 180.", "180", "The answer is 181.", "18"]
    want = [ref_score(scorer, c, p) for c, p in zip(completions, problems, strict=True)]
    same(scorer.score_columns(completions, problems).rows(), want)
    same(scorer.score_many(completions, problems), want)
