#!/usr/bin/env python3
"""Consistency checks that CI runs besides the tests:
- settings.ini, pyproject.toml, setup.py and fastai_progresize/__init__.py agree on name, version and Python;
- every public function, class and method the package exports has a docstring and is shown with `show_doc`
  in the notebook that defines it (so it has an entry on the docs site);
- the shape of the package: no module over 400 lines (split by job, never by size), no import circle between its
  modules, no private name imported from another module of the package (or by the benchmarks), nothing private
  patched onto a fastai class (no `Learner._...` in `_modidx.py`);
- the public surface: `from fastai_progresize import *` adds no module object and at most 25 names, each listed in
  the README's API section; importing any module of the package replaces no attribute of a fastai class;
- the house rules of issue 22: pyflakes finds no unused import or undefined name in the package; no notebook imports a
  module exported by a later-numbered notebook; no export cell over 80 lines; `duplicates` (where installed) finds no
  repeated block in the package outside `_modidx.py`; `Learner.fit_progressive` has at most 13 named parameters, and
  `TimeBudget` names no concrete callback class of the package (it drives any ramped callback through the ramp seam)."""
import ast, configparser, importlib, inspect, json, re, sys, tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
errors = []

cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')
cfg = cfg['DEFAULT']
pp = tomllib.loads((root/'pyproject.toml').read_text())
init = (root/cfg['lib_path']/'__init__.py').read_text()
version = re.search(r'__version__\s*=\s*"([^"]+)"', init)
if not version or version[1] != cfg['version']:
    errors.append(f"__init__.py's __version__ {version and version[1]!r} != settings.ini's version {cfg['version']!r}")
if pp['project']['name'] != cfg['lib_name']: errors.append(f"pyproject name {pp['project']['name']!r} != settings.ini lib_name {cfg['lib_name']!r}")
if pp['project'].get('requires-python') != '>=' + cfg['min_python']:
    errors.append(f"pyproject requires-python {pp['project'].get('requires-python')!r} != '>=' + settings.ini min_python")
if pp['tool']['nbdev'].get('lib_path') != cfg['lib_path']: errors.append("pyproject [tool.nbdev] lib_path != settings.ini lib_path")
if pp['tool']['nbdev'].get('tst_flags') != cfg['tst_flags']: errors.append("pyproject [tool.nbdev] tst_flags != settings.ini tst_flags")
static = set(pp['project']) - {'name', 'requires-python', 'dynamic'}
if static: errors.append(f"pyproject [project] sets {sorted(static)} statically: metadata belongs in settings.ini")

# Docstrings and show_doc entries
sys.path.insert(0, str(root))
shown = set()
for nb in (root/'nbs').glob('*.ipynb'):
    for c in json.loads(nb.read_text())['cells']:
        if c['cell_type'] == 'code': shown |= set(re.findall(r'show_doc\(([\w.]+)', ''.join(c['source'])))
lib = root/cfg['lib_path']
for f in sorted(lib.glob('*.py')):
    if f.name.startswith('_'): continue
    mod = importlib.import_module(f"{cfg['lib_path']}.{f.stem}")
    for name in getattr(mod, '__all__', []):
        obj = getattr(mod, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)): continue
        if not inspect.getdoc(obj): errors.append(f"{f.stem}.{name} has no docstring")
        if name not in shown and getattr(obj, '__name__', name) not in shown: errors.append(f"{f.stem}.{name} has no show_doc cell")
        if inspect.isclass(obj):
            for k,v in vars(obj).items():
                if k.startswith('_') or not inspect.isfunction(v) or v.__module__ != mod.__name__: continue
                if not inspect.getdoc(v) and not k.startswith(('before_', 'after_')):
                    errors.append(f"{f.stem}.{name}.{k} has no docstring")
# Methods patched onto classes (`@patch`): find them in the exported source
own = {n.name for f in lib.glob('*.py') for n in ast.parse(f.read_text()).body if isinstance(n, ast.ClassDef)}
public = {n for f in lib.glob('*.py') if not f.name.startswith('_')
          for n in getattr(importlib.import_module(f"{cfg['lib_path']}.{f.stem}"), '__all__', [])}
