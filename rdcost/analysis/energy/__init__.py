"""Energy and CO2e as measured as the logs allow, with ranges, and the whole footprint
(docs/energy.md): the inputs and their ranges (:mod:`.inputs`), what an assumptions layer
sets (:mod:`.settings`), the node capacities that tell shared nodes (:mod:`.capacity`),
the per-job model (:mod:`.model`) and the summary's energy section (:mod:`.section`)."""
