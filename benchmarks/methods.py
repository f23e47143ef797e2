"""The methods the benchmark compares: each turns a preset and one of its budgets into a `Plan`.

To add a method, write a function `f(cfg, arg, cms) -> Plan` and decorate it with `@method(name, label)`; list its
budgets (`arg`s) under `cfg['budgets'][name]` in the presets of `bench.py`. A `Plan` holds the schedule whose time
the cost model predicts; a method that does not train with `fit_progressive` gives its own `fit`, and one that
judges the model another way (such as at a larger test size) gives its own `evaluate`.
"""
from __future__ import annotations
from dataclasses import dataclass
from typing import Callable
from fastai_progresize.stages import Stage
from fastai_progresize.schedule import ProgressiveSchedule

@dataclass
class Plan:
    "What one run trains: `schedule` (timed and predicted), and how, if not by `fit_progressive`"
    schedule: ProgressiveSchedule
    opt: str = None        # optimizer name (a key of bench.OPTS); None: the preset's
    fit: Callable = None   # fit(learn, get_dls, schedule): train; None: learn.fit_progressive(schedule, get_dls=get_dls)
    evaluate: Callable = None  # evaluate(learn, get_dls) -> accuracy; None: the last epoch's validation accuracy
    budget_s: float = None     # a clock-driven fit's wall-clock budget: recorded with every run, to compare with its time
    predicted_s: float = None  # the predicted time when the schedule's own prediction does not apply (a clock-driven fit)

METHODS, LABELS = {}, {}

def method(name:str, label:str):
    "Register `f(cfg, arg, cms) -> Plan` as the method `name`"
    def deco(f):
        METHODS[name], LABELS[name] = f, label
        return f
    return deco

@method('fixed', 'fixed size')
def fixed(cfg, epochs, cms):
    "`epochs` of `fit_one_cycle` at the final size: one point of the fixed-size curve"
    return Plan(ProgressiveSchedule([Stage(cfg['sizes'][-1], epochs, cfg['lr'], cfg['bs'])]))

@method('fixed_adam', "fixed size, fastai's Adam")
def fixed_adam(cfg, epochs, cms):
    "As `fixed`, with fastai's own `Adam` instead of the preset's optimizer"
    return Plan(fixed(cfg, epochs, cms).schedule, opt='adam')

@method('book', "book: one_cycle small, fine_tune final")
def book(cfg, epochs, cms):
    "The fastai book's staged recipe: 4/9 of `epochs` with `fit_one_cycle` small, the rest `fine_tune` at the final size"
    small = round(epochs * 4 / 9) or 1
    return Plan(ProgressiveSchedule.from_lists(cfg['sizes'], [small, epochs - small], [cfg['lr'], cfg['lr'] / 3],
                                               bs=cfg['bs'], later='fine_tune'))

def _budget(cfg, arg, cms, **kwargs):
    epochs, budget = arg
    return ProgressiveSchedule.from_budget(cfg['sizes'][-1], epochs, budget, cfg['lr'], start_size=cfg['sizes'][0],
                                           multiple=cfg['multiple'], bs=cfg['bs'], cost_model=cms[cfg['opt']], **kwargs)

@method('budget_ft', 'from_budget, fine_tune')
def budget_ft(cfg, arg, cms):
    "`from_budget(final, epochs, budget, cost_model=...)` with `later='fine_tune'`: `arg` is (epochs, budget)"
    return Plan(_budget(cfg, arg, cms, later='fine_tune'))

@method('budget_oc', 'from_budget, one_cycle')
def budget_oc(cfg, arg, cms):
    "As `budget_ft`, every stage trained by `fit_one_cycle` (no frozen epoch, optimizer state kept)"
    return Plan(_budget(cfg, arg, cms, later='one_cycle'))

@method('budget_oc_mem', "from_budget, one_cycle, bs_rule='memory'")
def budget_oc_mem(cfg, arg, cms):
    "As `budget_oc`, the batch growing as the images shrink (`bs_rule='memory'`, `lr_rule='sqrt'`)"
    return Plan(_budget(cfg, arg, cms, later='one_cycle', bs_rule='memory', max_bs=cfg['max_bs'], lr_rule='sqrt'))

def _ramped(cfg, epochs, ramp=(0.2, 0.8)):
    "`ProgressiveSchedule.in_fit` from the preset's first size to its final one, the size growing over `ramp`"
    return ProgressiveSchedule.in_fit(cfg['sizes'][-1], epochs, cfg['lr'], start=cfg['sizes'][0], bs=cfg['bs'], ramp=ramp)

