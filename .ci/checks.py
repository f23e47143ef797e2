#!/usr/bin/env python3
"""Consistency checks that CI runs besides the tests:
- settings.ini, pyproject.toml, setup.py and fastai_progresize/__init__.py agree on name, version and Python;
- every public function, class and method the package exports has a docstring and is shown with `show_doc`
  in the notebook that defines it (so it has an entry on the docs site);
- the shape of the package: no module over 400 lines (split by job, never by size), no import circle between its
  modules, no private name imported from another module of the package (or by the benchmarks), nothing private
  patched onto a fastai class (no `Learner._...` in `_modidx.py`);
- the public surface: `from fastai_progresize import *` adds no module object and at most 25 names, each listed in
  the README's API section; importing any module of the package replaces no attribute of a fastai class."""
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
print(json.dumps(dict(names=sorted(ns), modules=sorted(k for k,v in ns.items() if isinstance(v, types.ModuleType)), replaced=replaced)))
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

if errors:
    print('Checks failed:\n' + '\n'.join('  - ' + e for e in errors)); sys.exit(1)
print('Checks passed: metadata agrees; every public symbol has a docstring and a show_doc entry; modules small, no import circle, '
      'no private import across modules; a small star import, listed in the README; nothing of fastai replaced on import')
