"""Fast checks of the package as a user imports it: what the star import brings, what importing does to fastai,
that every module imports on its own. The behaviour itself is tested in the notebooks (`nbdev-test`)."""
import importlib, json, os, pkgutil, subprocess, sys, types
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(ROOT/'fastai_progresize')]))

def _env():
    return {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), 'OMP_NUM_THREADS': '1'}

def _probe(code):
    "Run `code` in a fresh interpreter (so nothing is imported yet) and return the JSON its last line prints"
    r = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], capture_output=True, text=True, cwd=ROOT, env=_env())
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])

def test_star_import_is_all():
    "`from fastai_progresize import *` brings exactly `__all__`, every name bound, and no module object"
    import fastai_progresize
    ns = {}
    exec('from fastai_progresize import *', ns); ns.pop('__builtins__')
    assert sorted(ns) == sorted(fastai_progresize.__all__)
    assert len(set(fastai_progresize.__all__)) == len(fastai_progresize.__all__), 'a name is listed twice in __all__'
    assert not [k for k, v in ns.items() if isinstance(v, types.ModuleType)]

def test_readme_lists_the_star_import():
    "Every name of the star import has a row in the README's API section, and every name there exists"
    import fastai_progresize
    from fastai.learner import Learner
    readme = (ROOT/'README.md').read_text()
    assert '## API' in readme
    api = readme.split('## API', 1)[1].split('\n## ', 1)[0]
    missing = [n for n in fastai_progresize.__all__ if f'`{n}`' not in api]
    assert not missing, f"README's API section does not list {missing}"
    rows = [l.split('|')[1] for l in api.splitlines() if l.startswith('| `')]
    named = [n.strip(' `') for r in rows for n in r.split(',')]
    unknown = [n for n in named if not (n in fastai_progresize.__all__ or
               (n.startswith('Learner.') and hasattr(Learner, n.split('.', 1)[1])))]
    assert not unknown, f"README's API section names {unknown}, which the package does not have"

@pytest.mark.parametrize('mod', [m for m in MODULES if m != '_modidx'])
def test_module_imports(mod):
    "Each module of the package imports (the CLI too) and says what it is in a docstring"
    m = importlib.import_module(f'fastai_progresize.{mod}')
    assert (m.__doc__ or '').strip(), f"fastai_progresize.{mod} has no module docstring"

def test_import_replaces_nothing_of_fastai():
    "Importing every module adds methods to fastai classes but replaces none of their attributes"
    res = _probe(r"""
import inspect, json, sys, importlib, pkgutil
import fastai.vision.all, fastai.callback.all
classes = {f"{m.__name__}.{k}": c for m in list(sys.modules.values()) if (getattr(m, '__name__', '') or '').startswith('fastai.')
           for k, c in vars(m).items() if inspect.isclass(c) and c.__module__.startswith('fastai.')}
before = {n: dict(vars(c)) for n, c in classes.items()}
import fastai_progresize
for m in pkgutil.iter_modules(fastai_progresize.__path__):
    if m.name != '_modidx': importlib.import_module(f'fastai_progresize.{m.name}')
replaced = sorted(f"{n}.{k}" for n, c in classes.items() for k, v in vars(c).items() if k in before[n] and before[n][k] is not v)
added = sorted({k for n, c in classes.items() if n.endswith('.Learner') for k in vars(c) if k not in before[n]})
print(json.dumps(dict(replaced=replaced, added=added)))
""")
    assert res['replaced'] == [], f"importing the package replaces {res['replaced']}"
    assert 'fit_progressive' in res['added'] and 'fit_budget' in res['added']

def test_test_utils_keeps_fastais_convention():
    "`fastai_progresize.test_utils` is importable and its `test_*` helpers are not collected by `pytest` at the root"
    tu = importlib.import_module('fastai_progresize.test_utils')
    assert tu.__name__ == 'fastai_progresize.test_utils'
    import tomllib
    ini = tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['pytest']['ini_options']
    assert ini['testpaths'] == ['tests']

def test_help_imports_no_fastai():
    "`progresize-train --help` answers without importing fastai, torch or matplotlib (those come after the arguments are parsed)"
    r = subprocess.run([sys.executable, '-X', 'importtime', '-m', 'fastai_progresize.cli', '--help'], capture_output=True,
                       text=True, cwd=ROOT, env=_env())
    assert r.returncode == 0 and r.stdout.startswith('usage: ') and '--minutes' in r.stdout, r.stderr[-2000:]
    mods = {l.rsplit('|', 1)[-1].strip() for l in r.stderr.splitlines() if l.startswith('import time:')}
    heavy = sorted(m for m in mods if m.split('.')[0] in ('fastai', 'torch', 'matplotlib'))
    assert 'fastcore.script' in mods and not heavy, heavy[:10]

def test_star_import_adds_learner_methods():
    "The star import (the names load on first use) adds every `Learner` method the README lists"
    res = _probe(r"""
import json
from fastai_progresize import *
from fastai.learner import Learner
names = ['fit_progressive', 'test_sizes', 'set_test_size', 'choose_test_size', 'plan_budget', 'fit_budget', 'recalibrate_bn', 'fixres_finetune']
print(json.dumps([n for n in names if not hasattr(Learner, n)]))
""")
    assert res == [], f"missing after the star import: {res}"
