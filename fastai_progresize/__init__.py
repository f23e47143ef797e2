__version__ = "0.1.0"

# What `from fastai_progresize import *` brings: the names a user needs, each listed in the README's API section, and
# the `Learner` methods `fit_progressive`, `test_sizes`, `set_test_size`, `choose_test_size`, `plan_budget`,
# `fit_budget`, `recalibrate_bn` and `fixres_finetune`.
# Plumbing stays in its modules (`fastai_progresize.loaders`, `.resize`, ...), test fixtures in `fastai_progresize.test_utils`,
# and multi-process training in `fastai_progresize.distributed`, which changes nothing until asked.
#
# The names load on first use (PEP 562): `import fastai_progresize` alone imports no fastai, so that the command line's
# `--help` answers at once. The star import, or the first public name used (`fastai_progresize.Stage`), imports every
# module below, fastai included, and so adds the `Learner` methods.
import importlib

_HOMES = dict(Stage='stages', ProgressiveSchedule='schedule', scale_bs='rules', scale_lr='rules', CostModel='cost',
              measure_cost='cost', ProgressiveHistory='history', RampedCallback='ramp', ProgressiveResize='resize',
              ProgressiveRegularize='regularize', TimeBudget='budget', BudgetPlan='budget', SizeSweep='test_size',
              TestSizeChoice='calibrate', folder_get_dls='data', cached_get_dls='cache', DraftImageBlock='data',
              make_shapes='synth')
_PATCHING = ('fit', 'budget', 'test_size', 'calibrate')  # the modules that add `Learner` methods

__all__ = list(_HOMES)

def _load_all():
    "Import the modules of the star import and those that add `Learner` methods; bind the public names here"
    for m in dict.fromkeys([*_PATCHING, *_HOMES.values()]): importlib.import_module(f'{__name__}.{m}')
    globals().update({n: getattr(importlib.import_module(f'{__name__}.{m}'), n) for n, m in _HOMES.items()})

def __getattr__(name):
    if name not in _HOMES: raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load_all()
    return globals()[name]

def __dir__(): return sorted({*globals(), *__all__})
