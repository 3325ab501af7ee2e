"""The package's public names."""

from __future__ import annotations

import sluice.eventstore


def test_eventstore_exports_a_sorted_all_of_existing_names():
    names = sluice.eventstore.__all__
    assert names == sorted(names)
    assert all(hasattr(sluice.eventstore, name) for name in names)
