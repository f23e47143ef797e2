#!/usr/bin/env python3
"""What Quarto will get, checked without Quarto (it cannot be installed on the project's machines; the site is built
on GitHub by `.github/workflows/deploy.yaml`). Run after `nbdev-proc-nbs`:
- every notebook in nbs/ is in the sidebar, and every sidebar entry is a notebook;
- every `show_doc` cell of the processed notebooks (`_proc/`) rendered, with no error;
- every link between pages (`x.ipynb`, `x.ipynb#anchor`) and every image in a markdown cell or in README.md points at
  a file that exists, and images stay inside nbs/ (Quarto publishes nothing outside it);
- every example cell keeps its saved output, and no cell keeps an error (see `example_reason` for what counts as an
  example);
- the stored outputs of nbs/index.ipynb (the README's) are what its cells print now: the notebook is re-executed and
  stdout / text outputs compared, timings ignored (`--run NB.ipynb` adds more notebooks; `--no-run` skips this).
Usage: python .ci/docs_check.py [--no-run] [--run nbs/x.ipynb ...]"""
import ast, json, math, os, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nbs, proc = root/'nbs', root/'_proc'
errors = []
pages = sorted(p.name for p in nbs.glob('*.ipynb') if not p.name.startswith('_'))
sidebar = re.findall(r'^\s*-\s+([\w.-]+\.ipynb)\s*$', (nbs/'sidebar.yml').read_text(), re.M)
errors += [f"{p} is not in nbs/sidebar.yml" for p in pages if p not in sidebar]
errors += [f"nbs/sidebar.yml lists {p}, which does not exist" for p in sidebar if p not in pages]

def links(text):
    "Targets of markdown links and images in `text`, with a flag for images"
    return [(m[0] == '!', m[1]) for m in re.findall(r'(!?)\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)', text)]

def check_target(src, is_img, target, base):
    if re.match(r'^(https?|mailto):', target) or target.startswith('#'): return
    path = (base/target.split('#')[0]).resolve()
    if not path.exists(): errors.append(f"{src}: {'image' if is_img else 'link'} {target} points at nothing")
    elif is_img and base == nbs and nbs.resolve() not in path.parents: errors.append(f"{src}: image {target} lies outside nbs/, which Quarto does not publish")

for p in pages:
    for c in json.loads((nbs/p).read_text())['cells']:
        if c['cell_type'] != 'markdown': continue
        for is_img, t in links(''.join(c['source'])): check_target(p, is_img, t, nbs)
for is_img, t in links((root/'README.md').read_text()): check_target('README.md', is_img, t, root)

n_docs = 0
if not proc.exists(): errors.append("_proc/ is missing: run nbdev-proc-nbs first")
for p in sorted(proc.glob('*.ipynb')) if proc.exists() else []:
    for c in json.loads(p.read_text())['cells']:
        src = ''.join(c.get('source', ''))
        if c['cell_type'] != 'code' or 'show_doc(' not in src: continue
        n_docs += 1
        outs = c.get('outputs', [])
        if any(o.get('output_type') == 'error' for o in outs) or not outs:
            errors.append(f"{p.name}: `{src.strip()[:60]}` did not render")

# --- Examples keep their outputs ---------------------------------------------------------------------------------
# A code cell is an example when a reader sees it (no `#| hide`, not `#| eval: false`, not exported) and it shows
# something: its last statement is an expression that is not a test and not silenced by `;`, or it prints, displays,
# plots or trains (a fit outside `no_logging()`); a last line that calls what returns None (`QUIET`) or ends
# with `;` shows nothing. Cells that only import, define (`def`, `class`, `#| export`),
# call `show_doc` (rendered by nbdev-proc-nbs), assign, or test (`test_*` calls, `assert`) are not examples.
SKIP_DIRECTIVES = ('hide', 'export', 'exporti', 'exports', 'default_exp', 'eval: false', 'eval:false', 'include: false')
SHOW_NAMES = {'print', 'display', 'show_image', 'show_images', 'show_titled_image', 'Markdown', 'HTML'}
SHOW_ATTRS = {'plot', 'plot_lr', 'plot_loss', 'plot_metrics', 'show', 'show_batch', 'show_results', 'imshow',
              'subplots', 'figure', 'hist', 'bar', 'scatter', 'plot_top_losses', 'show_image'}
QUIET = {'close', 'set_num_threads', 'filterwarnings', 'simplefilter', 'set_seed', 'manual_seed', 'seed', 'chmod',
         'rmtree', 'mkdir', 'unlink', 'remove', 'sleep', 'set_option', 'use'}  # calls that return None: nothing to show
FIT_ATTRS = {'fit_progressive', 'fit_budget', 'fit_one_cycle', 'fine_tune', 'fit_flat_cos', 'fit_sgdr'}

def directives(src): return [l[2:].strip() for l in src.splitlines() if l.startswith('#|')]

