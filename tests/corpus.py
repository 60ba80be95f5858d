"""Completions and problems that the parser and reward tests score against fixed results.

``tests/data/golden_scores.json`` holds what every built-in parser and a set of scorers return
for :func:`texts` and :func:`cases`: accepted forms, near misses, hacks, junk and texts at the
length limits. The expected values were recorded from the library and reviewed; they change
only when a rule changes on purpose (then regenerate with ``python -m tests.corpus --write``
and review the diff).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mult_env import Problem, Scorer
from mult_env.parsers import MAX_ANSWER_CHARS, PARSERS

GOLDEN = Path(__file__).parent / "data" / "golden_scores.json"

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

SCORERS: dict[str, dict[str, Any]] = {
    "default": {},
    "binary": {"reward": "binary"},
    "no_format_term": {"format_coef": 0.0},
    "binary_full_format_term": {"format_coef": 1.0, "reward": "binary"},
    "prefilled": {"assistant_prefix": "The answer is "},
    "space_prefix": {"assistant_prefix": " "},
    "boxed": {"parser": "boxed"},
    "think_answer": {"parser": "think_answer"},
    "last_number": {"parser": "last_number"},
}

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
    "The answer is 4. Extra",
    "I am an AI who helps - with math",
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
    "\\boxed{}",
    "\\boxed{12",
    "\\boxed{1}\\boxed{1}",
    "<think>\\boxed{5}",
    "<think>a</think><think>",
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
        f"The answer is:{s}",
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
        f"The answer is \\boxed{{{s}}}.",
        f"<think>hmm</think>{s}",
        f"<think>hmm</think>\\boxed{{{s}}}",
        s.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        s.translate(str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))),
        s.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")),
        f"The answer is {s}²",
        f"{s[:-1]}٣" if len(s) > 1 else "٣",
    ]
    # single-digit changes at the first, a middle and the last position (same length)
    digits = [i for i, ch in enumerate(s) if ch.isdigit()]
    for i in sorted({digits[0], digits[len(digits) // 2], digits[-1]}):
        for d in "019":
            if d != s[i]:
                forms.append(f"The answer is {s[:i]}{d}{s[i + 1 :]}.")
    return forms


def texts() -> list[str]:
    """Every distinct completion of the corpus, in a fixed order."""
    out = list(ADVERSARIAL)
    for p in PROBLEMS:
        out += surface_forms(p.answer)
    return list(dict.fromkeys(out))


def cases() -> list[tuple[int, str]]:
    """``(problem index, completion)`` pairs: each problem's own forms and the adversarial set."""
    return [
        (i, t) for i, p in enumerate(PROBLEMS) for t in [*surface_forms(p.answer), *ADVERSARIAL]
    ]


def record() -> dict[str, Any]:
    """What the library returns today for the whole corpus (the golden file's content)."""
    all_texts = texts()
    parses = {
        name: [[None if r.value is None else str(r.value), r.well_formed, r.reason] for r in rs]
        for name in sorted(PARSERS)
        if name in {"answer", "boxed", "last_number", "think_answer", "think_boxed"}
        for rs in [[PARSERS[name](t) for t in all_texts]]
    }
    scores = {
        name: [list(Scorer(**kwargs).score(t, PROBLEMS[i]).to_dict().values()) for i, t in cases()]
        for name, kwargs in SCORERS.items()
    }
    return {"texts": len(all_texts), "cases": len(cases()), "parse": parses, "score": scores}


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.corpus --write")
    data = record()
    lines = [f'{{"texts": {data["texts"]}, "cases": {data["cases"]},']
    for key in ("parse", "score"):
        lines.append(f'"{key}": {{')
        for i, (name, rows) in enumerate(data[key].items()):
            body = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
            lines.append(f'"{name}": [\n{body}\n]' + ("," if i < len(data[key]) - 1 else ""))
        lines.append("}," if key == "parse" else "}}")
    GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
