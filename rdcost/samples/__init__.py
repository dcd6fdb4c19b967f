"""Generators of the synthetic sample logs shipped in ``sample_logs/``.

The logs behind published case studies are not public, so rdcost ships
synthetic logs with the same published shape, made by deterministic
generators (same seed, byte-identical files):

- :mod:`rdcost.samples.lisa`: a LISA-like NLP project (Strubell et al., ACL
  2019, section 4.2): ``python -m rdcost.samples.lisa --seed 2019 --out
  sample_logs/lisa``.
- :mod:`rdcost.samples.energy`: a small GPU project whose exports carry every energy
  source rdcost reads (node energy counters, TRES usage, jobstats, W&B power metrics),
  with a carbon-intensity series and a site table: ``python -m rdcost.samples.energy
  --seed 2026 --out sample_logs/energy``.
"""
