"""Evaluation: the metrics, the papers' protocols and the evaluation loop, reports, and the diagnostics of
particular systems (reconstruction, ELBO, prior uncertainty)."""
