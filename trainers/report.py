"""``report.md`` and PNG plots for a run directory, with the research log's tables.

The log reported every run with the same few tables: accuracy / format / mixed groups per
10-batch window, peak accuracy and its batch, the best 10-batch window, and held-out accuracy
and format of the base and trained model with the difference. :func:`write_report` produces
exactly those from ``metrics.jsonl``, ``eval_base.json`` and ``eval_final.json``, so a local run
can be compared with the log line by line. Run it on any run directory (also a killed one)::

    python -m trainers.report runs/multiply-2x1-SmolLM2-135M-Instruct-lr0.0003-bs8-20260104-0129
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mult_env.metrics import best_window, peak, viability, windows

__all__ = [
    "curriculum_course",
    "load_run",
    "plot_run",
    "render_report",
    "summarize",
    "write_report",
]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _pp(x: float) -> str:
    return f"{100 * x:+.1f}%"


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """Config, per-batch metrics and evaluations of a run directory (missing parts are None)."""
    run_dir = Path(run_dir)

    def _json(name: str) -> Any:
        path = run_dir / name
        return json.loads(path.read_text()) if path.exists() else None

    rows = []
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        for line in metrics.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return {
        "run_dir": run_dir,
        "config": _json("config.json") or {},
        "metrics": rows,
        "eval_base": _json("eval_base.json"),
        "eval_final": _json("eval_final.json"),
        "eval_rungs": _json("eval_rungs.json"),
        "summary": _json("summary.json"),
    }


def _col(rows: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in rows if key in r]


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    """The numbers the log's tables and the ablation table are made of."""
    rows = run["metrics"]
    acc = _col(rows, "env/all/correct")
    fmt = _col(rows, "env/all/format")
    mixed = _col(rows, "env/all/by_group/frac_mixed")
    good = _col(rows, "env/all/by_group/frac_all_good")
    bad = _col(rows, "env/all/by_group/frac_all_bad")
    out: dict[str, Any] = {"n_batches": len(rows)}
    if acc:
        out["start_accuracy"] = acc[0]
        out["end_accuracy"] = acc[-1]
        out["peak"] = peak(acc)
        out["best_window"] = best_window(acc, 10)
        out["min_format"] = peak([-f for f in fmt])
        out["min_format"] = (out["min_format"][0], -out["min_format"][1])
        out["frac_mixed"] = sum(mixed) / len(mixed)
        out["frac_all_good"] = sum(good) / len(good)
        out["frac_all_bad"] = sum(bad) / len(bad)
        out["frac_mixed_last10"] = sum(mixed[-10:]) / len(mixed[-10:])
    base, final = run["eval_base"], run["eval_final"]
    if base and final:
        out["heldout_change"] = final["accuracy"] - base["accuracy"]
        out["heldout_format_change"] = final["format_rate"] - base["format_rate"]
    times = {k: _col(rows, k) for k in ("time/sample", "time/ref", "time/score", "time/train")}
    total = _col(rows, "time/total")
    if total:
        out["time_per_batch"] = sum(total) / len(total)
        backend = sum(sum(times[k]) for k in ("time/sample", "time/ref", "time/train"))
        out["overhead_share"] = max(0.0, 1 - (backend + sum(_col(rows, "time/eval"))) / sum(total))
        out["time_split"] = {k: sum(v) / len(total) for k, v in times.items() if v}
    return out


