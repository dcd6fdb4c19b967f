"""The owned hardware as specified: the ``[owned]`` tables of the ``--assumptions`` presets and
files, then command-line options, layered in order (:class:`OwnedSpec`), each value with the
layer that gave it. Unset values are filled later (:mod:`rdcost.analysis.buy_vs_cloud.owned_params`).

The presets and files are read by :func:`rdcost.analysis.assumptions.read_layers`, the one
TOML loader; :func:`rdcost.analysis.assumptions.load` applies their other tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rdcost.analysis.assumptions import read_layers
from rdcost.errors import AssumptionError

#: Keys of the ``[owned]`` table of an assumptions TOML file.
OWNED_KEYS = (
    "server",
    "server_price_usd",
    "gpus_per_server",
    "is_whole_servers",
    "lifetime_years",
    "power_w_per_gpu",
    "hosting_usd_per_kw_month",
    "maintenance_fraction_per_year",
    "staff_fte",
    "staff_usd_per_fte_year",
    "source",
    "note",
)
_OWNED_NUMBERS = (
    "server_price_usd",
    "gpus_per_server",
    "lifetime_years",
    "power_w_per_gpu",
    "hosting_usd_per_kw_month",
    "maintenance_fraction_per_year",
    "staff_fte",
    "staff_usd_per_fte_year",
)


@dataclass(frozen=True)
class OwnedSpec:
    """Owned-side settings as given (None = take the default). ``origins``
    says, per setting, which layer gave it and on what source."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def merged(self, data: dict[str, Any], origin: str) -> OwnedSpec:
        """This spec with one more layer (an ``[owned]`` table or CLI options) on top."""
        unknown = sorted(set(data) - set(OWNED_KEYS))
        if unknown:
            raise AssumptionError(
                f"{origin}: unknown key(s) in [owned]: {unknown}",
                value=", ".join(unknown),
                hint=f"known keys: {', '.join(OWNED_KEYS)}",
            )
        values, origins = dict(self.values), dict(self.origins)
        if data.get("server") is not None and data.get("server_price_usd") is None:
            # a server chosen by a later layer replaces a price given by an earlier one
            for k in ("server_price_usd", "gpus_per_server"):
                values.pop(k, None)
                origins.pop(k, None)
        source = data.get("source")
        for k, v in data.items():
            if k in ("source", "note") or v is None:
                continue
            _check(k, v, origin)
            values[k] = v
            origins[k] = origin + (f"; {source}" if source else "")
        return OwnedSpec(values, origins)


def _check(k: str, v: Any, origin: str) -> None:
    """An error naming the layer, key and value when ``v`` is no valid value of ``owned.k``."""
    if k in _OWNED_NUMBERS:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise AssumptionError(f"{origin}: owned.{k} must be a number >= 0", value=str(v))
        if k == "gpus_per_server" and (v != int(v) or v == 0):
            raise AssumptionError(
                f"{origin}: owned.gpus_per_server must be a whole number > 0", value=str(v)
            )
    elif k == "is_whole_servers" and not isinstance(v, bool):
        raise AssumptionError(
            f"{origin}: owned.is_whole_servers must be true or false", value=str(v)
        )
    elif k == "server" and not (isinstance(v, str) and v.strip()):
        raise AssumptionError(f"{origin}: owned.server must be a GPU key", value=str(v))


def load_owned(specs: Sequence[str], base: OwnedSpec | None = None) -> OwnedSpec:
    """The ``[owned]`` tables of the ``--assumptions`` presets/files, in order.

    The specs are read by :func:`rdcost.analysis.assumptions.read_layers` (the same reader,
    and the same errors, as :func:`rdcost.analysis.assumptions.load`, which reads the other
    tables of those files).
    """
    spec_out = base or OwnedSpec()
    for layer in read_layers(specs):
        owned = layer.data.get("owned")
        if owned is None:
            continue
        if not isinstance(owned, dict):
            raise AssumptionError(f"{layer.origin}: owned must be a table", value=str(owned))
        spec_out = spec_out.merged(owned, layer.origin)
    return spec_out
