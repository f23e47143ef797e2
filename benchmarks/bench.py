"""Running the benchmark: presets, the learner, one timed run, and the rounds of runs (see README.md).

Every method trains the same architecture on the same items and split (`folder_get_dls`); runs alternate between
methods, the order rotating with the seed. Times are the process's CPU seconds (`time.process_time`: with one torch
thread and no loader workers, the work itself) and wall seconds, around the training call.
"""
from __future__ import annotations
import json, os, platform, time, warnings
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import pandas as pd
import torch
from fastai.vision.all import (Learner, Callback, Adam, OptimWrapper, accuracy, CrossEntropyLossFlat, set_seed,
                               ProgressCallback, noop, RandomResizedCrop, Flip, Normalize, imagenet_stats)
from fastai.vision.models import xresnet
from fastai_progresize.data import folder_get_dls, FolderDLs
from fastai_progresize.rules import scale_bs
from fastai_progresize.cost import measure_cost, CostModel
import fastai_progresize.resize  # noqa: F401
import fastai_progresize.fit  # noqa: F401 (Learner.fit_progressive)
from methods import METHODS

OPTS = {'adam': Adam, 'fused': partial(OptimWrapper, opt=partial(torch.optim.AdamW, fused=True))}

_common = dict(lr=3e-3, multiple=8, opt='fused', seeds=3, threads=1, num_workers=0, fp16=False, train_per_class=None,
               valid_per_class=None, clock='cpu', n_batches=4)
PRESETS = {
    # compute-dominated: 2000 training images, 48 -> 96 px, where a CPU epoch at the small size costs about 0.33 of one at
    # the final size (the pixel limit is 0.25); 3 processes of one thread each, about 40 minutes on 2 free cores
    'cpu': dict(_common, arch='xresnet18', sizes=[48, 96], bs=64, max_bs=64, candidates=[48, 64, 80, 96], n_batches=8,
                train_per_class=200, jobs=3, first=['fixed', 'in_fit'],
                budgets=dict(fixed=[1, 2, 3, 4], in_fit=[3, 5], budget_oc=[(4, 0.7), (6, 0.65)], book=[3])),
    # the peers side by side (fastxtend's callback, Composer's rule) and the in-fit ramp's shape, on the `cpu` preset's data
    # with a batch Flip (an affine transform a resize can be folded into); 2 processes of one thread on 2 cores, 4 seeds
    'peers': dict(_common, arch='xresnet18', sizes=[48, 96], bs=64, max_bs=64, candidates=[48, 96], n_batches=8,
                  train_per_class=200, jobs=2, seeds=4, tfms='batch_flip',
                  budgets=dict(fixed=[1, 2, 3], in_fit=[3], in_fit_hold=[3], in_fit_fold=[3], fastxtend=[3], composer=[3])),
    # the contrast: all 4000 training images at 20 -> 40 px, where a small epoch costs 0.45 of a final one (made as 'cpu')
    'cpu_small': dict(_common, arch='xresnet18', sizes=[20, 40], bs=64, max_bs=256, multiple=4, candidates=[20, 24, 32, 40, 48], n_batches=8,
                budgets=dict(fixed=[1, 2, 3, 4], book=[2, 3], budget_ft=[(4, 1.0), (5, 0.9)], budget_oc=[(3, 0.8), (5, 0.7)],
                             budget_oc_mem=[(3, 0.8), (5, 0.7)], fixed_adam=[2], in_fit=[3, 4], in_fit_early=[3], in_fit_late=[3])),
    # a few minutes end to end: checks the command (its numbers mean little)
    'quick': dict(_common, arch='xresnet18', sizes=[32, 64], bs=16, max_bs=32, candidates=[32, 64], train_per_class=8,
                  valid_per_class=4, n_batches=2,
                  budgets=dict(fixed=[1, 2], book=[2, 3], budget_ft=[(4, 1.0), (5, 1.0)], budget_oc=[(2, 0.9), (3, 0.9)],
                               budget_oc_mem=[(2, 0.9), (3, 0.9)], fixed_adam=[1], in_fit=[2])),
    # the clock-driven fit (`fit_budget`) with and without an in-fit ramp, given the same wall-clock budgets: a few minutes
    'budget': dict(_common, arch='xresnet18', sizes=[24, 48], bs=32, max_bs=64, candidates=[24, 48], train_per_class=26,
                   valid_per_class=10, clock='wall', n_batches=4,
                   budgets=dict(budget_in_fit=[15, 30, 45], budget_fixed=[15, 30, 45])),
    # one GPU, the book's scale: xresnet50, 128 -> 224 px (the 160 px images upsampled), bf16 autocast, channels_last,
    # the images decoded once into GPU memory; at most `max_s` seconds of runs (about 8 minutes with the set-up)
    'gpu': dict(_common, arch='xresnet50', sizes=[128, 224], bs=128, max_bs=128, multiple=32, candidates=[128, 160, 192, 224],
                threads=None, loader='gpu_cache', device='cuda', amp='bf16', channels_last=True, clock='wall', n_batches=8,
                seeds=2, max_s=400,
                budgets=dict(fixed=[4, 8, 16], in_fit=[8, 16], budget_oc=[(8, 0.7), (16, 0.7)], book=[9])),
}

