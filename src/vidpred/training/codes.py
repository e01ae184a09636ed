"""The "codes" stage of the VQ pipelines: a data set turned into code arrays (what the priors train on), through
the tokenizer protocol (``models/tokenizer.py``), for any number of levels.

``encode_dataset`` writes, per split and level, ``{split}_{level}.npy`` (uint16, one row per clip, the level's
latent shape) and ``{split}_index.json`` (which clip each row came from). With ``context_frames`` it also writes
``{split}_context_{level}.npy``: the codes of each clip's first ``context_frames`` frames encoded on their own, as
the priors see the context at prediction time.

``CodeDataset`` reads them back as the sequences the priors model, ``{level: codes}``: the context's own codes,
then the whole clip's codes from the first step after the context on.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vidpred.config import atomic_write_text
from vidpred.progress import Progress


def check_context_frames(tokenizer, context_frames: int) -> None:
    """The context must be whole code steps of every level, and leave frames to predict."""
    if context_frames % tokenizer.time_stride or not 0 < context_frames < tokenizer.num_frames:
        raise ValueError(f"context_frames ({context_frames}) must be a positive multiple of {tokenizer.time_stride} "
                         f"(the tokenizer's time stride) below its {tokenizer.num_frames} frames")


@torch.no_grad()
def encode_dataset(tokenizer, dataset, out: str | Path, split: str, count: int | None = None,
                   batch_size: int = 16, device: str = "cpu", context_frames: int | None = None) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    too_many = {level: k for level, k in tokenizer.codebook_sizes.items() if k > 2**16}
    if too_many:
        raise ValueError(f"codebooks of {too_many} codes do not fit in uint16")
    if context_frames:
        check_context_frames(tokenizer, context_frames)
    n = count if getattr(dataset, "unbounded", False) else len(dataset) if count is None else min(count, len(dataset))
    frames = tokenizer.num_frames
    tokenizer = tokenizer.to(device).eval()
    shapes = {level: tokenizer.latent_shape(level, frames) for level in tokenizer.levels}
    if context_frames:
        shapes.update({f"context_{level}": tokenizer.latent_shape(level, context_frames) for level in tokenizer.levels})
    tmp = {name: out / f".{split}_{name}.tmp.npy" for name in shapes}
    arrays = {name: np.lib.format.open_memmap(tmp[name], mode="w+", dtype=np.uint16, shape=(n, *shape))
              for name, shape in shapes.items()}
    ids = []
    with Progress(f"encoding {n} {split} clips", n) as progress:
        for begin in range(0, n, batch_size):
            batch = range(begin, min(begin + batch_size, n))
            clips = torch.stack([dataset[i][:frames] for i in batch]).to(device)
            codes = tokenizer.encode(clips)
            if context_frames:
                context = tokenizer.encode(clips[:, :context_frames])
                codes.update({f"context_{level}": c for level, c in context.items()})
            for name, array in codes.items():
                arrays[name][begin:begin + len(batch)] = array.cpu().numpy().astype(np.uint16)
            ids += [dataset.clip_id(i) if hasattr(dataset, "clip_id") else str(i) for i in batch]
            progress.advance(len(batch))
    for name, array in arrays.items():
        array.flush()
        del array
        tmp[name].replace(out / f"{split}_{name}.npy")
    atomic_write_text(out / f"{split}_index.json", json.dumps({"split": split, "clips": ids}, indent=0))
    return {"split": split, "clips": n, "shapes": {level: list(shapes[level]) for level in tokenizer.levels}}


class CodeDataset(torch.utils.data.Dataset):
    """Code sequences of one split for the priors: ``{level: (t, h, w) long tensor}``, the context's own codes
    followed by the clip's codes after the context."""

    def __init__(self, folder: str | Path, split: str, tokenizer, context_frames: int):
        folder = Path(folder)
        names = [*tokenizer.levels, *(f"context_{level}" for level in tokenizer.levels)]
        files = {name: folder / f"{split}_{name}.npy" for name in names}
        missing = [str(f) for f in files.values() if not f.is_file()]
        if missing:
            raise FileNotFoundError("code arrays missing (run the 'codes' stage or `vidpred encode "
                                    f"--context-frames`): {', '.join(missing)}")
        self.arrays = {name: np.load(f, mmap_mode="r") for name, f in files.items()}
        self.levels = tokenizer.levels
        for level in self.levels:
            for name, frames in ((level, tokenizer.num_frames), (f"context_{level}", context_frames)):
                expected = tuple(tokenizer.latent_shape(level, frames))
                if self.arrays[name].shape[1:] != expected:
                    what = f"{context_frames} context frames" if name.startswith("context_") else "the clips"
                    raise ValueError(f"{files[name]} holds codes of shape {self.arrays[name].shape[1:]}; the model "
                                     f"expects {expected} for {what}")

    def __len__(self) -> int:
        return len(self.arrays[self.levels[0]])

    def __getitem__(self, i: int) -> dict:
        a = self.arrays
        out = {}
        for level in self.levels:
            context = a[f"context_{level}"][i]
            out[level] = torch.from_numpy(np.concatenate([context, a[level][i, len(context):]]).astype(np.int64))
        return out
