"""Images decoded once and kept as one uint8 tensor on the training device, so that the loader never waits on a GPU.

`GPUCacheDLs(folder, max_size, device)` is a `get_dls(bs=..., size=...)` over a `FolderDLs` (same items, labels and
split): every batch is cut from the tensor by index, then cropped, resized, flipped and normalized as a whole batch on
the device by fastai's `RandomResizedCropGPU` (whose `size` `ProgressiveResize` changes within a fit). Nothing is
decoded after the cache is built. A small stand-in for the package's own cache loader, kept inside the benchmark.
"""
from __future__ import annotations
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image
from fastai.vision.all import (TfmdDL, DataLoaders, TensorImage, TensorCategory, CategoryMap, IntToFloatTensor,
                               RandomResizedCropGPU, Normalize, imagenet_stats)

def decode(fn, size:int)->torch.Tensor:
    "One image file as a 3 x size x size uint8 tensor, the whole image squished to a square"
    with Image.open(fn) as im:
        im = im.convert('RGB').resize((size, size), Image.BILINEAR, reducing_gap=None)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)

class _Split:
    "One split of the cache: what a fastai `TfmdDL` needs of a dataset"
    def __init__(self, cache, idxs, split_idx):
        self.cache, self.split_idx = cache, split_idx
        self.idxs = torch.as_tensor(list(idxs), dtype=torch.long, device=cache.images.device)
    vocab = property(lambda self: self.cache.vocab)
    c = property(lambda self: len(self.cache.vocab))
    def __len__(self): return len(self.idxs)
    def __getitem__(self, i): return tuple(o[0] for o in self.batch([i]))
    def batch(self, b):
        j = self.idxs[torch.as_tensor(b, dtype=torch.long, device=self.idxs.device)]
        return TensorImage(self.cache.images[j]), TensorCategory(self.cache.labels[j])

class _CachedDL(TfmdDL):
    "A `TfmdDL` whose batches are whole tensors cut from the cache"
    def create_item(self, s): return 0 if s is None else s
    def create_batch(self, b): return self.dataset.batch(b)

class GPUCacheDLs:
    "A `get_dls(bs=..., size=...)` whose images are decoded once at `max_size` and kept on `device`"
    def __init__(self, folder, max_size:int, device='cuda', min_scale:float=0.35, threads:int=8):
        self.folder, self.max_size, self.min_scale = folder, max_size, min_scale
        self.device = torch.device(device)
        self.path, self.splits, self.vocab = folder.path, folder.splits, folder.vocab
        keep = list(folder.splits[0]) + list(folder.splits[1])
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as ex: imgs = list(ex.map(lambda i: decode(folder.items[i], max_size), keep))
        self.images = torch.stack(imgs).to(self.device)
        self.build_s = time.perf_counter() - t0
        o2i = CategoryMap(self.vocab, sort=False).o2i
        self.vocab = CategoryMap(self.vocab, sort=False)
        self.labels = torch.tensor([o2i[folder.labels[i]] for i in keep], dtype=torch.long, device=self.device)
        n = len(folder.splits[0])
        self.pos = (range(n), range(n, len(keep)))  # positions of each split in `images`

    n_train = property(lambda self: len(self.pos[0]))
    n_valid = property(lambda self: len(self.pos[1]))
    mb = property(lambda self: self.images.numel() / 2**20)

    def __call__(self, bs:int=64, size=224):
        "Training and validation DataLoaders at `size`, cut from the cache"
        if size > self.max_size: raise ValueError(f'`size` {size} is larger than the cache ({self.max_size} px)')
        tfms = lambda: [IntToFloatTensor(), RandomResizedCropGPU(size, min_scale=self.min_scale),
                        Normalize.from_stats(*imagenet_stats)]
        dls = [_CachedDL(_Split(self, p, i), bs=bs, shuffle=i == 0, drop_last=i == 0, after_batch=tfms(), num_workers=0,
                         device=self.device) for i, p in enumerate(self.pos)]
        return DataLoaders(*dls, path=self.path, device=self.device)

    def __repr__(self):
        return (f'GPUCacheDLs({self.n_train} train / {self.n_valid} valid images at {self.max_size} px, {self.mb:.0f} MB on '
                f'{self.device}, built in {self.build_s:.1f} s)')
