"""vidpred: stochastic video prediction.

Public API: :func:`list_datasets`, :func:`list_models`, :func:`load`, :func:`predict`. Video tensors at every
public boundary are ``(B, T, C, H, W)`` (a single clip ``(T, C, H, W)``), float32 in [0, 1].
"""
__version__ = "0.1.0"


def list_datasets() -> list[str]:
    """Names of the registered data sets (``vidpred data list`` shows them with descriptions)."""
    from vidpred.data.registry import dataset_names

    return dataset_names()


def list_models() -> list[str]:
    """Names of the registered models."""
    from vidpred.models.registry import model_names

    return model_names()


def load(name_or_folder: str, device: str = "cpu"):
    """A model: a saved model folder (``config.yaml`` + ``model.safetensors``) or a registered model name."""
    from vidpred.models.io import resolve_model

    return resolve_model(name_or_folder, device)


def predict(model, frames, horizon: int, num_samples: int = 1, context: int | None = None,
            seed: int | None = None, temperature: float = 1.0):
    """Predict ``horizon`` frames after the first ``context`` frames (default: all) of one clip: numpy or torch,
    ``(T, C, H, W)`` or ``(T, H, W, C)`` as PyAV, imageio and OpenCV return it, uint8 or float in [0, 1], any size
    (fitted to the model's ``S x S`` frames and ``C`` channels). ``model``: a loaded model, a model folder or a model
    name. Returns the prediction in the input's kind: ``(num_samples, horizon, C, S, S)`` --
    ``(num_samples, horizon, S, S, C)`` for channels-last input -- numpy for numpy input, uint8 for uint8 input
    (else float in [0, 1]). Warns when a model loaded from a folder is given input unlike its training data."""
    from vidpred.inference import predict as _predict

    if isinstance(model, str):
        model = load(model)
    return _predict(model, frames, horizon, num_samples, context=context, seed=seed, temperature=temperature)


__all__ = ["__version__", "list_datasets", "list_models", "load", "predict"]