def dry_run(cfg):
    "`cfg` made tiny for the CPU: the same code path (loader, autocast, channels_last, every method) in about a minute"
    return dict(cfg, sizes=[32, 64], candidates=[32, 64], bs=8, max_bs=8, multiple=8, train_per_class=2,
                valid_per_class=1, n_batches=2, device='cpu', threads=1, seeds=2, max_s=None, dry_run=True,
                budgets={k: v for k, v in dict(fixed=[1, 2], in_fit=[2], budget_oc=[(2, 0.95)], book=[2]).items()
                         if k in cfg['budgets']})

def make_get_dls(cfg, data):
    "`folder_get_dls` on `data`, cut to the first `train_per_class` / `valid_per_class` images of each class; with " \
    "`cfg['loader']='gpu_cache'`, those images decoded once by the package's cache loader into memory on `cfg['device']`"
    g = _folder(cfg, data)
    if cfg.get('loader', 'folder') == 'folder': return g
    from fastai_progresize.cache import ImageCache, CachedFolderDLs
    cache = ImageCache(g.items, g.labels, g.vocab, max(cfg['candidates'] + cfg['sizes']), device=cfg['device'])
    return CachedFolderDLs(g, cache, device=cfg['device'])

def _tfms(cfg):
    "Item and batch transforms of `cfg['tfms']`: None, folder_get_dls's defaults; 'batch_flip', the flip as a batch affine transform"
    if cfg.get('tfms') is None: return {}
    if cfg['tfms'] != 'batch_flip': raise ValueError(f"unknown tfms {cfg['tfms']!r}")
    return dict(item_tfms=lambda s: [RandomResizedCrop(s, min_scale=0.35)], batch_tfms=lambda s: [Flip(p=0.5), Normalize.from_stats(*imagenet_stats)])

def _folder(cfg, data):
    g = folder_get_dls(data, num_workers=cfg['num_workers'], **_tfms(cfg))
    caps = (cfg['train_per_class'], cfg['valid_per_class'])
    if caps == (None, None): return g
    keep, seen = ([], []), {}
    for part, cap in enumerate(caps):
        for i in g.splits[part]:
            seen[part, g.labels[i]] = n = seen.get((part, g.labels[i]), 0) + 1
            if cap is None or n <= cap: keep[part].append(i)
    idx = keep[0] + keep[1]
    splits = (list(range(len(keep[0]))), list(range(len(keep[0]), len(idx))))
    return FolderDLs(g.path, [g.items[i] for i in idx], [g.labels[i] for i in idx], splits,
                     f'{g.split_desc}, first {caps} per class', num_workers=cfg['num_workers'], **_tfms(cfg))

def make_learner(cfg, dls, opt=None):
    "A plain `Learner` on a fresh `cfg['arch']`, quiet, with the named optimizer"
    learn = Learner(dls, getattr(xresnet, cfg['arch'])(n_out=dls.c), loss_func=CrossEntropyLossFlat(),
                    metrics=accuracy, opt_func=OPTS[opt or cfg['opt']])
    if cfg['fp16'] and dls.device is not None and torch.device(dls.device).type == 'cuda': learn = learn.to_fp16()
    if cfg.get('amp') or cfg.get('channels_last'):
        learn.add_cb(AmpChannelsLast(torch.device(dls.device or 'cpu').type, cfg.get('amp'), cfg.get('channels_last', False)))
    learn.remove_cb(ProgressCallback)
    learn.logger = noop
    return learn

