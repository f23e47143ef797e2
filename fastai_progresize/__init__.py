__version__ = "0.1.0"

import warnings
# fastai's import of torch.jit.script warns on every start with current torch; nothing a user can act on
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

from .stages import *
from .rules import *
from .schedule import *
from .cost import *
from .checks import *
from .history import *
from .checkpoint import *
from .core import *
from .resize import *
from .regularize import *
from .test_size import *
from .calibrate import *
from .data import *
from .synth import *
