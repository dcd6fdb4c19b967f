"""The one run of the Slurm job mix that every integration test module reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import slurm_mix
from .slurm_mix import MixRun


@pytest.fixture(scope="session")
def mix(tmp_path_factory: pytest.TempPathFactory) -> MixRun:
    """Submit the mix, export it, ask sreport and sacct -T (slurm_mix.run_mix), once
    per test session. Skips without a usable testbed, unless RDCOST_REQUIRE_SLURM=1
    (then it fails); RDCOST_SLURM_EXPORT_DIR keeps the exports."""
    reason = slurm_mix.unusable_reason()
    if reason:
        if os.environ.get("RDCOST_REQUIRE_SLURM") == "1":
            pytest.fail(f"RDCOST_REQUIRE_SLURM=1 but the Slurm testbed is not usable: {reason}")
        pytest.skip(
            f"no Slurm testbed ({reason}); start one with `sudo scripts/slurm-testbed.sh start`"
        )
    outdir = os.environ.get("RDCOST_SLURM_EXPORT_DIR")
    out = Path(outdir) if outdir else tmp_path_factory.mktemp("slurm-exports")
    return slurm_mix.run_mix(out)
