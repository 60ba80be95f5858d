"""TEST INFRASTRUCTURE for SkyRL 0.4.0: run its Tinker API server for the integration tests.

Runs inside the SkyRL venv (``tests/trainers/skyrl/install.sh``), never in the project's own
environment, and nothing in ``mult_env`` or ``trainers`` depends on it. It starts the same
server as ``python -m skyrl.tinker.api`` with two changes:

* the engine subprocess is started with this venv's Python instead of ``uv run`` (SkyRL's
  launcher rebuilds the engine command from a parent ``uv run`` command line);
* the ASGI app is wrapped in :class:`WireBridge`, which adapts the three places where SkyRL
  0.4.0 speaks an older Tinker protocol than the tinker SDK >= 0.38 the trainer uses (see its
  docstring). The trainer handles everything else, including the missing
  ``prompt_logprobs_last_n``, itself.

Usage (the test fixture does this)::

    PYTHONPATH=tests/trainers/skyrl/stubs .venv-skyrl/bin/python tests/trainers/skyrl/serve.py \\
        --base-model DIR --backend jax \\
        --backend-config '{"max_lora_adapters": 8, "max_lora_rank": 8}' \\
        --database-url sqlite:///DB --checkpoints-base DIR --host 127.0.0.1 --port PORT
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import skyrl.tinker.api as api
from skyrl.tinker import types

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _engine_command(parent_cmd: list[str], engine_config: object) -> list[str]:
    """The engine subprocess, run with this interpreter (SkyRL's own builds a ``uv run``)."""
    return [sys.executable, "-m", "skyrl.tinker.engine", *api.config_to_argv(engine_config)]


api._build_uv_run_cmd_engine = _engine_command


class WireBridge:
    """ASGI middleware: SkyRL 0.4.0's Tinker API as the tinker SDK >= 0.38 speaks it.

    TEST INFRASTRUCTURE, for this server version only. It bridges exactly two gaps:

    1. ``POST /api/v1/asample``: the SDK asserts that a sampling promise carries one
       ``sample_sequence_ids`` entry per requested sample; SkyRL's answer has none. The bridge
       adds ``<request_id>:<i>`` ids.
    2. ``POST /api/v1/load_weights`` in the SDK's create-via-load form (``session_id`` +
       ``model_seq_id``, used by ``create_training_client_from_state[_with_optimizer]``):
       SkyRL only knows the legacy form (``model_id`` of a model made by ``create_model``) and
       answers 422. The bridge creates the model under the id the SDK derives,
       ``<session_id>:train:<model_seq_id>``, with the checkpoint's LoRA config, then forwards
       the load in SkyRL's form.

    The third difference, ``prompt_logprobs_last_n`` being ignored, is *not* bridged: the
    trainer copes with such a server itself, and the integration test checks that it does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or path
            not in (
                "/api/v1/asample",
                "/api/v1/load_weights",
            )
        ):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request = json.loads(body) if body else {}
        if path == "/api/v1/load_weights" and "model_id" not in request and "session_id" in request:
            request = await _create_model_for_load(request)
            body = json.dumps(request).encode()
        if path == "/api/v1/asample":
            await self.app(scope, _replay(body), _add_sequence_ids(send, request))
        else:
            await self.app(scope, _replay(body), send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _add_sequence_ids(send: Send, request: dict[str, Any]) -> Send:
    """Buffer the JSON answer and add ``sample_sequence_ids`` to a successful one."""
    start: Message = {}
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        if start.get("status") == 200:
            answer = json.loads(body)
            n = int(request.get("num_samples", 1))
            answer["sample_sequence_ids"] = [f"{answer['request_id']}:{i}" for i in range(n)]
            body = json.dumps(answer).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return wrapped


async def _create_model_for_load(request: dict[str, Any]) -> dict[str, Any]:
    """Create the model a create-via-load names; return the load in SkyRL's legacy form."""
    from sqlmodel.ext.asyncio.session import AsyncSession

    model_id = f"{request['session_id']}:train:{request['model_seq_id']}"
    path = types.TinkerPath.parse(request["path"])
    async with AsyncSession(api.app.state.db_engine) as session:
        if path is not None and await session.get(api.ModelDB, model_id) is None:
            source = await session.get(api.ModelDB, path.primary_id)
            if source is not None:  # else SkyRL's own load_weights answers the 404
                lora = types.LoraConfig(**source.lora_config)
                request_id = await api.create_future(
                    session=session,
                    request_type=types.RequestType.CREATE_MODEL,
                    model_id=model_id,
                    request_data=types.CreateModelInput(lora_config=lora),
                )
                session.add(
                    api.ModelDB(
                        model_id=model_id,
                        base_model=request.get("base_model") or source.base_model,
                        lora_config=lora.model_dump(),
                        status="created",
                        request_id=request_id,
                        session_id=request["session_id"],
                    )
                )
                await session.commit()
    return {
        "model_id": model_id,
        "path": request["path"],
        "optimizer": bool(request.get("optimizer", True)),
        "type": "load_weights",
    }


def main() -> None:
    import uvicorn
    from skyrl.tinker.config import EngineConfig, add_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model(parser, EngineConfig)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    fields = {k: v for k, v in vars(args).items() if k in EngineConfig.model_fields}
    api.app.state.engine_config = EngineConfig.model_validate(fields)
    uvicorn.run(WireBridge(api.app), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
