"""Exports other tools take in: FOCUS cost-and-usage rows (:mod:`.focus`) and the Hugging Face
model-card ``co2_eq_emissions`` block (:mod:`.hf_card`)."""