@method('in_fit', 'in one fit (ProgressiveResize)')
def in_fit(cfg, epochs, cms):
    "One `fit_one_cycle` of `epochs` whose batches grow from the first size to the final one (`ProgressiveSchedule.in_fit`)"
    return Plan(_ramped(cfg, epochs))

@method('in_fit_early', 'in one fit, ramp 0-50%')
def in_fit_early(cfg, epochs, cms):
    "As `in_fit`, the ramp from the start to half of training, then the final size: to choose the default ramp"
    return Plan(_ramped(cfg, epochs, (0., 0.5)))

@method('in_fit_late', 'in one fit, ramp 50-90%')
def in_fit_late(cfg, epochs, cms):
    "As `in_fit`, the ramp from half of training to 90%: more of the run at the small size"
    return Plan(_ramped(cfg, epochs, (0.5, 0.9)))

def _clock(cfg, seconds, cms, start):
    "`Learner.fit_budget` on a `BudgetPlan` of `seconds` (a ramp from `start` px, or none): the fit follows the wall clock"
    from fastai.learner import Learner
    import fastai_progresize.budget  # noqa: F401 (Learner.plan_budget, Learner.fit_budget)
    final, cm = cfg['sizes'][-1], cms[cfg['opt']]
    bp = Learner.plan_budget(None, seconds, final, start=start, bs=cfg['bs'], cost_model=cm, multiple=cfg['multiple'])
    stage = Stage(final, max(1, round(bp.epochs)), cfg['lr'], cfg['bs'])  # the learner's first DataLoaders: the final size
    return Plan(ProgressiveSchedule([stage]), budget_s=float(seconds), predicted_s=bp.end,
                fit=lambda learn, get_dls, schedule: learn.fit_budget(bp, cfg['lr']))

@method('budget_in_fit', 'fit_budget, in-fit ramp')
def budget_in_fit(cfg, seconds, cms):
    "`learn.fit_budget(plan)`: one fit that ends when `seconds` of wall time are spent, its batches growing from the first size to the final one between 20% and 80% of the time"
    return _clock(cfg, seconds, cms, cfg['sizes'][0])

@method('budget_fixed', 'fit_budget, fixed size')
def budget_fixed(cfg, seconds, cms):
    "`learn.fit_budget(plan)` at the final size throughout: the same clock-driven fit without a ramp"
    return _clock(cfg, seconds, cms, None)

# The peers (see peers.py) and the sweep of the in-fit ramp's shape: each one `fit_one_cycle` of `epochs` at the final
# size's DataLoaders (`cfg['tfms']='batch_flip'`: a batch `Flip`, an affine transform the resize can be folded into)
def _one_fit(cfg, epochs, ramp, cbs):
    "A Plan of one `fit_one_cycle(epochs)` with `cbs()`; its schedule (for the predicted time) an in-fit ramp over `ramp`"
    return Plan(_ramped(cfg, epochs, ramp), fit=lambda learn, get_dls, schedule: learn.fit_one_cycle(epochs, cfg['lr'], cbs=cbs()))

@method('in_fit_hold', 'in one fit, ramp 50-80% (the peers\' timing)')
def in_fit_hold(cfg, epochs, cms):
    "As `in_fit`, the start size held for half of training, then grown to the final size by 80% (Composer's defaults' timing)"
    return Plan(_ramped(cfg, epochs, (0.5, 0.8)))

@method('in_fit_fold', 'in one fit, resize folded into the Flip')
def in_fit_fold(cfg, epochs, cms):
    "As `in_fit` (ramp 20-80%), the resize folded into the batch `Flip`'s one resample (`peers.FoldedResize`), as fastxtend does"
    from peers import FoldedResize
    return _one_fit(cfg, epochs, (0.2, 0.8), lambda: FoldedResize(start=cfg['sizes'][0], final=cfg['sizes'][-1]))

@method('fastxtend', 'fastxtend 0.1.7 ProgressiveResize, defaults')
def fastxtend(cfg, epochs, cms):
    "fastxtend's own callback with its defaults (half size, grown by 4 px between 50% and 75% of training, resize folded into affine transforms)"
    from peers import import_fastxtend
    cls = import_fastxtend()
    if cls is None: raise ValueError("fastxtend is not installed: pip install fastxtend==0.1.7 (see benchmarks/README.md)")
    return _one_fit(cfg, epochs, (0.5, 0.75), lambda: cls(initial_size=0.5, verbose=False))

@method('composer', "Composer's rule for fastai, defaults")
def composer(cfg, epochs, cms):
    "Composer's `ProgressiveResizing` defaults (half scale held to 50%, full by 80%, width a multiple of 4, nearest), written for fastai (`peers.ComposerRule`)"
    from peers import ComposerRule
    return _one_fit(cfg, epochs, (0.5, 0.8), lambda: ComposerRule())
