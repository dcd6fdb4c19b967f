"""Output: how results become what a reader sees.

- :mod:`rdcost.output.blocks`: the presentation model (a document of headings, paragraphs,
  tables of display strings, lists, notes, figures, preformatted text);
- :mod:`rdcost.output.views`: library results laid out as documents, one module per result;
- :mod:`rdcost.output.numbers`: the one formatter of counts, quantities, money, shares and ranges;
- :mod:`rdcost.output.renderers`: a document as text, Markdown, HTML, CSV, JSON or LaTeX;
- :mod:`rdcost.output.render`: escaping, the one place (every renderer calls it);
- :mod:`rdcost.output.report` and :mod:`rdcost.output.statement`: the shareable report and
  the compute statement; :mod:`rdcost.output.plots`: the plots; :mod:`rdcost.output.anonymize`.
"""
