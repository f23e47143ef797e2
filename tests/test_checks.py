"""The house-rule checks of `.ci/checks.py` catch what they should, on synthetic bad cases (so a check that silently
passes everything fails here). Only the check functions are loaded from the script, not its run over the repository."""
import ast, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture
def chk(tmp_path):
    "The functions of .ci/checks.py, with `root` set to `tmp_path`"
    tree = ast.parse((ROOT/'.ci'/'checks.py').read_text())
    ns = dict(ast=ast, re=re, json=json, Path=Path, root=tmp_path)
    exec(compile(ast.Module([n for n in tree.body if isinstance(n, ast.FunctionDef)], []), 'checks', 'exec'), ns)
    return ns

def _nb(d, name, cells):
    (d/'nbs').mkdir(exist_ok=True)
    p = d/'nbs'/name
    p.write_text(json.dumps(dict(cells=[dict(cell_type='code', source=c) for c in cells])))
    return p

def test_reading_order(chk, tmp_path):
    "An import of a later notebook's module is reported, in each import form; 23+ notebooks that export nothing are exempt"
    nbs = [_nb(tmp_path, '01_a.ipynb', ['#| default_exp a', '#| export\nfrom pkg.b import x', 'from pkg import *']),
           _nb(tmp_path, '02_b.ipynb', ['#| default_exp b', 'import pkg.a, pkg.c as c']),
           _nb(tmp_path, '03_c.ipynb', ['#| default_exp c', 'from pkg.a import y']),
           _nb(tmp_path, '23_tut.ipynb', ['import pkg']),
           _nb(tmp_path, '24_exp.ipynb', ['#| default_exp d', 'import pkg'])]
    got = chk['order_offenders'](nbs, 'pkg', {'a', 'b', 'c', 'd'})
    assert got == ['01_a.ipynb imports pkg.b, exported by the later 02_b.ipynb',
                   '01_a.ipynb imports pkg.c, exported by the later 03_c.ipynb',
                   '01_a.ipynb imports pkg.d, exported by the later 24_exp.ipynb',
                   '02_b.ipynb imports pkg.c, exported by the later 03_c.ipynb']
    assert chk['star_modules']("from .a import x\nfrom . import b, c  # side effects\n") == {'a', 'b', 'c'}
    lazy = "_HOMES = dict(X='a', Y='b')\n_PATCHING = ('c',)\n__all__ = list(_HOMES)\n"  # the names load on first use (PEP 562)
    assert chk['star_modules'](lazy) == {'a', 'b', 'c'}

def test_long_export_cells(chk, tmp_path):
    "An export or exporti cell over 80 lines is reported; one of 80 lines, or a long cell that is not exported, is not"
    nbs = [_nb(tmp_path, '01_a.ipynb', ['#| export\n' + 'x = 1\n' * 80, '#| exporti\n' + 'x = 1\n' * 79, 'x = 1\n' * 200])]
    got = chk['long_cells'](nbs)
    assert len(got) == 1 and got[0].startswith("01_a.ipynb: code cell 0 ('x = 1') has 81 lines")

def test_pyflakes(chk, tmp_path):
    "Unused imports and undefined names are reported; __future__, # noqa and names in __all__ are not"
    pytest.importorskip('pyflakes')
    f = tmp_path/'m.py'
    f.write_text('from __future__ import annotations\nimport os  # noqa: F401\nimport re\nfrom .x import g\n'
                 '__all__ = ["g"]\ndef h(): return undefined_x\n')
    assert chk['pyflakes_offenders']([f]) == ["m.py:3: 're' imported but unused", "m.py:6: undefined name 'undefined_x'"]

def test_time_budget_names(chk, tmp_path):
    "A concrete callback named in TimeBudget's class body or a method patched onto it is reported; elsewhere it is not"
    f = tmp_path/'budget.py'
    f.write_text('class TimeBudget:\n    order = ProgressiveResize.order\n'
                 'def h(self:TimeBudget): return isinstance(self, ProgressiveRegularize)\n'
                 'def fit_budget(self): return ProgressiveOther()\n')
    assert chk['time_budget_names'](f, ['ProgressiveResize', 'ProgressiveRegularize', 'ProgressiveOther']) == \
        ['ProgressiveRegularize', 'ProgressiveResize']

def test_stale_imports(chk, tmp_path):
    "A benchmark's import of a module the package lacks, or of a name a module does not define, is reported"
    lib = tmp_path/'pkg'; lib.mkdir()
    (lib/'loaders.py').write_text('from x import y\ndef train_pipeline(): pass\nA: int = 1\n')
    chk['lib'] = lib
    f = tmp_path/'b.py'
    f.write_text('import pkg.core\nfrom pkg.checks import train_pipeline\nfrom pkg.loaders import train_pipeline, A, y, gone\nimport os\n')
    assert chk['stale_imports']([f], 'pkg') == ['b.py:1 imports pkg.core, which the package does not have',
                                                'b.py:2 imports pkg.checks, which the package does not have',
                                                'b.py:3 imports gone from pkg.loaders, which does not define it']