class AmpChannelsLast(Callback):
    "Forward pass and loss under `torch.autocast(device_type, bfloat16)`; model and input batches in `channels_last`"
    order = 10  # after ProgressiveResize (-5), which resizes the batch first
    def __init__(self, device_type, amp='bf16', channels_last=True):
        if amp not in (None, 'bf16'): raise ValueError(f"`amp` must be None or 'bf16', got {amp!r}")
        self.device_type, self.amp, self.cl, self.ctx = device_type, amp, channels_last, None
    def before_fit(self):
        if self.cl: self.learn.model.to(memory_format=torch.channels_last)
    def before_batch(self):
        if self.cl: self.learn.xb = tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in self.xb)
        if self.amp:
            self.ctx = torch.autocast(self.device_type, dtype=torch.bfloat16)
            self.ctx.__enter__()
    def after_pred(self):
        if self.amp: self.learn.pred = self.pred.float()
    def _exit(self):
        if self.ctx is not None: self.ctx.__exit__(None, None, None); self.ctx = None
    def after_loss(self): self._exit()
    def after_cancel_batch(self): self._exit()

class EpochClock(Callback):
    "Accuracy and elapsed CPU and wall seconds after every epoch"
    order = 200
    def __init__(self, c0, t0): self.curve, self.c0, self.t0 = [], c0, t0
    def after_epoch(self):
        if torch.cuda.is_available(): torch.cuda.synchronize()
        acc = next(m.value for m in self.recorder.metrics if m.name == 'accuracy')  # by name: an epoch whose training was
        # cancelled (a clock-driven fit's last) records no training loss, so the recorded values shift
        self.curve.append(dict(cpu_s=time.process_time() - self.c0, wall_s=time.perf_counter() - self.t0, accuracy=float(acc)))

def run_one(cfg, plan, seed, get_dls):
    "Train `plan` from a fresh model with `seed`; return its times, accuracy and per-epoch curve"
    set_seed(seed)
    s0 = plan.schedule[0]
    learn = make_learner(cfg, get_dls(bs=s0.bs, size=s0.size), plan.opt)
    c0, t0 = time.process_time(), time.perf_counter()
    clock = EpochClock(c0, t0)
    learn.add_cb(clock)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if plan.fit is None: learn.fit_progressive(plan.schedule, get_dls=get_dls)
        else: fitted = plan.fit(learn, get_dls, plan.schedule)
    if torch.cuda.is_available(): torch.cuda.synchronize()
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - t0
    acc = clock.curve[-1]['accuracy'] if plan.evaluate is None else float(plan.evaluate(learn, get_dls))
    res = dict(seed=seed, cpu_s=cpu_s, wall_s=wall_s, accuracy=acc, curve=clock.curve, load=os.getloadavg()[0],
               started=time.time() - wall_s)
    if plan.budget_s is not None:  # a clock-driven fit: its budget, its own clock and where it stopped
        res.update(budget_s=plan.budget_s, spent_s=fitted.spent, stopped_at=fitted.stopped_at, epochs=len(clock.curve),
                   steps=len(fitted.log))
    return res

def measure_models(cfg, get_dls, opts, names=()):
    "One `CostModel` per optimizer: the candidate sizes at `bs`, and the smallest size at the memory rule's batch size if a method uses it"
    small, final = cfg['sizes'][0], cfg['sizes'][-1]
    sizes, bss = list(cfg['candidates']), [cfg['bs']] * len(cfg['candidates'])
    if 'budget_oc_mem' in names: sizes, bss = sizes + [small], bss + [scale_bs([small, final], cfg['bs'], max_bs=cfg['max_bs'])[0]]
    res = {}
    for opt in opts:
        set_seed(0)
        learn = make_learner(cfg, get_dls(bs=cfg['bs'], size=final), opt)
        res[opt] = measure_cost(learn, get_dls, sizes, bss, n_batches=cfg['n_batches'], warmup=1, clock=cfg['clock'])
    return res

def throughput(cm):
    "Images per second of training steps and validation batches at each measured size (of the cost model's clock)"
    return [dict(size=int(r.h), bs=int(r.bs), train_img_s=r.bs / r.train_s, valid_img_s=r.val_bs / r.valid_s if r.valid_s else None)
            for r in cm.df.itertuples()]

