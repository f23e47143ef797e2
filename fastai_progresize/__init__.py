__version__ = "0.1.0"

import warnings
# fastai's import of torch.jit.script warns on every start with current torch; nothing a user can act on
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

from .core import *
from .schedule import *
from .data import *
from .synth import *
