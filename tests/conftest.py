"""Shared pytest configuration: hypothesis profiles.

Hypothesis loads its built-in ``ci`` profile (derandomised, more examples, no deadline) when
the ``CI`` environment variable is set; locally the default profile keeps the suite fast.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=50, deadline=None)
if not os.environ.get("CI"):
    settings.load_profile("dev")
