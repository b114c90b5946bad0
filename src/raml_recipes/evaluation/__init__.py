"""Evaluation: benchmarks, sampling back-ends, metrics (pass@k, mG-pass@k, avg@n, maj@k) and reports."""
