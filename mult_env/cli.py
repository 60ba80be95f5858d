"""The ``mult-env`` command: list problems, score completions, re-score a run's rollouts,
check parsers and rewards."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from mult_env.parsers import PARSERS
from mult_env.problems import DIFFICULTIES, Problem, ProblemSet, resolve_difficulty
from mult_env.rewards import REWARDS, Scorer

__all__ = ["main"]


def _difficulty(text: str) -> tuple[int, int]:
    try:
        return resolve_difficulty(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _cmd_problems(args: argparse.Namespace, out: TextIO) -> int:
    problems = ProblemSet(
        args.difficulty,
        seed=args.seed,
        split=args.split,
        shard=args.shard,
        num_shards=args.num_shards,
    )
    items = problems.take(args.n, start=args.start)
    if args.format == "jsonl":
        for i, p in enumerate(items, start=args.start):
            out.write(json.dumps({"index": i, "a": p.a, "b": p.b, "answer": p.answer}) + "\n")
        return 0
    width = max((len(str(p.answer)) for p in items), default=6)
    out.write(f"| index | a | b | {'answer':>{width}} |\n|---:|---:|---:|---:|\n")
    for i, p in enumerate(items, start=args.start):
        out.write(f"| {i} | {p.a} | {p.b} | {p.answer:>{width}} |\n")
    return 0


def _score_records(args: argparse.Namespace, stdin: TextIO) -> list[tuple[Problem, str]]:
    if args.a is not None or args.b is not None:
        if args.a is None or args.b is None:
            raise ValueError("give both --a and --b, or neither (then JSONL is read from stdin)")
        if not args.completions:
            raise ValueError("give at least one completion after --a/--b")
        return [(Problem(args.a, args.b), c) for c in args.completions]
    if args.completions:
        raise ValueError("completions on the command line need --a and --b")
    records = []
    for lineno, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            a, b, completion = record["a"], record["b"], record["completion"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(
                f'stdin line {lineno}: expected {{"a": int, "b": int, "completion": str}}: {e}'
            ) from None
        if type(a) is not int or type(b) is not int or a < 0 or b < 0:
            raise ValueError(f"stdin line {lineno}: 'a' and 'b' must be non-negative integers")
        if not isinstance(completion, str):
            raise ValueError(f"stdin line {lineno}: 'completion' must be a string")
        records.append((Problem(a, b), completion))
    return records


def _cmd_score(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    scorer = Scorer(args.parser, args.reward, args.format_coef, args.assistant_prefix)
    for problem, completion in _score_records(args, stdin):
        row: dict[str, Any] = {"a": problem.a, "b": problem.b, "answer": str(problem.answer)}
        row["completion"] = completion
        row.update(scorer.score(completion, problem).to_dict())
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


# ---------------------------------------------------------------------------- rescore
def _cmd_rescore(args: argparse.Namespace, out: TextIO) -> int:
    from mult_env.rollouts import read_rollouts, rescore

    try:
        run = read_rollouts(args.run_dir)
    except FileNotFoundError as e:
        raise ValueError(str(e)) from None
    own = run.meta
    scorer = Scorer(
        _load_target(args.parser, PARSERS, "parser") if args.parser else own["parser"],
        _load_target(args.reward, REWARDS, "reward") if args.reward else own["reward"],
        own["format_coef"] if args.format_coef is None else args.format_coef,
        own["assistant_prefix"] if args.assistant_prefix is None else args.assistant_prefix,
    )
    result = rescore(run, scorer, examples=args.examples)
    if args.json:
        out.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(result.to_markdown(examples=args.examples) + "\n")
    return 0


def _add_rescore(sub: Any) -> None:
    r = sub.add_parser(
        "rescore",
        help="re-score a run's rollouts under another parser or reward, without sampling",
        description="Score every completion a run kept (RUN_DIR/rollouts, written by "
        "python -m trainers.train) again under another rule, and print the run's tables side by "
        "side: per 10-batch window accuracy, format, mixed groups and reward, peak and best "
        "window, frac_mixed/all_good/all_bad, the held-out evaluations, and the completions "
        "whose verdict changed, by rejection reason, with examples. Options left out keep the "
        "run's own rule, so a bare `mult-env rescore RUN_DIR` checks that the stored scores "
        "reproduce metrics.jsonl.",
        epilog="examples: mult-env rescore runs/multiply-2x1-SmolLM2-135M-Instruct-lr0.0003-bs8-"
        "20260104-0129 --parser last_number  |  mult-env rescore RUN_DIR --reward binary --json",
    )
    r.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (or its rollouts/)")
    r.add_argument(
        "--parser", help="registered parser name or module:function (default: the run's own)"
    )
    r.add_argument(
        "--reward", help="registered reward name or module:function (default: the run's own)"
    )
    r.add_argument("--format-coef", type=float, help="format penalty (default: the run's own)")
    r.add_argument(
        "--assistant-prefix", help="text pre-filled before each completion (default: the run's)"
    )
    r.add_argument(
        "--examples", type=_non_negative, default=3, help="examples per change (default: 3)"
    )
    r.add_argument("--json", action="store_true", help="print JSON instead of Markdown")


def _import_attribute(spec: str, what: str) -> Any:
    """The object ``module:attribute`` names (the current directory is importable)."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: the user's own module in cwd
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load {what} {spec!r}: {e}") from None
    return obj