def render_report(run: dict[str, Any], plots: Sequence[str] = ()) -> str:
    """The Markdown report (same table layout as the research log)."""
    cfg, rows = run["config"], run["metrics"]
    s = summarize(run)
    name = Path(run["run_dir"]).name
    lines = [f"# RL run `{name}`", ""]
    lines += ["## Training Config", "", "```"]
    for key in (
        "model_name",
        "backend",
        "difficulty",
        "n_batches",
        "batch_size",
        "group_size",
        "learning_rate",
        "lora_rank",
        "kl_penalty_coef",
        "reward",
        "parser",
        "few_shot",
        "assistant_prefix",
        "temperature",
        "seed",
    ):
        if key in cfg:
            lines.append(
                f"{key}: {cfg[key]!r}" if isinstance(cfg[key], str) else f"{key}: {cfg[key]}"
            )
    lines += ["```", ""]

    lines += ["## Training Metrics", ""]
    if not rows:
        lines += ["No batches logged yet.", ""]
    else:
        acc = _col(rows, "env/all/correct")
        fmt = _col(rows, "env/all/format")
        mixed = _col(rows, "env/all/by_group/frac_mixed")
        lines += [
            "| Window | Accuracy | Format | Mixed Groups |",
            "|--------|----------|--------|--------------|",
        ]
        for (a, b, m), (_, _, f), (_, _, x) in zip(
            windows(acc), windows(fmt), windows(mixed), strict=True
        ):
            lines.append(f"| Batches {a}-{b} | {_pct(m)} | {_pct(f)} | {_pct(x)} |")
        fmt_first, fmt_last = windows(fmt)[0][2], windows(fmt)[-1][2]
        if s["min_format"][1] >= 0.95:
            format_verdict = "stable"
        elif fmt_last < fmt_first - 0.05:
            format_verdict = "**degraded during training** (format drift: see troubleshooting)"
        elif fmt_last > fmt_first + 0.05:
            format_verdict = "improved during training"
        else:
            format_verdict = "no lasting drift"
        p_i, p_v = s["peak"]
        w_a, w_b, w_m = s["best_window"]
        f_i, f_v = s["min_format"]
        lines += [
            "",
            f"- **Peak accuracy:** {_pct(p_v)} at batch {p_i}",
            f"- **Best 10-batch window:** {_pct(w_m)} (batches {w_a}-{w_b})",
            f"- **Format:** {_pct(fmt_first)} in the first window, {_pct(fmt_last)} in the "
            f"last; minimum {_pct(f_v)} (batch {f_i}): {format_verdict}",
            f"- **Learning signal:** frac_mixed {_pct(s['frac_mixed'])}, "
            f"frac_all_good {_pct(s['frac_all_good'])}, frac_all_bad {_pct(s['frac_all_bad'])}"
            " (frac_mixed > 25-30% is a good signal; a high all-bad rate means too hard)",
            "",
        ]
        evals = [r for r in rows if "test/env/all/correct" in r]
        if evals:
            lines += ["Periodic held-out evaluations (greedy):", ""]
            lines += ["| After batch | Accuracy | Format |", "|---|---|---|"]
            for r in evals:
                lines.append(
                    f"| {r['step']} | {_pct(r['test/env/all/correct'])} | "
                    f"{_pct(r['test/env/all/format'])} |"
                )
            lines.append("")

    base, final = run["eval_base"], run["eval_final"]
    lines += [f"## Held-Out Evaluation ({(base or final or {}).get('n', '?')} test problems)", ""]
    lines += ["| Model | Accuracy | Format |", "|-------|----------|--------|"]
    if base:
        lines.append(f"| Base model | {_pct(base['accuracy'])} | {_pct(base['format_rate'])} |")
    if final:
        lines.append(
            f"| Trained model | {_pct(final['accuracy'])} | {_pct(final['format_rate'])} |"
        )
    if base and final:
        lines.append(
            f"| **Improvement** | **{_pp(s['heldout_change'])}** | "
            f"**{_pp(s['heldout_format_change'])}** |"
        )
    lines.append("")
    if base:
        lines += [
            f"RL viability of the base accuracy ({_pct(base['accuracy'])}): "
            f"**{viability(base['accuracy'])}**.",
            "",
        ]
    done = run.get("summary")
    overhead = (done or {}).get("overhead_share", s.get("overhead_share", 0.0))
    if done and done.get("stopped_early"):
        lines += [f"**Stopped early** ({done['stopped_early']}).", ""]
    if "time_per_batch" in s:
        split = ", ".join(f"{k.split('/')[1]} {v:.2f} s" for k, v in s["time_split"].items())
        lines += [
            "## Timing",
            "",
            f"{s['time_per_batch']:.2f} s per batch ({split}); trainer overhead outside "
            f"backend calls {100 * overhead:.2f}% of the training loop's wall time."
            + (f" Whole run: {done['total_s']:.0f} s." if done and "total_s" in done else ""),
            "",
        ]
    lines += _curriculum_section(run)
    for plot in plots:
        lines += [f"![{plot}]({plot})", ""]
    return "\n".join(lines)


