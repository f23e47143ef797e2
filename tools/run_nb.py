"""Execute notebooks in place so that their cells keep their outputs (then run nbdev-clean).
Usage: python tools/run_nb.py nbs/17_fit.ipynb [more.ipynb ...]   (run from the repository root; slow cells included
unless --no-slow; cells with `#| eval: false` are skipped)."""
import sys, os, time
from pathlib import Path
from execnb.shell import CaptureShell, read_nb, write_nb
skip_slow = '--no-slow' in sys.argv
for p in [Path(a).resolve() for a in sys.argv[1:] if not a.startswith('--')]:
    t0 = time.time()
    nb = read_nb(p)
    os.chdir(p.parent)
    sh = CaptureShell(path=p.parent, mpl_format='png')
    sh.run("import warnings; warnings.filterwarnings('ignore', message=r'.*torch\\.jit\\.script.*')")  # fastai's import, on current torch
    for c in nb.cells:
        if c.cell_type != 'code': continue
        src = c.source
        if '#| eval: false' in src or (skip_slow and '#| slow' in src): continue
        sh.cell(c)
        if sh.exc: print(f"{p.name}: error in cell:\n{src[:500]}\n{sh.exc!r}"); sys.exit(1)
    write_nb(nb, p)
    print(f"{p.name}: executed in {time.time()-t0:.0f} s")
