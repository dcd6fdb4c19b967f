"""Utilization waste: GPU time that sat idle or under-used, where the logs carry GPU
utilisation (docs/summarize.md, "Utilization waste").

- :mod:`.jobs`: per job (a column of :func:`rdcost.analysis.summary.job_costs`): whether
  its utilisation is logged, the share of its GPUs at 0%, whether its mean is below the
  threshold, the share of a multi-GPU job's GPUs never used;
- :mod:`.groups`: exact sums per group (user, grid search) that partitions add up;
- :mod:`.partial`: what one partition of the summary keeps;
- :mod:`.section`: the summary's ``utilization`` object from the partials;
- :mod:`.figures`: its long (CSV) form.
"""
