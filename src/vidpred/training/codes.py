"""Stage 2 of the VQ pipelines: a data set turned into code arrays (what the priors train on).

``encode_dataset`` writes, per split, ``{split}_top.npy`` and ``{split}_bottom.npy`` (uint16, one row per clip:
(N, T/4, H/8, W/8) and (N, T/2, H/4, W/4)) and ``{split}_index.json`` (which clip each row came from).
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
                   batch_size: int = 16, device: str = "cpu") -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = tokenizer.config
    if cfg.num_codes > 2**16:
        raise ValueError(f"{cfg.num_codes} codes do not fit in uint16")
    n = len(dataset) if count is None else min(count, len(dataset)) if not getattr(dataset, "unbounded", False) \
        else count
    tokenizer = tokenizer.to(device).eval()
    tmp = {level: out / f".{split}_{level}.tmp.npy" for level in ("top", "bottom")}
    arrays = {"top": np.lib.format.open_memmap(tmp["top"], mode="w+", dtype=np.uint16, shape=(n, *cfg.top_shape)),
              "bottom": np.lib.format.open_memmap(tmp["bottom"], mode="w+", dtype=np.uint16,
                                                  shape=(n, *cfg.bottom_shape))}
    ids = []
    with Progress(f"encoding {n} {split} clips", n) as progress:
        for begin in range(0, n, batch_size):
            batch = range(begin, min(begin + batch_size, n))
            clips = torch.stack([dataset[i][:cfg.num_frames] for i in batch]).to(device)
            top, bottom = tokenizer.encode(clips)
            arrays["top"][begin:begin + len(batch)] = top.cpu().numpy().astype(np.uint16)
            arrays["bottom"][begin:begin + len(batch)] = bottom.cpu().numpy().astype(np.uint16)
            ids += [dataset.clip_id(i) if hasattr(dataset, "clip_id") else str(i) for i in batch]
            progress.advance(len(batch))
    for level, array in arrays.items():
        array.flush()
        del array
        tmp[level].replace(out / f"{split}_{level}.npy")
    atomic_write_text(out / f"{split}_index.json", json.dumps({"split": split, "clips": ids}, indent=0))
    return {"split": split, "clips": n, "top_shape": list(cfg.top_shape), "bottom_shape": list(cfg.bottom_shape)}