for f in sorted(lib.glob('*.py')):
    tree = ast.parse(f.read_text())
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and any(getattr(d, 'id', None) == 'patch' for d in node.decorator_list)): continue
        cls = getattr(node.args.args[0].annotation, 'id', '') if node.args.args else ''
        if node.name.startswith('_') and not node.name.endswith('__') and cls not in own:
            errors.append(f"{f.stem}: {node.name} is a private method patched onto {cls}: make it a function of the module")
        if not node.name.startswith('_') and not cls.startswith('_') and (cls in public or cls not in own):
            if not ast.get_docstring(node): errors.append(f"{f.stem}: patched method {node.name} has no docstring")
            if not any(s.endswith('.' + node.name) for s in shown): errors.append(f"{f.stem}: patched method {node.name} has no show_doc cell")

# The shape of the package
imports = {}
for f in sorted(lib.glob('*.py')):
    if f.name.startswith('_'): continue
    n = len(f.read_text().splitlines())
    if n > 400: errors.append(f"{f.name} has {n} lines: split it by job, along the path of the data (at most about 400)")
    imports[f.stem] = set(re.findall(r'^from \.(\w+) import', f.read_text(), re.M))
# No private name crosses a module boundary: not between the package's modules, not into the benchmarks
for f in [*sorted(lib.glob('*.py')), *sorted((root/'benchmarks').glob('*.py'))]:
    if f.name == '_modidx.py': continue
    for node in ast.walk(ast.parse(f.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith(cfg['lib_path'])):
            priv = [a.name for a in node.names if a.name.startswith('_') and not a.name.startswith('__')]
            if priv: errors.append(f"{f.relative_to(root)}:{node.lineno} imports private {', '.join(priv)} from "
                                   f"{'.' * node.level}{node.module or ''}: give it a plain name in the module that owns it")
def _cycle(m, seen):
    for o in imports.get(m, ()):
        if o in seen: return seen[seen.index(o):] + [o]
        c = _cycle(o, seen + [o])
        if c: return c
for m in imports:
    c = _cycle(m, [m])
    if c: errors.append(f"import circle: {' -> '.join(c)}"); break
if re.search(r"'fastai\.\w+(\.\w+)*\.\w+\._", (lib/'_modidx.py').read_text()):
    errors.append("_modidx.py lists a private method patched onto a fastai class")

# House rules (issue 22). Each check lists every offender it finds.
# a. pyflakes over the package (not the generated _modidx.py): no unused import, no undefined name. A line marked
#    `# noqa` is skipped (an import kept for what it does on import, as `from . import fit` adds Learner.fit_progressive).
def pyflakes_offenders(files):
    "'file:line: message' for each unused import or undefined name pyflakes finds in `files`"
    from pyflakes import checker, messages as M
    keep = (M.UnusedImport, M.UndefinedName, M.UndefinedLocal, M.ImportStarUsage)
    out = []
    for f in files:
        src = f.read_text(); lines = src.splitlines()
        w = checker.Checker(ast.parse(src, str(f)), str(f))
        for m in sorted(w.messages, key=lambda m: m.lineno):
            if not isinstance(m, keep): continue
            if isinstance(m, M.UnusedImport) and m.message_args[0].startswith('__future__'): continue
            if isinstance(m, M.UndefinedName) and m.message_args[0] in ('__all__', '__file__'): continue
            if '# noqa' in lines[m.lineno - 1]: continue
            out.append(f"{f.relative_to(root)}:{m.lineno}: {m.message % m.message_args}")
    return out
try: import pyflakes  # noqa: F401
except ImportError: errors.append("pyflakes is not installed: it is a dev requirement (pip install -e '.[dev]')")
else:
    flakes = pyflakes_offenders([f for f in sorted(lib.glob('*.py')) if f.name != '_modidx.py'])
    if flakes: errors.append(f"pyflakes: {len(flakes)} unused import(s) or undefined name(s); fix them in the notebooks:\n      "
                             + '\n      '.join(flakes))

# b. Reading order: a notebook imports (in any code cell) only modules exported by notebooks numbered no later than it.
#    `import fastai_progresize`, `from fastai_progresize import ...` import the package, so every module its __init__ imports.
def nb_key(nb):
    "The sort key of a numbered notebook (`06a_run` -> (6, 'a')), or None for an unnumbered one (index)"
    m = re.match(r'(\d+)([a-z]*)_', nb.name)
    return (int(m[1]), m[2]) if m else None
def nb_cells(nb): return [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
def star_modules(init_src):
    "The modules the package's __init__ loads for `from fastai_progresize import *`: its `_HOMES` values and `_PATCHING`"
    tree, mods = ast.parse(init_src), set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) in ('_HOMES', '_PATCHING') for t in node.targets):
            v = node.value
            if isinstance(v, ast.Call): mods |= {k.value.value for k in v.keywords}
            elif isinstance(v, (ast.Tuple, ast.List)): mods |= {e.value for e in v.elts}
    mods |= set(re.findall(r'^from \.(\w+) import', init_src, re.M))
    for names in re.findall(r'^from \. import (.+)$', init_src, re.M): mods |= {n.split(' as ')[0].strip() for n in names.split('#')[0].split(',')}
    return mods
