"""The paper's probes: answer confidence along a thought, reflection tokens, forced early stopping."""
