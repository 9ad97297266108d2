"""Hypothesis profiles for the test suite.

Choose one with the environment variable ``REESIM_HYPOTHESIS_PROFILE``:

``dev``
    Fast feedback while editing (50 examples per property).
``ci``
    The default: 500 examples per property that does not set its own count;
    the differential test of the two engines runs under it.
``thorough``
    10,000 examples per property; run it before a release, e.g.
    ``REESIM_HYPOTHESIS_PROFILE=thorough pytest tests/test_differential.py``.

Engines are slow next to hypothesis' default deadline, so no profile has one.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILES = {"dev": 50, "ci": 500, "thorough": 10_000}

for _name, _examples in PROFILES.items():
    settings.register_profile(
        _name,
        max_examples=_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )

_chosen = os.environ.get("REESIM_HYPOTHESIS_PROFILE", "ci")
if _chosen not in PROFILES:
    raise ValueError(
        f"REESIM_HYPOTHESIS_PROFILE must be one of {sorted(PROFILES)} (got {_chosen!r})"
    )
settings.load_profile(_chosen)
