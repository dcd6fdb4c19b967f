"""Integration tests against real external systems (a Slurm testbed)."""
