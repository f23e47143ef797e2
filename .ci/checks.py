#!/usr/bin/env python3
"""Consistency checks that CI runs besides the tests:
- settings.ini, pyproject.toml, setup.py and fastai_progresize/__init__.py agree on name, version and Python;
- every public function, class and method the package exports has a docstring and is shown with `show_doc`
  in the notebook that defines it (so it has an entry on the docs site);
- the shape of the package: no module over 320 lines, no import circle between its modules, nothing private
  patched onto a fastai class (no `Learner._...` in `_modidx.py`)."""
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
for f in sorted(lib.glob('*.py')):
    tree = ast.parse(f.read_text())
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and any(getattr(d, 'id', None) == 'patch' for d in node.decorator_list)): continue
        cls = getattr(node.args.args[0].annotation, 'id', '') if node.args.args else ''
        if node.name.startswith('_') and not node.name.endswith('__') and cls not in own:
            errors.append(f"{f.stem}: {node.name} is a private method patched onto {cls}: make it a function of the module")
        if not node.name.startswith('_') and not cls.startswith('_'):
            if not ast.get_docstring(node): errors.append(f"{f.stem}: patched method {node.name} has no docstring")
            if not any(s.endswith('.' + node.name) for s in shown): errors.append(f"{f.stem}: patched method {node.name} has no show_doc cell")

# The shape of the package
imports = {}
for f in sorted(lib.glob('*.py')):
    if f.name.startswith('_'): continue
    n = len(f.read_text().splitlines())
    if n > 320: errors.append(f"{f.name} has {n} lines: split it along the path of the data (at most about 300)")
    imports[f.stem] = set(re.findall(r'^from \.(\w+) import', f.read_text(), re.M))
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

if errors:
    print('Checks failed:\n' + '\n'.join('  - ' + e for e in errors)); sys.exit(1)
print('Checks passed: metadata agrees; every public symbol has a docstring and a show_doc entry; modules small, no import circle')