def make_plans(cfg, cms, names, log=print):
    "Every (method, budget) of the preset as a `Plan`; a budget the measured costs cannot meet is skipped, with a note"
    plans, skipped = {}, []
    for name in names:
        for arg in cfg['budgets'][name]:
            try: plans[name, _key(arg)] = METHODS[name](cfg, arg, cms)
            except ValueError as e:
                skipped.append(dict(method=name, arg=_key(arg), why=str(e)))
                log(f'skipped {name} {arg}: {e}')
    return plans, skipped

def _key(arg): return arg if not isinstance(arg, (list, tuple)) else '/'.join(map(str, arg))

def machine_info():
    "Versions, device and load average"
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else \
        f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)'
    return dict(python=platform.python_version(), torch=torch.__version__, device=dev, cpus=os.cpu_count(),
                load_start=os.getloadavg())

def _schedule_info(cfg, plan, cms):
    cm = cms[plan.opt or cfg['opt']]
    return dict(schedule=describe(plan.schedule), stages=[s.as_dict() for s in plan.schedule],
                pixel_cost=plan.schedule.cost(), predicted_s=cm.seconds(plan.schedule) if plan.predicted_s is None else plan.predicted_s)

def describe(schedule):
    "Stages as text, such as '2@24/bs256 + ft(1+3)@48'"
    def one(s):
        ep = f'ft({s.frozen}+{s.epochs})' if s.method == 'fine_tune' else str(s.epochs)
        return f"{ep}@{s.label[:-2]}" + (f"/bs{s.bs}" if s.bs is not None else '')
    return ' + '.join(one(s) for s in schedule)

def new_results(cfg, data, command, get_dls, cms):
    "The results dict before any run: configuration, data, machine and cost models"
    return dict(command=command, preset=cfg['name'], config=cfg, data=str(data), n_train=get_dls.n_train,
                n_valid=get_dls.n_valid, n_classes=len(get_dls.vocab), machine=machine_info(),
                started=datetime.now(timezone.utc).isoformat(timespec='seconds'), duration_s=0., appended=[],
                cost_models={k: dict(rows=v.df.to_dict('records'), n_train=v.n_train, n_valid=v.n_valid, clock=v.clock,
                                     bs=v.bs, text=repr(v)) for k,v in cms.items()}, plans=[], skipped=[], runs=[],
                peers=dict(fastxtend=_fastxtend_version()), throughput=throughput(cms[cfg['opt']]), loader=repr(get_dls) if cfg.get('loader') == 'gpu_cache' else 'folder_get_dls',
                setup_s=None, not_run=[])

def _fastxtend_version():
    "The installed fastxtend's version (a peer the benchmark runs when it is installed), or None"
    from peers import fastxtend_version
    return fastxtend_version()

def stored_models(res):
    "The `CostModel`s of a results dict"
    return {k: CostModel(pd.DataFrame(v['rows']), v['n_train'], v['n_valid'], v['clock'], v['bs'])
            for k,v in res['cost_models'].items()}

