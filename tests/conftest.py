"""Shared test configuration."""

from __future__ import annotations

import os

from hypothesis import settings

# In CI, property tests explore a fixed set of examples so that a run is reproducible;
# locally they keep searching new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
