"""Training on Lightning: the experiment config, one run, staged pipelines, code extraction, run folders."""