def _call_name(call):
    f = call.func
    return (f.id, None) if isinstance(f, ast.Name) else (None, f.attr) if isinstance(f, ast.Attribute) else (None, None)

def _is_test(stmt):
    if isinstance(stmt, ast.Assert): return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        name, _ = _call_name(stmt.value)
        return bool(name) and name.startswith('test_')
    return False

def _no_logging(w):
    return any(isinstance(i.context_expr, ast.Call) and _call_name(i.context_expr)[1] in ('no_logging', 'redirect_stdout')
               for i in w.items)

def _shows(node, closed=False):
    "The first call under `node` that prints, displays, plots (unless `closed`) or trains, outside function bodies and `no_logging()`"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)): return None
    if isinstance(node, ast.With) and _no_logging(node): return None
    if isinstance(node, ast.Call):
        name, attr = _call_name(node)
        recv = node.func.value if attr else None
        if name in SHOW_NAMES or (attr in SHOW_ATTRS and not closed) or attr in FIT_ATTRS: return name or attr
        if attr == 'fit' and isinstance(recv, ast.Name) and 'learn' in recv.id: return 'fit'
    for child in ast.iter_child_nodes(node):
        r = _shows(child, closed)
        if r: return r
    return None

def example_reason(src):
    "Why the code cell `src` is an example that must keep its output, or None when it is not one"
    if any(d.startswith(SKIP_DIRECTIVES) for d in directives(src)): return None
    lines = [l for l in src.splitlines() if not l.startswith('#|')]
    code = '\n'.join('pass' if l.lstrip().startswith(('%', '!')) else l for l in lines)
    try: tree = ast.parse(code)
    except SyntaxError: return 'a cell that does not parse'
    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                                         and _call_name(s.value)[0] == 'show_doc')]
    if not body or all(_is_test(s) for s in body): return None
    last = body[-1]
    quiet = isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and any(n in QUIET for n in _call_name(last.value))
    if isinstance(last, ast.Expr) and not _is_test(last) and not quiet and not isinstance(last.value, ast.Constant):
        tail = code.splitlines()[last.end_lineno - 1][last.end_col_offset:]
        if not tail.lstrip().startswith(';'): return 'its last line is an expression'
    closed = any(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and _call_name(s.value)[1] == 'close'
                 and isinstance(s.value.func.value, ast.Name) and s.value.func.value.id == 'plt' for s in body)
    for s in body:
        if _is_test(s): continue
        r = _shows(s, closed)  # figures closed in the cell are not shown
        if r: return f'it calls `{r}`'
    return None

def snippet(src):
    code = [l for l in src.splitlines() if l.strip() and not l.startswith('#|')]
    return (code[0][:60] + (' ...' if len(code) > 1 or len(code[0]) > 60 else '')) if code else ''

n_examples = 0
for p in pages:
    for i, c in enumerate(json.loads((nbs/p).read_text())['cells']):
        if c['cell_type'] != 'code': continue
        src, outs = ''.join(c['source']), c.get('outputs', [])
        if any(o.get('output_type') == 'error' for o in outs):
            errors.append(f"{p} cell {i} `{snippet(src)}`: keeps an error as its output")
        why = example_reason(src)
        if not why: continue
        n_examples += 1
        if not outs: errors.append(f"{p} cell {i} `{snippet(src)}`: an example ({why}) with no saved output; "
                                   f"run `python tools/run_nb.py nbs/{p}` and nbdev-clean (or, if it shows nothing, "
                                   f"`#| hide` it or end its last line with `;`)")

# --- Stored outputs are what the cells print now (index.ipynb: the README) -------------------------------------------
TIME_COLS = {'time', 'switch_time', 'train_time'}
NUM = re.compile(r'[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?')

def _untime(text):
    "`text` with timings replaced by `<t>`: mm:ss durations, and the values of table columns named like a time"
    text = re.sub(r'\b\d+:\d\d(?::\d\d)?\b', '<t>', text)
    out, header = [], None
    for line in text.splitlines():
        if re.match(r'^\s*\d+%|.*[\u2588\r]', line): continue  # progress bars
        toks = line.split()
        if toks and not NUM.fullmatch(toks[0]) and not line.startswith('[') and any(t in TIME_COLS for t in toks):
            header = toks
        elif header and toks and NUM.fullmatch(toks[0]) and len(toks) == len(header) + 1:
            toks = [toks[0]] + ['<t>' if h in TIME_COLS else t for h, t in zip(header, toks[1:])]
            line = ' '.join(toks)
        elif not toks: header = None
        out.append(' '.join(line.split()))
    return '\n'.join(out).strip()

def _texts(outs):
    "What a cell showed: its stdout and text results (timings out), and how many images"
    res = []
    for o in outs:
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stdout': res.append(''.join(o['text']))
        elif o.get('output_type') in ('execute_result', 'display_data'):
            d = o.get('data', {})
            if 'image/png' in d or 'image/svg+xml' in d: res.append('<image>')
            elif 'text/plain' in d: res.append(''.join(d['text/plain']))
    return _untime('\n'.join(res))

