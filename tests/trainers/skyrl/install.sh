#!/usr/bin/env bash
# TEST INFRASTRUCTURE for SkyRL 0.4.0 (not part of mult_env or trainers): builds the Python 3.12
# virtual environment that runs SkyRL's Tinker API server (JAX backend, CPU) for the
# integration test tests/trainers/test_tinker_server.py. The session fixture runs this script
# when the venv is missing; run it by hand to pre-build it:
#
#     tests/trainers/skyrl/install.sh [VENV_DIR]     # default: <repo>/.venv-skyrl
#
# Why it is not `pip install 'skyrl[tinker,jax]'`: skyrl 0.4.0 pins peft==0.18.1, which pulls a
# multi-GB CUDA torch, and its `tinker` extra pins an SDK older than the one the server code
# imports. The JAX path needs neither torch nor peft at run time, so skyrl is installed without
# its dependencies and the server's actual imports are installed explicitly; the two modules
# SkyRL imports torch/peft from get stand-ins (tests/trainers/skyrl/stubs, on PYTHONPATH when
# the server starts). Needs Python >= 3.12 (flax and skyrl require it): $SKYRL_PYTHON, else
# python3.12 on PATH, else pyenv's 3.12.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${1:-$repo/.venv-skyrl}"
py="${SKYRL_PYTHON:-}"
if [ -z "$py" ]; then
    for candidate in python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python; do
        # (a pyenv shim can exist on PATH yet fail to run: try each candidate for real)
        if "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
            py="$candidate"
            break
        fi
    done
fi
[ -n "$py" ] || { echo "install.sh: no Python >= 3.12 found (set SKYRL_PYTHON)" >&2; exit 1; }
tmp="$venv.partial"
rm -rf "$tmp"
nice -n 10 "$py" -m venv "$tmp"
pip=("$tmp/bin/python" -m pip install -q --disable-pip-version-check)
nice -n 10 "${pip[@]}" -U pip
nice -n 10 "${pip[@]}" --no-deps skyrl==0.4.0
nice -n 10 "${pip[@]}" -r "$here/requirements.txt"
# Built at a temporary path and moved into place only when complete, so a killed install
# never leaves a half-built venv that the fixture would take for a finished one.
rm -rf "$venv"
mv "$tmp" "$venv"
# venvs hard-code their path in scripts; the fixture only runs "$venv/bin/python -m ...", which
# works after the move because python resolves its prefix from pyvenv.cfg's location.
echo "SkyRL Tinker server venv ready: $venv"