def run_benchmark(cfg, data, out, command, names, log=print, prior=None):
    "Run every (method, budget) for every seed, alternating, writing results as they come; `prior`: add to those results"
    t0 = time.perf_counter()
    if cfg['threads']: torch.set_num_threads(cfg['threads'])
    if torch.device(cfg.get('device') or 'cpu').type == 'cuda': torch.backends.cudnn.benchmark = True
    get_dls = make_get_dls(cfg, data)
    if prior is None:
        cms = measure_models(cfg, get_dls, sorted({cfg['opt']} | ({'adam'} if 'fixed_adam' in names else set())), names)
        res = new_results(cfg, data, command, get_dls, cms)
    else: res, cms = dict(prior, config=cfg, appended=prior.get('appended', []) + [command]), stored_models(prior)
    known = {(p['method'], p['arg']) for p in res['plans']}
    ran = {(r['method'], r['arg'], r['seed']) for r in res['runs']}  # `--append` resumes: runs already made are kept
    plans, skipped = make_plans(cfg, cms, names, log)
    res['plans'] += [dict(method=m, arg=a, **_schedule_info(cfg, p, cms)) for (m, a), p in plans.items() if (m, a) not in known]
    res['skipped'] += [s for s in skipped if (s['method'], s['arg']) not in known]
    for k,v in cms.items(): log(f'{k}: {v!r}')
    if prior is None:
        res['setup_s'] = time.perf_counter() - t0
        log(f"loader: {res['loader']}; set-up (loader and cost model) {res['setup_s']:.1f} s")
        for r in res['throughput']: log(f"  {r['size']:4d} px, bs {r['bs']}: {r['train_img_s']:8.1f} training images/s, "
                                        f"{r['valid_img_s'] or 0:8.1f} validation images/s ({cfg['clock']} clock)")
    for p in res['plans']: log(f"  {p['method']:14s} {str(p['arg']):8s} {p['schedule']:34s} predicted {p['predicted_s']:.1f} s")
    keys, base = list(plans), res['duration_s']
    # seeds rotate the order of the runs; the methods of cfg['first'] (the fixed-size curve, in-fit) run first for every seed
    jobs = [(m, a, seed) for r, seed in enumerate(range(cfg['seeds']))
            for m, a in keys[r * len(keys) // cfg['seeds']:] + keys[:r * len(keys) // cfg['seeds']]]
    first = cfg.get('first', ())
    jobs = [j for j in jobs if j[0] in first] + [j for j in jobs if j[0] not in first]
    jobs = [j for j in jobs if j not in ran]
    def record(m, a, run):
        run = dict(method=m, arg=a, **run)
        res['runs'].append(run)
        log(f"seed {run['seed']} {m:14s} {str(a):8s} cpu {run['cpu_s']:6.1f} s wall {run['wall_s']:6.1f} s "
            f"accuracy {100 * run['accuracy']:.1f}%  (load {run['load']:.1f})")
        save(res, out, base + time.perf_counter() - t0)
    n_proc = min(cfg.get('jobs') or 1, len(jobs))
    if n_proc <= 1:
        pred = {(p['method'], p['arg']): p['predicted_s'] for p in res['plans']}
        for m, a, seed in jobs:
            spent = time.perf_counter() - t0
            if cfg.get('max_s') and spent + pred[m, a] > cfg['max_s']:  # a wall-time cap (the GPU preset): skip, and say so
                res['not_run'].append(dict(method=m, arg=a, seed=seed, why=f"{spent:.0f} s spent + {pred[m, a]:.0f} s predicted > max_s"))
                log(f"not run: seed {seed} {m} {a} ({res['not_run'][-1]['why']})"); continue
            record(m, a, run_one(cfg, plans[m, a], seed, get_dls))
        save(res, out, base + time.perf_counter() - t0)
        return res
    # a pool of processes, each with the preset's threads, takes the runs in the order above (seeds rotated): the plans
    # are made again in each process from the measured cost models (a Plan may hold a function, which does not pickle)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    models = res['cost_models']
    with ProcessPoolExecutor(n_proc, mp_context=mp.get_context('spawn')) as ex:
        futs = {ex.submit(pool_run, cfg, str(data), models, m, a, seed): (m, a) for m, a, seed in jobs}
        for f in as_completed(futs): record(*futs[f], f.result())
    res['runs'].sort(key=lambda r: (r['seed'], r.get('started', 0)))
    return res

_pool_cache = {}
def pool_run(cfg, data, models, m, a, seed):
    "One run in a pool process: the data and plans made once per process"
    if 'get_dls' not in _pool_cache:
        if cfg['threads']: torch.set_num_threads(cfg['threads'])
        _pool_cache['get_dls'] = make_get_dls(cfg, data)
        _pool_cache['cms'] = stored_models(dict(cost_models=models))
    plan = METHODS[m](cfg, _arg(a), _pool_cache['cms'])
    return dict(run_one(cfg, plan, seed, _pool_cache['get_dls']), pid=os.getpid())

def _arg(a):
    "The inverse of `_key`: '4/0.7' -> (4, 0.7)"
    if not isinstance(a, str): return a
    return tuple(float(x) if '.' in x else int(x) for x in a.split('/'))

def save(res, out, duration_s):
    "Write the results so far as bench_<preset>.json"
    res['duration_s'] = duration_s
    res['machine']['load_end'] = os.getloadavg()
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    (out/f"bench_{res['preset']}.json").write_text(json.dumps(res, indent=1, default=str))