def nb_imports(src, pkg, star):
    "The package modules a cell's source imports"
    out = set()
    for line in src.splitlines():
        line = line.split('#')[0].strip()
        m = re.match(rf'from\s+{pkg}((?:\.\w+)*)\s+import\s+(.+)', line)
        if m:
            if m[1]: out.add(m[1][1:].split('.')[0])
            else: out |= star | {n.strip(' ()').split(' as ')[0] for n in m[2].split(',')}
            continue
        m = re.match(r'import\s+(.+)', line)
        if m:
            for n in m[1].split(','):
                n = n.strip().split(' as ')[0].strip()
                if n == pkg: out |= star
                elif n.startswith(pkg + '.'): out.add(n.split('.')[1])
    return out
def order_offenders(nbs, pkg, star):
    "'notebook imports module (exported by later notebook)' for each import against the reading order"
    exp, keys, srcs = {}, {}, {}
    for nb in nbs:
        keys[nb], srcs[nb] = nb_key(nb), nb_cells(nb)
        for c in srcs[nb]:
            m = re.search(r'^#\|\s*default_exp\s+(\S+)', c, re.M)
            if m: exp[m[1].split('.')[0]] = nb
    out = []
    for nb in nbs:
        k = keys[nb]
        if k is None: continue
        own = [m for m, n in exp.items() if n == nb]
        if k[0] >= 23 and not own: continue  # the tutorial, bad-inputs and benchmark pages import anything
        bad = {}
        for c in srcs[nb]:
            for m in sorted(nb_imports(c, pkg, star)):
                src_nb = exp.get(m)
                if src_nb is not None and keys[src_nb] is not None and keys[src_nb] > k: bad.setdefault(m, src_nb)
        out += [f"{nb.name} imports {pkg}.{m}, exported by the later {n.name}" for m, n in sorted(bad.items())]
    return out
nbs = sorted(p for p in (root/'nbs').rglob('*.ipynb') if not any(q.startswith(('_', '.')) for q in p.relative_to(root/'nbs').parts))
star = star_modules((lib/'__init__.py').read_text())
order = order_offenders(nbs, cfg['lib_path'], star)
if order: errors.append(f"{len(order)} import(s) against the reading order (move the code, or renumber):\n      " + '\n      '.join(order))