def _load_target(spec: str, registry: dict[str, Any], what: str) -> Any:
    """A registered name, or ``module:attribute`` (the current directory is importable)."""
    if ":" not in spec:
        if spec in registry:
            return spec
        known = ", ".join(sorted(registry))
        raise ValueError(f"{what} {spec!r} is neither module:function nor one of {known}")
    obj = _import_attribute(spec, what)
    if isinstance(obj, type):  # a parser or reward class: check a default instance
        obj = obj()
    if not callable(obj):
        raise ValueError(f"{what} {spec!r} is not callable (it is a {type(obj).__name__})")
    return obj


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from mult_env import testing
    except ImportError as e:
        raise ValueError(str(e)) from None
    style: Any = args.style
    if style is not None and ":" in style:  # a user's own Style, named like the target
        style = _import_attribute(style, "style")
        if not isinstance(style, testing.Style):
            raise ValueError(
                f"style {args.style!r} is not a mult_env.testing.Style "
                f"(it is a {type(style).__name__})"
            )
    common: dict[str, Any] = {
        "style": style,
        "allow": args.allow,
        "skip": args.skip,
        "difficulty": args.difficulty,
        "max_examples": args.max_examples,
        "time_limit": args.time_limit,
        "hang_timeout": args.hang_timeout,
        "seed": args.seed,
        "raise_on_failure": False,
    }
    if args.command == "check-parser":
        report = testing.check_parser(_load_target(args.target, PARSERS, "parser"), **common)
    else:
        parser = None if args.parser == "none" else _load_target(args.parser, PARSERS, "parser")
        reward = _load_target(args.target, REWARDS, "reward")
        report = testing.check_reward(reward, parser=parser, **common)
    out.write(report.summary() + "\n")
    return 0 if report.ok else 1


def _add_check_options(p: argparse.ArgumentParser, properties: Sequence[str]) -> None:
    p.add_argument(
        "--style",
        help="answer style of accepted forms and near misses: answer, boxed, think_answer, "
        "think_boxed, or module:attribute naming your own mult_env.testing.Style (default: the "
        "parser's own, else answer)",
    )
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="FAMILY",
        help="do not check this near-miss family (repeatable): " + ", ".join(_FAMILIES),
    )
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="PROPERTY",
        help="do not run this property (repeatable; the report records it): "
        + ", ".join(properties),
    )
    p.add_argument(
        "--difficulty",
        help="draw problems of this difficulty only, e.g. medium or 3x3 (default: any operands "
        "of 1 to 20 digits)",
    )
    p.add_argument(
        "--max-examples",
        type=_non_negative,
        help="hypothesis examples per property (default: the hypothesis profile's, 100)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=0.1,
        help="seconds allowed for a 1 MB adversarial completion (default: 0.1)",
    )
    p.add_argument(
        "--hang-timeout",
        type=float,
        default=5.0,
        help="seconds one call may take before it is killed and reported as a hang (default: 5)",
    )
    p.add_argument("--seed", type=_non_negative, help="make the search reproducible")


