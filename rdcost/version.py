"""The version of rdcost, defined here only (pyproject.toml reads it; nothing here imports)."""

__version__ = "0.2.0"