# c. Export cells small enough to explain in a sentence: at most 80 lines each.
def long_cells(nbs, most=80):
    "'notebook: export cell N (first line) has L lines' for each export cell over `most` lines"
    out = []
    for nb in nbs:
        for i, c in enumerate(nb_cells(nb)):
            lines = c.splitlines()
            if re.search(r'^#\|\s*exporti?\s*$', c, re.M) and len(lines) > most:
                first = next((l for l in lines if not l.startswith('#|')), '')[:60]
                out.append(f"{nb.name}: code cell {i} ({first!r}) has {len(lines)} lines")
    return out
longs = long_cells(nbs)
if longs: errors.append(f"{len(longs)} export cell(s) over 80 lines: split them into small `@patch`ed methods, each with a "
                        "sentence of prose, as ProgressiveSchedule does:\n      " + '\n      '.join(longs))

# d. No repeated block in the package (`duplicates`, where it is installed), the generated _modidx.py left out.
import shutil, subprocess, tempfile
if shutil.which('duplicates'):
    with tempfile.TemporaryDirectory() as d:
        for f in lib.glob('*.py'):
            if f.name != '_modidx.py': shutil.copy(f, d)
        out = subprocess.run(['duplicates', '--repo', d, '--most', '20'], capture_output=True, text=True).stdout
    dups = [l for l in out.splitlines() if re.match(r'D\d', l)]
    if dups: errors.append(f"duplicates finds {len(dups)} repeated block(s) in the package: give the shared code one home:\n      "
                           + '\n      '.join(dups))

# e. (in the probe's results below) TimeBudget names no concrete callback class
def time_budget_names(f, concrete):
    "The names of `concrete` that `TimeBudget`'s class body or its `@patch`ed methods in `f` mention"
    tree, found = ast.parse(f.read_text()), set()
    for node in tree.body:
        mine = (isinstance(node, ast.ClassDef) and node.name == 'TimeBudget') or (
            isinstance(node, ast.FunctionDef) and node.args.args and
            getattr(node.args.args[0].annotation, 'id', None) == 'TimeBudget')
        if mine: found |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in concrete}
    return sorted(found)

