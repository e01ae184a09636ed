"""vidpred: stochastic video prediction.

Public API: :func:`list_datasets`, :func:`list_models`, :func:`load`. Video tensors at every public boundary
are ``(B, T, C, H, W)`` (a single clip ``(T, C, H, W)``), float32 in [0, 1].
"""
__version__ = "0.1.0"


def list_datasets() -> list[str]:
    """Names of the registered data sets (``vidpred data list`` shows them with descriptions)."""
    from vidpred.registry import dataset_names

    return dataset_names()


def list_models() -> list[str]:
    """Names of the registered models."""
    from vidpred.registry import model_names

    return model_names()


def load(name_or_folder: str, device: str = "cpu"):
    """A model: a saved model folder (``config.yaml`` + ``model.safetensors``) or a registered model name."""
    from vidpred.models.io import resolve_model

    return resolve_model(name_or_folder, device)


__all__ = ["__version__", "list_datasets", "list_models", "load"]
