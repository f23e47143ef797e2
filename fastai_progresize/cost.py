from __future__ import annotations
import copy, math, random, time
from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch
from fastcore.basics import patch
from fastcore.foundation import L
from fastai.callback.core import Callback, CancelTrainException, CancelValidException
from fastai.callback.progress import ProgressCallback, CSVLogger
from fastai.callback.tracker import TrackerCallback
from fastai.learner import Learner
from .core import Stage, _hw, _check_int, _is_int
from .schedule import ProgressiveSchedule


clocks = {'wall': time.perf_counter, 'cpu': time.process_time}

class _BatchTimer(Callback):
    "Times the batches of each epoch and ends each phase after `n[epoch]` of them"
    order = 1000  # after every other callback, so that their per-batch work is counted
    def __init__(self, n:list, clock:str): self.n, self.clock, self.epochs = n, clocks[clock], []
    def _now(self):
        if torch.cuda.is_available() and getattr(self.dls, 'device', None) is not None and \
           torch.device(self.dls.device).type == 'cuda': torch.cuda.synchronize()
        return self.clock()
    def before_epoch(self): self.t0, self.marks = self._now(), {True: [], False: []}
    def before_train(self): self.marks[True].append(self._now())
    def before_validate(self): self.marks[False].append(self._now())
    def after_batch(self):
        m = self.marks[self.training]
        m.append(self._now())
        if len(m) > self.n[self.epoch]: raise CancelTrainException() if self.training else CancelValidException()
    def after_epoch(self):
        self.epochs.append(dict(epoch=self._now() - self.t0, train=np.diff(self.marks[True]), valid=np.diff(self.marks[False])))


def _rng_states():
    res = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized(): res['cuda'] = torch.cuda.get_rng_state_all()
    return res

