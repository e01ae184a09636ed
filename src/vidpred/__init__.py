"""vidpred: stochastic video prediction.

Public API: :func:`list_datasets`, :func:`list_models`, :func:`load`, :func:`predict`. Video tensors at every public boundary
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


def predict(model, frames, horizon: int, num_samples: int = 1, context: int | None = None,
            seed: int | None = None, temperature: float = 1.0):
    """Predict ``horizon`` frames after the first ``context`` frames (default: all) of one clip ``(T, C, H, W)``
    (numpy or torch; uint8 or float in [0, 1]; any size, fitted to the model). ``model``: a loaded model, a run
    folder or a model name. Returns float ``(num_samples, horizon, C, S, S)``."""
    from vidpred.inference import predict as _predict

    if isinstance(model, str):
        model = load(model)
    return _predict(model, frames, horizon, num_samples, context=context, seed=seed, temperature=temperature)


__all__ = ["__version__", "list_datasets", "list_models", "load", "predict"]
