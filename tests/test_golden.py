"""Every shipped config trains to the same bits as it did when tests/golden/shipped.json was made.

A redesign of the code must not move a bit: the weights, the optimizer's state and every metrics column
of `nettrain fit` on each frozen config (tests/golden/configs/, a few epochs each) are compared with the
SHA-256 digests recorded by tests/golden/make_golden.py. On a machine with another numpy or BLAS kernel
the last bits of a matrix product may differ: there the arrays' norms are compared to 1e-9 instead (the
test says which).
"""

from __future__ import annotations

import json
import math

import pytest

from .golden import make_golden as golden

RECORD = json.loads((golden.HERE / "shipped.json").read_text(encoding="utf-8"))
SAME_MACHINE = RECORD["machine"] == golden.machine()


@pytest.mark.parametrize("name", sorted(RECORD["runs"]))
def test_every_shipped_config_trains_to_the_recorded_bits(name, tmp_path):
    golden.fit(golden.HERE / "configs" / name, tmp_path / "run")
    got, want = golden.record(tmp_path / "run"), RECORD["runs"][name]
    assert sorted(got) == sorted(want)
    for key, w in want.items():
        if SAME_MACHINE:
            assert got[key]["sha256"] == w["sha256"], f"{name}: {key} moved (norm {got[key]['norm']!r} against {w['norm']!r})"
        else:
            assert math.isclose(got[key]["norm"], w["norm"], rel_tol=1e-9, abs_tol=1e-12), (name, key)
