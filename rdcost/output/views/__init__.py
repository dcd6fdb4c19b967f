"""Views: library results laid out as :class:`rdcost.output.blocks.Document` blocks.

One module per result: :mod:`.summary` (the case-study summary, whose tables the report
reuses), :mod:`.buy_vs_cloud`, :mod:`.tuning`, :mod:`.estimate`, :mod:`.listing` (stored
jobs and grid searches), :mod:`.statement` (the compute statement) and :mod:`.report`
(the shareable report). Views choose words, units and the format of each number
(:mod:`rdcost.output.numbers`); renderers (:mod:`rdcost.output.renderers`) do the rest.
"""
