"""vidpred: stochastic video prediction.

Public API (more arrives with the models): :func:`list_datasets`. Video tensors at every public boundary
are ``(B, T, C, H, W)`` (a single clip ``(T, C, H, W)``), float32 in [0, 1].
"""
__version__ = "0.1.0"


def list_datasets() -> list[str]:
    """Names of the registered data sets (``vidpred data list`` shows them with descriptions)."""
    from vidpred.registry import dataset_names

    return dataset_names()


__all__ = ["__version__", "list_datasets"]