# The benchmarks import only modules and names the package has (`checks` became `loaders`, `core` became `fit`).
def top_names(f):
    "The names a module defines or imports at its top level"
    out = set()
    for n in ast.parse(f.read_text()).body:
        if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)): out.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            out |= {t.id for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
        elif isinstance(n, (ast.Import, ast.ImportFrom)): out |= {(a.asname or a.name).split('.')[0] for a in n.names}
    return out
def stale_imports(files, pkg):
    "'file:line: ...' for each import of a module of `pkg` that does not exist, or of a name it does not define"
    out = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            mods = ([(a.name, None) for a in node.names] if isinstance(node, ast.Import) else
                    [(node.module, [a.name for a in node.names])] if isinstance(node, ast.ImportFrom) and node.module else [])
            for mod, names in mods:
                parts = mod.split('.')
                if parts[0] != pkg or len(parts) < 2: continue
                src = lib/f'{parts[1]}.py'
                if not src.exists(): out.append(f"{f.relative_to(root)}:{node.lineno} imports {mod}, which the package does not have"); continue
                bad = [n for n in names or [] if n != '*' and n not in top_names(src)]
                if bad: out.append(f"{f.relative_to(root)}:{node.lineno} imports {', '.join(bad)} from {mod}, which does not define it")
    return out
stale = stale_imports(sorted((root/'benchmarks').glob('*.py')), cfg['lib_path'])
if stale: errors.append("the benchmarks import what the package no longer has:\n      " + '\n      '.join(stale))

# The public surface, and what importing the package does to fastai
import subprocess
probe = r"""
import inspect, json, pkgutil, importlib, types, sys
import fastai.vision.all, fastai.distributed, fastai.callback.all
classes = {f"{m.__name__}.{k}": c for m in list(sys.modules.values()) if (getattr(m, '__name__', '') or '').startswith('fastai.')
           for k,c in vars(m).items() if inspect.isclass(c) and c.__module__.startswith('fastai.')}
before = {n: dict(vars(c)) for n,c in classes.items()}
ns = {}; exec('from fastai_progresize import *', ns); ns.pop('__builtins__')
import fastai_progresize
for m in pkgutil.iter_modules(fastai_progresize.__path__):
    if m.name not in ('cli',): importlib.import_module(f'fastai_progresize.{m.name}')
replaced = sorted(f"{n}.{k}" for n,c in classes.items() for k,v in vars(c).items() if k in before[n] and before[n][k] is not v)
from fastai.learner import Learner
fp = getattr(Learner, 'fit_progressive', None)
# the parameters its `def` names (fastai's, passed on through `**kwargs`, are shown by `@delegates` but not counted)
fit_params = None if fp is None else [n for n,p in inspect.signature(fp, follow_wrapped=False).parameters.items()
                                      if n != 'self' and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
if fp is not None: fit_params = [n for n in fit_params if n in fp.__code__.co_varnames[:fp.__code__.co_argcount + fp.__code__.co_kwonlyargcount]]
from fastai.callback.core import Callback
pkg_cbs = {k: c for m in list(sys.modules.values()) if (getattr(m, '__name__', '') or '').startswith('fastai_progresize.')
           for k,c in vars(m).items() if inspect.isclass(c) and issubclass(c, Callback) and c.__module__.startswith('fastai_progresize.')}
bases = {b.__name__ for c in pkg_cbs.values() for b in c.__mro__[1:]}
concrete = sorted(k for k,c in pkg_cbs.items() if k not in bases and not k.startswith('_') and k != 'TimeBudget')
tb = pkg_cbs.get('TimeBudget')
print(json.dumps(dict(names=sorted(ns), modules=sorted(k for k,v in ns.items() if isinstance(v, types.ModuleType)), replaced=replaced,
                      fit_params=fit_params, concrete_cbs=concrete, time_budget_module=tb and tb.__module__)))
"""
r = subprocess.run([sys.executable, '-W', 'ignore', '-c', probe], capture_output=True, text=True, cwd=root)
if r.returncode: errors.append(f"importing the package failed: {r.stderr[-500:]}")
else:
    pub = json.loads(r.stdout.strip().splitlines()[-1])
    if pub['modules']: errors.append(f"`from fastai_progresize import *` adds module objects: {pub['modules']}")
    if len(pub['names']) > 25: errors.append(f"`from fastai_progresize import *` adds {len(pub['names'])} names (at most 25)")
    readme = (root/'README.md').read_text()
    api = readme.split('## API', 1)[1].split('\n## ', 1)[0] if '## API' in readme else ''
    missing = [n for n in pub['names'] if f'`{n}`' not in api]
    if missing: errors.append(f"the README's API section does not list {missing}")
    if pub['replaced']: errors.append(f"importing the package replaces fastai attributes: {pub['replaced']}")
    if pub['fit_params'] is None: errors.append("importing the package adds no Learner.fit_progressive")
    elif len(pub['fit_params']) > 13:
        errors.append(f"Learner.fit_progressive has {len(pub['fit_params'])} named parameters (at most 13): {pub['fit_params']}; "
                      "pass fastai's own arguments on through `@delegates` and `**kwargs`")
    if pub['time_budget_module']:
        named = time_budget_names(root/Path(*pub['time_budget_module'].split('.')).with_suffix('.py'), pub['concrete_cbs'])
        if named: errors.append(f"TimeBudget's source names the concrete callback classes {named}: drive any ramped callback "
                                "through the ramp module's public seam instead")
    else: errors.append("no TimeBudget callback found in the package")

if errors:
    print('Checks failed:\n' + '\n'.join('  - ' + e for e in errors)); sys.exit(1)
print('Checks passed: metadata agrees; every public symbol has a docstring and a show_doc entry; modules small, no import circle, '
      'no private import across modules; a small star import, listed in the README; nothing of fastai replaced on import; '
      "pyflakes clean; notebooks import only earlier notebooks' modules; export cells of at most 80 lines; no repeated block "
      'in the package; fit_progressive small; TimeBudget names no concrete callback')
