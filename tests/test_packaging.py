"""The built wheel is what users install: build it, install it into a fresh venv, import it.

Everything else in the suite runs against the checkout (or an editable install of it), where a
module or data file that the wheel leaves out still imports. This test builds the wheel the way
the docs' install lines do (``pip wheel --no-deps``), installs it with ``--no-deps`` into a new
virtual environment that sees this environment's third-party packages (through a ``.pth``
line, not the checkout, nor the editable install's hook), and imports every module it ships
from there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mult_env", "mult_env_v1", "trainers")
"""The top-level packages of the wheel (``[tool.hatch.build.targets.wheel]``)."""

CHECK = r"""
import importlib, importlib.metadata, json, sys
from pathlib import Path

packages, root = tuple(sys.argv[1].split(",")), Path(sys.argv[2])
dist = importlib.metadata.distribution("mult-env")
files = [str(f) for f in dist.files]
modules = sorted(
    f[:-3].replace("/", ".").removesuffix(".__init__")
    for f in files
    if f.endswith(".py") and f.split("/")[0] in packages
)
failures = {}
for name in modules:
    try:
        module = importlib.import_module(name)
    except ImportError as error:  # a third-party package this environment lacks is fine
        if (error.name or "").split(".")[0] in packages:
            failures[name] = repr(error)
        continue
    origin = Path(module.__file__).resolve()
    if root in origin.parents:
        failures[name] = f"imported from the checkout: {origin}"
print(json.dumps({
    "files": files,
    "modules": modules,
    "failures": failures,
    "requires": dist.requires,
    "scripts": sorted(ep.name for ep in dist.entry_points if ep.group == "console_scripts"),
}))
"""


def _run(*command: str | Path, cwd: Path, timeout: int = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_ships_every_module(tmp_path: Path) -> None:
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", ROOT,
         cwd=tmp_path)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("mult_env-*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).strip()
    )
    # Third-party packages (numpy, torch, trl, ...) come from this environment, after the
    # venv's own site-packages; a plain path line does not run that directory's .pth files,
    # so the editable install of the checkout stays invisible.
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", wheel, cwd=tmp_path)  # fmt: skip

    report = json.loads(_run(python, "-c", CHECK, ",".join(PACKAGES), ROOT, cwd=tmp_path))
    assert report["failures"] == {}

    shipped = {f for f in report["files"] if f.split("/")[0] in PACKAGES}
    in_checkout = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert in_checkout - shipped == set()  # every module and data file (py.typed) is shipped
    assert "mult_env/py.typed" in shipped
    assert not any(f.startswith(("tests/", "benchmarks/", "docs/")) for f in report["files"])
    assert len(report["modules"]) >= 20

    assert report["scripts"] == ["mult-env", "mult-env-train"]
    out = _run(venv / "bin" / "mult-env", "problems", "--difficulty", "easy", "-n", "2",
               cwd=tmp_path)  # fmt: skip
    assert out.splitlines()[0] == "| index | a | b | answer |" and len(out.splitlines()) == 4
    requires = report["requires"]
    assert "gymnasium>=1.1" in requires and "numpy>=1.24" in requires
    assert any(r.startswith("verifiers<0.5,>=0.3.1") for r in requires), requires
