"""TEST INFRASTRUCTURE for SkyRL 0.4.0: a stand-in for ``torch`` in the SkyRL server's venv.

SkyRL's JAX backend never runs torch, but two of its modules import it at import time (for
type annotations and an image-input path that text models do not reach). Real torch would cost
a multi-GB install for nothing; this module gives those imports the names they touch and fails
loudly if anything tries to use torch for real. It has no package metadata, no version and no
``__file__``, which is how transformers recognises a stray namespace package: transformers
then treats torch as not installed, as it should.
"""

from typing import NoReturn

__file__ = None  # type: ignore[assignment]  # see the docstring


class Tensor:
    """Only ever used in ``isinstance`` checks and annotations."""


class dtype:  # torch's own spelling
    """Only ever used in annotations."""


def __getattr__(name: str) -> NoReturn:
    if name.startswith("__"):
        raise AttributeError(name)
    raise RuntimeError(f"torch.{name} used in the SkyRL test server: the stand-in has no torch")
