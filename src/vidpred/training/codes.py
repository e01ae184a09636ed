"""Stage 2 of the VQ pipelines: a data set turned into code arrays (what the priors train on).

``encode_dataset`` writes, per split, ``{split}_top.npy`` and ``{split}_bottom.npy`` (uint16, one row per clip:
(N, T/4, H/8, W/8) and (N, T/2, H/4, W/4)) and ``{split}_index.json`` (which clip each row came from). With
``context_frames`` it also writes ``{split}_context_top.npy`` / ``{split}_context_bottom.npy``: the codes of each
clip's first ``context_frames`` frames encoded on their own, as the priors see the context at prediction time.

``CodeDataset`` reads them back as the sequences the priors model: the context's own codes, then the whole
clip's codes from the first generated step on (``models/vq_priors.py``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vidpred.config import atomic_write_text
from vidpred.progress import Progress


@torch.no_grad()
def encode_dataset(tokenizer, dataset, out: str | Path, split: str, count: int | None = None,
                   batch_size: int = 16, device: str = "cpu", context_frames: int | None = None) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = tokenizer.config
    if cfg.num_codes > 2**16:
        raise ValueError(f"{cfg.num_codes} codes do not fit in uint16")
    n = len(dataset) if count is None else min(count, len(dataset)) if not getattr(dataset, "unbounded", False) \
        else count
    tokenizer = tokenizer.to(device).eval()
    shapes = {"top": cfg.top_shape, "bottom": cfg.bottom_shape}
    if context_frames:
        if context_frames % 4 or not 0 < context_frames < cfg.num_frames:
            raise ValueError(f"context_frames ({context_frames}) must be a multiple of 4 below {cfg.num_frames}")
        shapes["context_top"] = (context_frames // 4, *cfg.top_shape[1:])
        shapes["context_bottom"] = (context_frames // 2, *cfg.bottom_shape[1:])
    tmp = {level: out / f".{split}_{level}.tmp.npy" for level in shapes}
    arrays = {level: np.lib.format.open_memmap(tmp[level], mode="w+", dtype=np.uint16, shape=(n, *shape))
              for level, shape in shapes.items()}
    ids = []
    with Progress(f"encoding {n} {split} clips", n) as progress:
        for begin in range(0, n, batch_size):
            batch = range(begin, min(begin + batch_size, n))
            clips = torch.stack([dataset[i][:cfg.num_frames] for i in batch]).to(device)
            codes = dict(zip(("top", "bottom"), tokenizer.encode(clips)))
            if context_frames:
                codes.update(zip(("context_top", "context_bottom"), tokenizer.encode(clips[:, :context_frames])))
            for level, array in codes.items():
                arrays[level][begin:begin + len(batch)] = array.cpu().numpy().astype(np.uint16)
            ids += [dataset.clip_id(i) if hasattr(dataset, "clip_id") else str(i) for i in batch]
            progress.advance(len(batch))
    for level, array in arrays.items():
        array.flush()
        del array
        tmp[level].replace(out / f"{split}_{level}.npy")
    atomic_write_text(out / f"{split}_index.json", json.dumps({"split": split, "clips": ids}, indent=0))
    return {"split": split, "clips": n, "top_shape": list(cfg.top_shape), "bottom_shape": list(cfg.bottom_shape)}


class CodeDataset(torch.utils.data.Dataset):
    """Code sequences of one split for the priors: ``{"top": (T/4, h, w), "bottom": (T/2, H, W)}`` long tensors,
    the context's own codes followed by the clip's codes after the context."""

    def __init__(self, folder: str | Path, split: str, cfg):
        folder = Path(folder)
        files = {level: folder / f"{split}_{level}.npy" for level in ("top", "bottom", "context_top", "context_bottom")}
        missing = [str(f) for f in files.values() if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"code arrays missing (run the 'codes' stage or `vidpred encode --context-frames`): "
                                    f"{', '.join(missing)}")
        self.arrays = {level: np.load(f, mmap_mode="r") for level, f in files.items()}
        expected = {"top": tuple(cfg.top_shape), "bottom": tuple(cfg.bottom_shape)}
        for level, shape in expected.items():
            if self.arrays[level].shape[1:] != shape:
                raise ValueError(f"{files[level]} holds codes of shape {self.arrays[level].shape[1:]}; the model "
                                 f"expects {shape}")
        self.steps = (self.arrays["context_top"].shape[1], self.arrays["context_bottom"].shape[1])
        if self.steps != tuple(cfg.context_steps):
            raise ValueError(f"{folder} was encoded with {4 * self.steps[0]} context frames; the model conditions "
                             f"on {cfg.context_frames}")

    def __len__(self) -> int:
        return len(self.arrays["top"])

    def __getitem__(self, i: int) -> dict:
        a = self.arrays
        ct, cb = self.steps
        top = np.concatenate([a["context_top"][i], a["top"][i, ct:]]).astype(np.int64)
        bottom = np.concatenate([a["context_bottom"][i], a["bottom"][i, cb:]]).astype(np.int64)
        return {"top": torch.from_numpy(top), "bottom": torch.from_numpy(bottom)}