@contextmanager
def _kept(learn):
    "Run the block with `learn` unlogged, then put back its weights, gradients, optimizer, modes, attributes, callbacks' state and RNGs"
    model = learn.model
    sd, grads = copy.deepcopy(model.state_dict()), [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    opt_sd = None if learn.opt is None else copy.deepcopy(learn.opt.state_dict())
    attrs, cb_attrs, rng = dict(learn.__dict__), [(cb, dict(cb.__dict__)) for cb in learn.cbs], _rng_states()
    quiet = [cb for cb in learn.cbs if isinstance(cb, (ProgressCallback, CSVLogger, TrackerCallback))]
    try:
        learn.logger = lambda *a, **k: None
        with learn.removed_cbs(quiet): yield
    finally:
        learn.__dict__.clear(); learn.__dict__.update(attrs)
        for cb, d in cb_attrs: cb.__dict__.clear(); cb.__dict__.update(d)
        model.load_state_dict(sd)
        for p, g in zip(model.parameters(), grads): p.grad = g
        for m, t in zip(model.modules(), modes): m.training = t
        if opt_sd is not None: learn.opt.load_state_dict(opt_sd)
        random.setstate(rng['python']); np.random.set_state(rng['numpy']); torch.set_rng_state(rng['torch'])
        if 'cuda' in rng: torch.cuda.set_rng_state_all(rng['cuda'])


_terms = ('per_pixel', 'per_image', 'per_batch')

def _fit(px, bs, t):
    "Coefficients of `t ≈ per_batch + per_image·bs + per_pixel·bs·px`, least squares, none negative"
    px, bs, t = (np.asarray(v, dtype=float) for v in (px, bs, t))
    cols = dict(per_pixel=bs * px, per_image=bs, per_batch=np.ones_like(bs))
    keep = []
    for k in _terms:  # a term the measurements cannot tell from the ones kept is left out
        if np.linalg.matrix_rank(np.stack([cols[j] for j in keep + [k]], 1)) == len(keep) + 1: keep.append(k)
    while True:
        coef = np.linalg.lstsq(np.stack([cols[k] for k in keep], 1), t, rcond=None)[0]
        if coef.min() >= 0 or len(keep) == 1: break
        keep.pop(int(coef.argmin()))
    res = dict.fromkeys(_terms, 0.)
    res.update({k: max(0., float(c)) for k,c in zip(keep, coef)})
    return res

def _pred(c, px, bs): return c['per_batch'] + bs * (c['per_image'] + c['per_pixel'] * px)

def _corrected(c, px_m, bs_m, t_m, px, bs):
    "`_pred` times the measured/fitted ratio, interpolated in pixels among the measurements at `bs` (or at all, if none)"
    px_m, bs_m, t_m = (np.asarray(v, dtype=float) for v in (px_m, bs_m, t_m))
    sel = bs_m == bs if (bs_m == bs).any() else np.ones_like(bs_m, dtype=bool)
    ratio = t_m[sel] / np.maximum(_pred(c, px_m[sel], bs_m[sel]), 1e-12)
    order = np.argsort(px_m[sel])
    return _pred(c, px, bs) * float(np.interp(px, px_m[sel][order], ratio[order]))


class CostModel:
    "Seconds per training step, validation batch and epoch measured at some sizes, fitted to predict any size and batch size"
    def __init__(self,
        df:pd.DataFrame, # One row per measurement: h, w, bs, val_bs, train_s, valid_s, epoch_s
        n_train:int, # Training items of the measured DataLoaders: the default of `n_train` below
        n_valid:int, # Validation items: the default of `n_valid`
        clock:str='wall', # Which clock measured the seconds: 'wall' or 'cpu'
        bs:int|None=None, # Batch size of stages with bs=None (the learner's); default the last measured
    ):
        self.df, self.clock = df.reset_index(drop=True), clock
        self.n_train, self.n_valid = _check_int(n_train, 'n_train'), _check_int(n_valid, 'n_valid', lo=0)
        self.bs = int(df['bs'].iloc[-1]) if bs is None else _check_int(bs, 'bs')
        px = df['h'] * df['w']
        self.train, self.valid = _fit(px, df['bs'], df['train_s']), _fit(px, df['val_bs'], df['valid_s'])
        self.epoch_s = float(df['epoch_s'].median())

    def step_seconds(self, size, bs:int)->float:
        "Predicted seconds of one training step on `bs` images at `size`"
        h,w = _hw(size); d = self.df
        return _corrected(self.train, d['h'] * d['w'], d['bs'], d['train_s'], h * w, _check_int(bs, 'bs'))
    def valid_seconds(self, size, bs:int)->float:
        "Predicted seconds of one validation batch of `bs` images at `size`"
        h,w = _hw(size); d = self.df
        return _corrected(self.valid, d['h'] * d['w'], d['val_bs'], d['valid_s'], h * w, _check_int(bs, 'bs'))

    def epoch_seconds(self,
        size:int|tuple, # Image size
        bs:int|None=None, # Batch size; None: the learner's (`self.bs`)
        n_train:int|None=None, # Training items; None: the measured DataLoaders'
        n_valid:int|None=None, # Validation items; None: the measured DataLoaders'
    )->float: # Seconds of one epoch with its validation
        "Predicted seconds of an epoch: its training steps (the last partial batch dropped), validation batches and fixed cost"
        bs = self.bs if bs is None else _check_int(bs, 'bs')
        nt = self.n_train if n_train is None else _check_int(n_train, 'n_train')
        nv = self.n_valid if n_valid is None else _check_int(n_valid, 'n_valid', lo=0)
        return self.epoch_s + nt // bs * self.step_seconds(size, bs) + math.ceil(nv / bs) * self.valid_seconds(size, bs)

    def seconds(self,
        schedule:ProgressiveSchedule, # What to predict, or a list of `Stage`s
        n_train:int|None=None, # Training items; None: the measured DataLoaders'
        n_valid:int|None=None, # Validation items; None: the measured DataLoaders'
        per_stage:bool=False, # Return one value per stage instead of the total
    )->float|list: # Predicted seconds, `fine_tune`'s frozen epochs included
        "Predicted seconds of training `schedule`"
        res = [s.total_epochs * self.epoch_seconds(s.size, s.bs, n_train, n_valid) for s in _stages(schedule)]
        return res if per_stage else sum(res)

    def __repr__(self):
        t, v, ms = self.train, self.valid, lambda x: f'{1e3 * x:.3g} ms'
        return (f"CostModel ({self.clock} clock, {len(self.df)} measurements, {self.n_train} training / {self.n_valid} "
                f"validation items): training step {ms(t['per_batch'])} + bs x ({ms(t['per_image'])} + "
                f"{ms(1e3 * t['per_pixel'])} per 1000 px); validation batch {ms(v['per_batch'])} + bs x "
                f"({ms(v['per_image'])} + {ms(1e3 * v['per_pixel'])} per 1000 px); {self.epoch_s:.3g} s per epoch")

def _stages(schedule):
    if isinstance(schedule, ProgressiveSchedule): return schedule.stages
    return ProgressiveSchedule(list(schedule)).stages


@patch
def show(self:CostModel,
    schedule:ProgressiveSchedule, # The schedule to cost, or a list of `Stage`s
    n_train:int|None=None, # Training items; None: the measured DataLoaders'
    n_valid:int|None=None, # Validation items; None: the measured DataLoaders'
)->pd.DataFrame: # One row per stage; `attrs['fixed_s']` holds the same epochs at the final size
    "Predicted seconds per epoch and per stage of `schedule`, and its share of the time of its epochs at the final size"
    st = _stages(schedule)
    bss = [self.bs if s.bs is None else s.bs for s in st]
    secs = self.seconds(st, n_train, n_valid, per_stage=True)
    fixed = sum(s.epochs for s in st) * self.epoch_seconds(st[-1].size, bss[-1], n_train, n_valid)
    df = pd.DataFrame(dict(size=[s.label for s in st], bs=bss, epochs=[s.total_epochs for s in st],
                           epoch_s=[x / s.total_epochs for x,s in zip(secs, st)], seconds=secs,
                           cost=[x / fixed for x in secs]), index=pd.RangeIndex(1, len(st) + 1, name='stage'))
    df.attrs['fixed_s'] = fixed
    return df

@patch
def report(self:CostModel, schedule, n_train=None, n_valid=None)->str:
    "`show` as text, with the total and the fixed-size time it compares with"
    df = self.show(schedule, n_train, n_valid)
    fixed, tot = df.attrs['fixed_s'], df['seconds'].sum()
    return (df.to_string(float_format=lambda v: f'{v:.3g}') + f"\nPredicted: {tot:.1f} s ({self.clock} clock), {tot / fixed:.2f} of "
            f"{fixed:.1f} s for the same {sum(s.epochs for s in _stages(schedule))} epochs at the final size")


def _per_batch(d): return float(np.median(d[1:] if len(d) > 1 else d)) if len(d) else 0.  # the first starts the iterator

def _time_size(learn, dls, n_batches, warmup, clock):
    "Seconds per training step and validation batch, and the rest of an epoch, on `dls`"
    if len(dls.train) < max(n_batches, warmup):
        raise ValueError(f"the training DataLoader at bs {dls.train.bs} has {len(dls.train)} batches, fewer than `n_batches` "
                         f"({n_batches}) or `warmup` ({warmup}): lower them or the batch size")
    timer = _BatchTimer([warmup, n_batches] if warmup else [n_batches], clock)
    learn.dls = dls
    learn.fit(len(timer.n), cbs=timer)
    e = timer.epochs[-1]
    train_s, valid_s = _per_batch(e['train']), _per_batch(e['valid'])
    return dict(train_s=train_s, valid_s=valid_s, epoch_s=max(0., e['epoch'] - len(e['train']) * train_s - len(e['valid']) * valid_s))

def measure_cost(
    learn:Learner, # The learner to time: its model, optimizer, loss, callbacks and device
    get_dls:callable, # `get_dls(bs=..., size=...)` -> DataLoaders, as for `fit_progressive`
    sizes:list, # Sizes to time (ints or (h, w) pairs); repeat a size to time it at several batch sizes
    bs:int|list|None=None, # Batch size: None (the learner's), one for all sizes, or one per size
    n_batches:int=4, # Timed training steps and validation batches per size
    warmup:int=1, # Untimed steps and batches per size first (an epoch of them, so that start-up is not timed)
    clock:str='wall', # 'wall' (`time.perf_counter`) or 'cpu' (`time.process_time`: this process only, no loader workers)
)->CostModel: # The measurements, fitted
    "Time a few training steps and validation batches of `learn` at each size; the learner is left exactly as it was"
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (list, tuple, L)) or not len(sizes):
        raise TypeError(f"`sizes` must be a non-empty list of sizes, got {sizes!r}")
    hws = [_hw(s, name=f'sizes[{i}]') for i,s in enumerate(sizes)]
    if bs is None:
        bs = getattr(getattr(learn, 'dls', None), 'bs', None)
        if bs is None: raise ValueError("`bs` is None and the learner has no DataLoaders to take it from: pass `bs`")
    bss = list(bs) if isinstance(bs, (list, tuple, L)) else [bs] * len(hws)
    if len(bss) != len(hws): raise ValueError(f"`bs` has {len(bss)} values but `sizes` has {len(hws)}: give one, or one per size")
    bss = [_check_int(b, 'bs', f' for sizes[{i}]') for i,b in enumerate(bss)]
    n_batches, warmup = _check_int(n_batches, 'n_batches'), _check_int(warmup, 'warmup', lo=0)
    if clock not in clocks: raise ValueError(f"`clock` must be one of {tuple(clocks)}, got {clock!r}")
    rows, default_bs = [], getattr(getattr(learn, 'dls', None), 'bs', None)
    with _kept(learn):
        for hw, b in zip(hws, bss):
            dls = get_dls(bs=b, size=hw if hw[0] != hw[1] else hw[0])
            if not rows: n_train, n_valid = len(dls.train_ds), len(dls.valid_ds)
            rows.append(dict(h=hw[0], w=hw[1], bs=dls.train.bs, val_bs=dls.valid.bs, **_time_size(learn, dls, n_batches, warmup, clock)))
    return CostModel(pd.DataFrame(rows), n_train, n_valid, clock, default_bs)


