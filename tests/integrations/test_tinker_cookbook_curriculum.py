"""``MultiplicationCurriculumDataset``: tinker-cookbook batches that follow a viability curriculum.

The renderer is a byte-level stand-in with the cookbook's renderer contract; the envs, the
scorer and the ``tinker.ModelInput`` observations are real, and the integration test drives a
group through tinker-cookbook's own ``do_group_rollout``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

tinker = pytest.importorskip("tinker")

from mult_env.curriculum import Curriculum  # noqa: E402
from mult_env.integrations.tinker_cookbook import (  # noqa: E402
    MultiplicationCurriculumDataset,
    MultiplicationEnvConfig,
)

STOP = 256
QUESTION = re.compile(r"What is (\d+) \* (\d+)\?")


class Clean:
    is_clean = True
    is_stop_sequence = True


class Renderer:
    """Bytes in, bytes out; token 256 ends a turn."""

    def build_generation_prompt(self, messages: list[dict[str, Any]]) -> Any:
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return tinker.ModelInput.from_ints(list(text.encode()))

    def get_stop_sequences(self) -> list[int]:
        return [STOP]

    def parse_response(self, response: list[int]) -> tuple[dict[str, Any], Any]:
        end = response.index(STOP) if STOP in response else len(response)
        return {"role": "assistant", "content": bytes(response[:end]).decode()}, Clean()


def answer_tokens(prompt: Any, right: bool) -> list[int]:
    a, b = map(int, QUESTION.findall(bytes(prompt.to_ints()).decode())[-1])
    return [*f"The answer is {a * b + (0 if right else 1)}.".encode(), STOP]


async def rollout_batch(builders: Any, right: Any) -> None:
    """Each group as the cookbook runs it: envs, observe, step, then group rewards."""
    for builder in builders:
        envs = await builder.make_envs()
        for env in envs:
            prompt, _ = await env.initial_observation()
            await env.step(answer_tokens(prompt, right(env.problem)))
        assert await builder.compute_group_rewards([None] * len(envs), envs) == [
            (0.0, {}) for _ in envs
        ]


def dataset(**kwargs: Any) -> MultiplicationCurriculumDataset:
    return MultiplicationCurriculumDataset(
        Renderer(),
        batch_size=2,
        group_size=3,
        n_batches=10,
        curriculum="1x1,2x1,2x2,window=2",
        config=MultiplicationEnvConfig(few_shot=False),
        **kwargs,
    )


def test_batches_follow_the_curriculum_as_groups_are_graded() -> None:
    data = dataset()
    course = []
    for i in range(4):
        batch = data.get_batch(i)
        rungs = {(len(str(b.problem.a)), len(str(b.problem.b))) for b in batch}
        assert len(rungs) == 1 and all(b.group_size == 3 for b in batch)
        course.append(batch[0].tags[1])
        asyncio.run(rollout_batch(batch, lambda p: p.a < 10 or p.b < 10))  # 2x2 is too hard
    assert course == ["mult_1x1", "mult_2x1", "mult_2x2", "mult_2x1"]
    assert data.curriculum.totals == {"1x1": [2, 6, 6], "2x1": [4, 12, 12], "2x2": [2, 6, 0]}
    assert len(data) == 10


def test_batches_are_a_pure_function_of_the_curriculum_state_and_index() -> None:
    a, b = dataset(), dataset()
    assert [x.problem for x in a.get_batch(3)] == [x.problem for x in b.get_batch(3)]
    state = Curriculum(["1x1", "2x1", "2x2"], start="2x1", window=2).state_dict()
    a.curriculum.load_state_dict(state)
    assert all(x.problem.a >= 10 for x in a.get_batch(0))
    with pytest.raises(IndexError):
        a.get_batch(10)
    with pytest.raises(ValueError, match="needs a curriculum"):
        dataset_args: dict[str, Any] = {"batch_size": 1, "group_size": 1, "n_batches": 1}
        MultiplicationCurriculumDataset(Renderer(), curriculum="", **dataset_args)


@pytest.mark.integration
def test_the_cookbooks_group_rollout_records_into_the_curriculum() -> None:
    rollouts = pytest.importorskip("tinker_cookbook.rl.rollouts")
    from tinker_cookbook.completers import TokenCompleter, TokensWithLogprobs

    class Solver(TokenCompleter):  # type: ignore[misc]
        """Stands in for the Tinker sampler: answers every prompt correctly."""

        async def __call__(self, model_input: Any, stop: Any, **kwargs: Any) -> Any:
            tokens = answer_tokens(model_input, True)
            return TokensWithLogprobs(
                tokens=tokens, maybe_logprobs=[-0.1] * len(tokens), stop_reason="stop"
            )

    data = dataset()
    for builder in data.get_batch(0):
        group = asyncio.run(rollouts.do_group_rollout(builder, Solver()))
        assert group.get_total_rewards() == [1.0, 1.0, 1.0]
    assert data.curriculum.name == "2x1" and data.get_batch(1)[0].tags[1] == "mult_2x1"
