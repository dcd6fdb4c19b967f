"""The version of rdcost, defined here only (pyproject.toml reads it; nothing here imports)."""

__version__ = "0.1.0"