@patch
def measure_schedule(self:Learner,
    schedule:ProgressiveSchedule, # The schedule to cost, or a list of `Stage`s
    get_dls:callable=None, # `get_dls(bs=..., size=...)`; default `learn.get_dls`
    n_batches:int=4, # Timed steps and validation batches per stage size
    warmup:int=1, # Untimed ones first
    clock:str='wall', # 'wall' or 'cpu'
)->CostModel: # Measured at each stage's size and batch size; `.report(schedule)` prints the prediction
    "Time a few batches at each stage's size and batch size on this learner, before `schedule` trains"
    st = _stages(schedule)
    get_dls = get_dls if get_dls is not None else getattr(self, 'get_dls', None)
    if not callable(get_dls): raise TypeError("`get_dls` must be a function get_dls(bs=..., size=...): pass it, or set `learn.get_dls`")
    bs0 = getattr(getattr(self, 'dls', None), 'bs', None)
    pairs = list(dict.fromkeys((s.size, s.bs if s.bs is not None else bs0) for s in st))
    if any(b is None for _,b in pairs): raise ValueError("a stage keeps the learner's batch size (bs=None) but the learner has no DataLoaders")
    return measure_cost(self, get_dls, [p[0] for p in pairs], [p[1] for p in pairs], n_batches, warmup, clock)