# mult_env.testing's FAMILIES and properties, spelled out so that building the CLI does not
# import hypothesis (tests/testing/test_check_cli.py keeps them in sync).
_FAMILIES = (
    "wrong_digit",
    "close_value",
    "truncated",
    "extra_digit",
    "times_ten",
    "negative",
    "hedged",
    "several_numbers",
    "self_correction",
    "non_ascii_digits",
    "decimal",
    "invalid_separators",
    "non_canonical",
    "expression",
)
_REWARD_PROPERTIES = (
    "total",
    "bounded",
    "deterministic",
    "true_answer_max",
    "only_true_answer_max",
    "near_misses",
    "monotone",
    "well_formed",
    "linear_time",
)
_PARSER_PROPERTIES = (
    "total",
    "rejects_non_str",
    "deterministic",
    "well_formed",
    "accepts_true_answer",
    "reads_written_value",
    "near_misses",
    "linear_time",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mult-env`` command."""
    parser = argparse.ArgumentParser(
        prog="mult-env",
        description="Reproducible multiplication problems and hack-resistant reward scoring.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "problems",
        help="print problems of a difficulty, seed and split",
        description="Print items START..START+N-1 of ProblemSet(difficulty, seed, split). The "
        "same arguments give the same problems on every machine and version.",
        epilog="example: mult-env problems --difficulty medium --seed 42 -n 100 --split test",
    )
    p.add_argument(
        "--difficulty",
        type=_difficulty,
        default="medium",
        help=f"one of {', '.join(DIFFICULTIES)} or AxB digit counts such as 3x2 (default: medium)",
    )
    p.add_argument("--seed", type=_non_negative, default=0, help="stream seed (default: 0)")
    p.add_argument("--split", choices=["train", "test"], default="train", help="(default: train)")
    p.add_argument("-n", type=_non_negative, default=10, help="how many problems (default: 10)")
    p.add_argument("--start", type=_non_negative, default=0, help="first index (default: 0)")
    p.add_argument("--shard", type=_non_negative, default=0, help="this shard (default: 0)")
    p.add_argument("--num-shards", type=int, default=1, help="number of shards (default: 1)")
    p.add_argument(
        "--format", choices=["table", "jsonl"], default="table", help="Markdown table or JSONL"
    )

    s = sub.add_parser(
        "score",
        help="score completions and print each reward breakdown as JSONL",
        description="Score completions of a problem given with --a/--b, or read JSONL records "
        '{"a": 847, "b": 293, "completion": "..."} from stdin. Prints one JSON object per '
        "completion with its reward breakdown (total, correctness, format_ok, parsed, reason...).",
        epilog="example: mult-env score --a 847 --b 293 'The answer is 248,171.' '248172'",
    )
    s.add_argument("completions", nargs="*", help="completion texts (with --a and --b)")
    s.add_argument("--a", type=_non_negative, help="first operand")
    s.add_argument("--b", type=_non_negative, help="second operand")
    s.add_argument(
        "--parser", default="answer", choices=sorted(PARSERS), help="parser (default: answer)"
    )
    s.add_argument(
        "--reward", default="shaped", choices=sorted(REWARDS), help="reward (default: shaped)"
    )
    s.add_argument("--format-coef", type=float, default=0.1, help="format penalty (default: 0.1)")
    s.add_argument("--assistant-prefix", default="", help="text pre-filled before each completion")
    _add_rescore(sub)

    c = sub.add_parser(
        "check-reward",
        help="property-check a reward function (needs mult-env[testing])",
        description="Run mult_env.testing.check_reward on a reward: the true answer in every "
        "accepted form scores the maximum, nothing else does, scores stay in range, shaping is "
        "monotone, scores are deterministic, near misses (negative, 10x, hedged, non-ASCII "
        "digits, expressions, ...) earn no credit, and long completions score in linear time "
        "(the reward runs in a child process: a hang is killed and reported). Prints the "
        "report with the minimal counterexample of each violated property; exits 1 if any "
        "property fails.",
        epilog="examples: mult-env check-reward my_rewards:partial_credit  |  "
        "mult-env check-reward my_rewards:text_reward --parser none  |  "
        "mult-env check-reward shaped --parser last_number",
    )
    c.add_argument(
        "target",
        help="module:function, (value, answer) -> float, or a registered reward name; with "
        "--parser none, (completion, answer) -> float. The current directory is importable.",
    )
    c.add_argument(
        "--parser",
        default="answer",
        help="registered parser name, module:function, or 'none' if the reward reads the "
        "completion itself (default: answer)",
    )
    _add_check_options(c, _REWARD_PROPERTIES)

    k = sub.add_parser(
        "check-parser",
        help="property-check an answer parser (needs mult-env[testing])",
        description="Run mult_env.testing.check_parser on a parser (completion: str) -> "
        "ParseResult: total on any text, TypeError for non-str, every accepted form of the true "
        "answer read, wrong numbers read as written, ambiguous near misses read as no value, "
        "linear time. Prints the report; exits 1 if any property fails.",
        epilog="examples: mult-env check-parser my_parsers:strict_answer --style answer  |  "
        "mult-env check-parser my_parsers:answer_tag --style my_parsers:tagged",
    )
    k.add_argument("target", help="module:function or a registered parser name")
    _add_check_options(k, _PARSER_PROPERTIES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "problems":
            return _cmd_problems(args, sys.stdout)
        if args.command == "rescore":
            return _cmd_rescore(args, sys.stdout)
        if args.command in ("check-reward", "check-parser"):
            return _cmd_check(args, sys.stdout)
        return _cmd_score(args, sys.stdout, sys.stdin)
    except (ValueError, TypeError) as e:
        parser.exit(2, f"mult-env {args.command}: error: {e}\n")
    return 2  # unreachable: parser.exit raises SystemExit


if __name__ == "__main__":
    sys.exit(main())
