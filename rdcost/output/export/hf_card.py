"""The Hugging Face model-card ``co2_eq_emissions`` metadata block for the final model
(`rdcost card --format hf`): the keys the Hub documents (``emissions`` in grams of CO2e,
``source``, ``training_type``, ``geographical_location``, ``hardware_used``), as the YAML
front matter of a model card's README.md. Unknown values are ``null``."""

from __future__ import annotations

import json
from typing import Any

from rdcost.output.statement import Statement
from rdcost.version import __version__

#: The keys of the block, in the Hub's order.
KEYS = ("emissions", "source", "training_type", "geographical_location", "hardware_used")
TRAINING_TYPES = ("pre-training", "fine-tuning")
G_PER_KG = 1000


def block(
    st: Statement, *, training_type: str | None = None, location: str | None = None
) -> dict[str, Any]:
    """The block's values: the final model's CO2e in grams and how it was found."""
    kg = st.final_model_co2e_kg
    files = ", ".join(
        f"{r['path'].rsplit('/', 1)[-1]} (sha256 {r['sha256'][:12]})" for r in st.inputs
    )
    source = (
        f"rdcost {__version__} estimate from job logs"
        + (f" ({files})" if files else "")
        + f": {st.final_model_co2e_rule}; GPU-hours x power x PUE x carbon intensity. "
        f"Assumptions: {st.assumptions_text}"
    )
    return {
        "emissions": None if kg is None else kg * G_PER_KG,
        "source": source,
        "training_type": training_type,
        "geographical_location": location if location is not None else st.carbon_region,
        "hardware_used": None
        if st.final_model_hardware is None
        else st.final_model_hardware.replace(" × ", " x "),
    }


def to_yaml(values: dict[str, Any]) -> str:
    """The block as YAML front matter (``---`` lines around it); strings as JSON strings,
    which YAML reads as double-quoted scalars."""
    lines = ["---", "co2_eq_emissions:"]
    for k in KEYS:
        v = values.get(k)
        if v is None:
            text = "null"
        elif isinstance(v, float):
            text = repr(round(v, 3))
        else:
            text = json.dumps(v)
        lines.append(f"  {k}: {text}")
    return "\n".join([*lines, "---"]) + "\n"
