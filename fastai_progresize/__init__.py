__version__ = "0.1.0"

# What `from fastai_progresize import *` brings: the names a user needs, each listed in the README's API section.
# Importing the package also adds `Learner.fit_progressive`, `Learner.test_sizes`,
# `Learner.set_test_size`, `Learner.choose_test_size`, `Learner.plan_budget`, `Learner.fit_budget`, `Learner.recalibrate_bn` and `Learner.fixres_finetune`.
# Plumbing stays in its modules (`fastai_progresize.loaders`, `.resize`, ...), test fixtures in `fastai_progresize.test_utils`,
# and multi-process training in `fastai_progresize.distributed`, which changes nothing until asked.
from .stages import Stage
from .schedule import ProgressiveSchedule
from .rules import scale_bs, scale_lr
from .cost import CostModel, measure_cost
from .history import ProgressiveHistory
from . import fit  # noqa: F401 (Learner.fit_progressive)
from .ramp import RampedCallback
from .resize import ProgressiveResize
from .regularize import ProgressiveRegularize
from .budget import TimeBudget, BudgetPlan
from .test_size import SizeSweep
from .calibrate import TestSizeChoice
from .data import folder_get_dls, DraftImageBlock
from .cache import cached_get_dls
from .synth import make_shapes

__all__ = ['Stage', 'ProgressiveSchedule', 'scale_bs', 'scale_lr', 'CostModel', 'measure_cost', 'ProgressiveHistory',
           'RampedCallback', 'ProgressiveResize', 'ProgressiveRegularize', 'TimeBudget', 'BudgetPlan', 'SizeSweep', 'TestSizeChoice', 'folder_get_dls', 'cached_get_dls', 'DraftImageBlock',
           'make_shapes']