def curriculum_course(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per rung of a curriculum run: batches drawn on it, and groups and train accuracy of
    its problems (mixed-in groups included), from ``metrics.jsonl`` rows."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        if "curriculum/difficulty" in r:
            entry = out.setdefault(r["curriculum/difficulty"], {})
            entry["batches"] = entry.get("batches", 0.0) + 1
        for key, value in r.items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == "env" and parts[2] == "groups":
                name = parts[1]
                entry = out.setdefault(name, {})
                groups = float(value)
                correct = float(r[f"env/{name}/correct"]) * groups
                entry["groups"] = entry.get("groups", 0.0) + groups
                entry["correct_groups"] = entry.get("correct_groups", 0.0) + correct
    for entry in out.values():
        entry.setdefault("batches", 0.0)
        if entry.get("groups"):
            entry["accuracy"] = entry.pop("correct_groups") / entry["groups"]
    return out


def _curriculum_section(run: dict[str, Any]) -> list[str]:
    """The curriculum's walk and the held-out table on every rung it reached."""
    if not run["config"].get("curriculum"):
        return []
    rows = run["metrics"]
    state = (run.get("summary") or {}).get("curriculum")
    lines = ["## Curriculum", "", f"Ladder `{run['config']['curriculum']}`; "]
    course = curriculum_course(rows)
    if rows and "curriculum/difficulty" in rows[-1]:
        lines[-1] += (
            f"first batch on {rows[0].get('curriculum/difficulty', '?')}, "
            f"last on {rows[-1]['curriculum/difficulty']}."
        )
    if state and state.get("moves"):
        lines += ["", "| After group | From | To | Window accuracy |", "|---|---|---|---|"]
        for m in state["moves"]:
            lines.append(f"| {m['group']} | {m['from']} | {m['to']} | {_pct(m['accuracy'])} |")
    elif state:
        lines += ["", "The controller did not move."]
    evals = run.get("eval_rungs") or {}
    names = list(evals) or [n for n, e in course.items() if e["batches"]]
    lines += [
        "",
        "Held-out accuracy (greedy, test split of each rung) on every rung the run reached:",
        "",
        "| Rung | Batches on it | Train accuracy | Base | Trained | Change |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        c = course.get(name, {})
        base = (evals.get(name) or {}).get("base")
        final = (evals.get(name) or {}).get("final")
        change = _pp(final["accuracy"] - base["accuracy"]) if base and final else "-"
        lines.append(
            f"| {name} | {int(c.get('batches', 0))} | {_pct(c.get('accuracy'))} | "
            f"{_pct(base['accuracy'] if base else None)} | "
            f"{_pct(final['accuracy'] if final else None)} | {change} |"
        )
    lines.append("")
    return lines


def plot_run(run: dict[str, Any], out_dir: str | Path) -> list[str]:
    """Write ``curves.png`` (accuracy, format, frac_mixed, held-out points) and
    ``reward_kl.png`` (reward, entropy, KL); returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = run["metrics"]
    if not rows:
        return []
    out_dir = Path(out_dir)
    steps = [r["step"] for r in rows]
    names = []

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key, label in (
        ("env/all/correct", "train accuracy"),
        ("env/all/format", "format rate"),
        ("env/all/by_group/frac_mixed", "frac_mixed"),
    ):
        ax.plot(steps, [r.get(key, float("nan")) for r in rows], label=label)
    ev = [(r["step"], r["test/env/all/correct"]) for r in rows if "test/env/all/correct" in r]
    base, final = run["eval_base"], run["eval_final"]
    pts = ([(-1, base["accuracy"])] if base else []) + ev
    if final:
        pts.append((steps[-1], final["accuracy"]))
    if pts:
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, "ko--", label="held-out accuracy (greedy)")
    ax.set_xlabel("batch")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(Path(run["run_dir"]).name, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "curves.png", dpi=110)
    plt.close(fig)
    names.append("curves.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key, label in (
        ("env/all/reward/total", "mean reward"),
        ("optim/entropy", "entropy (nats/token)"),
        ("optim/kl_policy_base", "KL(policy || base) per token"),
    ):
        if any(key in r for r in rows):
            ax.plot(steps, [r.get(key, float("nan")) for r in rows], label=label)
    ax.set_xlabel("batch")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "reward_kl.png", dpi=110)
    plt.close(fig)
    names.append("reward_kl.png")

    if any("curriculum/rung" in r for r in rows):
        labels = {
            int(r["curriculum/rung"]): str(r.get("curriculum/difficulty", r["curriculum/rung"]))
            for r in rows
            if "curriculum/rung" in r
        }
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.step(steps, [r.get("curriculum/rung", float("nan")) for r in rows], where="post")
        ax.set_yticks(sorted(labels))
        ax.set_yticklabels([labels[i] for i in sorted(labels)])
        ax.set_xlabel("batch")
        ax.set_ylabel("curriculum rung")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "curriculum.png", dpi=110)
        plt.close(fig)
        names.append("curriculum.png")
    return names


def write_report(run_dir: str | Path, *, plots: bool = True) -> Path:
    """Write ``report.md`` (and the plots) into ``run_dir``; returns the report path."""
    run = load_run(run_dir)
    names = plot_run(run, run_dir) if plots else []
    path = Path(run_dir) / "report.md"
    path.write_text(render_report(run, names))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m trainers.report RUN_DIR...``: (re)write the report of each run."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m trainers.report RUN_DIR [RUN_DIR ...]", file=sys.stderr)
        return 2
    for arg in args:
        print(write_report(arg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
