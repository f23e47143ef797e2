"""The peers a fastai user would pick instead of this package, as the benchmark runs them beside its methods.

- **fastxtend** (`fastxtend.callback.progresize.ProgressiveResize`, 0.1.7), its own callback with its defaults. It is an
  optional benchmark dependency (`pip install fastxtend==0.1.7`, see README.md). On fastai 2.8 its module imports
  `fastcore.dispatch` and `fastcore.transform`, which are now stubs that raise ImportError ("moved to the fasttransform
  package"); `import_fastxtend` points both names at `fasttransform.transform` while that one module is imported, and
  puts them back after. The shim lives here, never in the package.
- **Composer** (`composer.algorithms.ProgressiveResizing`, 0.32): Composer pins `torch<2.7.1` and cannot be installed
  beside fastai 2.8 / torch 2.14, so `ComposerRule` writes its rule for fastai's loop, as its documentation and source
  define it: the scale held at `initial_scale` for `delay_fraction` of training, grown linearly to 1 by
  `1 - finetune_fraction`, the width rounded to a multiple of `size_increment`, the batch resized after the data loader
  (and its augmentations) with `F.interpolate(mode='nearest')` (its 'resize' mode); validation at full size.
- `FoldedResize`: a sweep variant of this package's `ProgressiveResize` that also sets the size of the training
  pipeline's size-less affine transforms (a batch `Flip`), so that the resize is folded into their one resample, as
  fastxtend does, instead of an interpolation after them.
"""
from __future__ import annotations
import importlib, sys
import torch.nn.functional as F
from fastai.callback.core import Callback
from fastai.vision.augment import AffineCoordTfm
from fastai_progresize.resize import ProgressiveResize
from fastai_progresize.loaders import train_pipeline

def import_fastxtend():
    "fastxtend's `ProgressiveResize` class, imported with `fastcore.dispatch`/`fastcore.transform` pointed at fasttransform; None if not installed"
    if importlib.util.find_spec('fastxtend') is None: return None
    import fasttransform.transform as ftt
    names = ('fastcore.dispatch', 'fastcore.transform')
    saved = {k: sys.modules.get(k) for k in names}
    sys.modules.update({k: ftt for k in names})
    try: return importlib.import_module('fastxtend.callback.progresize').ProgressiveResize
    finally:
        for k, v in saved.items():
            if v is None: sys.modules.pop(k, None)
            else: sys.modules[k] = v

def fastxtend_version():
    "The installed fastxtend's version, or None"
    try: return importlib.metadata.version('fastxtend')
    except importlib.metadata.PackageNotFoundError: return None

class ComposerRule(Callback):
    "Composer's `ProgressiveResizing` rule, written for fastai's loop (Composer itself cannot be installed beside fastai 2.8)"
    order = -5  # after the batch is drawn and augmented (Composer's AFTER_DATALOADER), before the model
    def __init__(self, initial_scale=0.5, delay_fraction=0.5, finetune_fraction=0.2, size_increment=4, mode='nearest'):
        self.initial_scale, self.delay, self.finetune, self.inc, self.mode = initial_scale, delay_fraction, finetune_fraction, size_increment, mode
        self.log = []
    def scale_at(self, pct):
        "Composer's scale factor at the share `pct` of training elapsed"
        frac = 0. if pct < self.delay else min((pct - self.delay) / (1 - self.finetune - self.delay), 1.)
        return self.initial_scale + (1 - self.initial_scale) * frac
    def before_batch(self):
        if not self.training: return
        w = self.x.shape[-1]
        s = round(w * self.scale_at(self.pct_train) / self.inc) * self.inc / w  # the width pinned to a multiple of `size_increment`
        if s < 1: self.learn.xb = (F.interpolate(self.x, scale_factor=s, mode=self.mode),) + tuple(self.xb[1:])
        self.log.append(tuple(self.xb[0].shape[-2:]))

class FoldedResize(ProgressiveResize):
    "`ProgressiveResize` that also sizes the training pipeline's size-less affine transforms: one resample, as fastxtend does"
    def before_fit(self):
        super().before_fit()
        if not self.active: return
        fs = getattr(train_pipeline(self.dls.train), 'fs', [])
        self._orig.update({t: None for t in fs if isinstance(t, AffineCoordTfm) and getattr(t, 'size', None) is None})