def _same(a, b):
    "Equal texts, numbers equal to the last digit printed (or 1e-3 relative), so that other hardware passes"
    if NUM.sub('#', a) != NUM.sub('#', b): return False
    for x, y in zip(NUM.findall(a), NUM.findall(b)):
        fx, fy = float(x), float(y)
        ulp = 10 ** -len(x.split('.')[1]) if '.' in x and 'e' not in x.lower() else 0
        if not math.isclose(fx, fy, rel_tol=1e-3, abs_tol=ulp + 1e-12): return False
    return True

def _first_diff(a, b):
    for x, y in zip(a.splitlines() + [''], b.splitlines() + ['']):
        if not _same(x, y): return f"stored {x[:90]!r}, now {y[:90]!r}"
    return 'the outputs differ'

def check_stale(p):
    "Re-execute notebook `p` (slow cells included) and compare each cell's stored output with what it prints now"
    from execnb.shell import CaptureShell, read_nb
    nb, cwd = read_nb(p), os.getcwd()
    os.chdir(p.parent)
    try:
        sh = CaptureShell(path=p.parent, mpl_format='png')
        sh.run("import warnings; warnings.filterwarnings('ignore')")
        for i, c in enumerate(nb.cells):
            if c.cell_type != 'code' or any(d.startswith(('eval: false', 'eval:false')) for d in directives(c.source)): continue
            stored = _texts(json.loads(json.dumps(c.get('outputs', []))))
            sh.cell(c)
            if sh.exc: return errors.append(f"{p.name} cell {i} `{snippet(c.source)}`: raises {sh.exc!r} when re-executed")
            now = _texts(json.loads(json.dumps(c.get('outputs', []))))
            if not _same(stored, now):
                errors.append(f"{p.name} cell {i} `{snippet(c.source)}`: stored output is stale ({_first_diff(stored, now)}); "
                              f"re-execute it (python tools/run_nb.py nbs/{p.name}, nbdev-clean"
                              + (", python .ci/make_readme.py)" if p.name == 'index.ipynb' else ')'))
    finally: os.chdir(cwd)

def _self_test():
    "The rules above on cells whose answer is known, so that a change to them cannot pass unnoticed"
    cases = {'x = 1': None, 'x': 'its last line', '#| hide\nx': None, '#| export\ndef f(): return 1': None,
             'from a import *\nimport b': None, 'show_doc(f)': None, 'test_eq(a, b)\nassert c': None,
             'test_fail(lambda: learn.fit(1))': None, 'sched.plot();': 'it calls `plot`', 'f(x);': None,
             "fig = r.plot()\ntest_eq(1, 1)\nplt.close('all')": None, "warnings.simplefilter('ignore')": None,
             'with learn.no_bar(), learn.no_logging(): learn.fit(1)': None, 'def f(): print(1)': None,
             'with learn.no_bar(): h = learn.fit_progressive([8], 1, 1e-3)': 'it calls `fit_progressive`',
             'try: f()\nexcept ValueError as e: print(e)': 'it calls `print`', '#| eval: false\nx': None,
             'a = 1\ntest_eq(a, 1)\nb = a + 1\nb, a': 'its last line'}
    for src, want in cases.items():
        got = example_reason(src)
        assert (got is None) if want is None else (got or '').startswith(want), f"docs_check: {src!r} gave {got!r}"
    old = ('   stage  size frozen   time\n0      1    32      1  1.284\n'
           "[0, 1.2114431858062744, 0.3333333432674408, '00:01']")
    assert _same(_untime(old), _untime(old.replace('1.284', '9.5').replace('00:01', '01:13').replace('0.3333333432674408', '0.33333334')))
    assert not _same(_untime(old), _untime(old.replace('     1  1.284', '     0  1.284')))
    assert not _same(_untime(old), _untime(old.replace('0.3333333432674408', '0.4166666567325592')))
    assert not _same(_untime('phase frozen'), _untime('phase unfrozen'))
_self_test()

args = sys.argv[1:]
to_run = [] if '--no-run' in args else ['index.ipynb'] + [Path(b).name for a, b in zip([''] + args, args) if a == '--run']
to_run = [nbs/n for n in dict.fromkeys(to_run)]
for p in to_run: check_stale(p)

if errors:
    print('Docs check failed:\n' + '\n'.join('  - ' + e for e in errors)); sys.exit(1)
print(f"Docs check passed: {len(pages)} pages, all in the sidebar; {n_docs} show_doc cells rendered; links and images resolve; "
      f"{n_examples} example cells keep their outputs; stored outputs current in {', '.join(p.name for p in to_run) or 'no notebook (--no-run)'}")
