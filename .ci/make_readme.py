#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb, offline (nbdev's `nbdev-readme` needs Quarto).

Markdown cells are copied; code cells become ```python blocks followed by their text outputs; cells flagged
`#| hide` are left out and `#|` directive lines are dropped; relative image links are made relative to the repo
root. `--check` exits 1, naming the first differing line, when README.md is not what index.ipynb gives."""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb_path, readme = root/'nbs'/'index.ipynb', root/'README.md'
HEADER = '<!-- Generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, not this file. -->\n\n'

def _src(cell): return ''.join(cell['source'])

def _directives(src): return [l[3:].strip() for l in src.splitlines() if l.startswith('#|')]

def _fix_links(md):
    "Image and file links relative to nbs/ become relative to the repo root"
    return re.sub(r'(!?\[[^\]]*\]\()(?!https?://|#|/)([^)]+)\)', lambda m: f"{m[1]}nbs/{m[2]})", md)

def _outputs(cell):
    res = []
    for o in cell.get('outputs', []):
        if o.get('name') == 'stderr': continue  # warnings belong to the docs page, not the README
        txt = o.get('text') if o['output_type'] == 'stream' else o.get('data', {}).get('text/plain')
        if txt: res.append('```\n' + ''.join(txt).rstrip('\n') + '\n```')
    return res

def render(nb):
    parts = []
    for cell in nb['cells']:
        src = _src(cell)
        if cell['cell_type'] == 'markdown':
            parts.append(_fix_links(src.strip()))
            continue
        if cell['cell_type'] != 'code': continue
        d = _directives(src)
        if any(x.startswith(('hide', 'default_exp', 'export')) for x in d): continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code and 'hide_input' not in d: parts.append('```python\n' + code + '\n```')
        if 'hide_output' not in d: parts.extend(_outputs(cell))
    md = '\n\n'.join(p for p in parts if p) + '\n'
    # nbdev's title convention: `# Title` then `> subtitle` becomes the README's lead paragraph
    return HEADER + md

def main():
    want = render(json.loads(nb_path.read_text(encoding='utf-8')))
    if '--check' in sys.argv:
        have = readme.read_text(encoding='utf-8') if readme.exists() else ''
        if have == want: return print('README.md is in step with nbs/index.ipynb')
        for i,(a, b) in enumerate(zip(have.splitlines() + [''], want.splitlines() + ['']), 1):
            if a != b: break
        sys.exit(f'README.md differs from nbs/index.ipynb at line {i}:\n  README.md: {a!r}\n  index.ipynb gives: {b!r}\n'
                 f'Run `python .ci/make_readme.py` and commit README.md.')
    readme.write_text(want, encoding='utf-8')
    print(f'wrote {readme.relative_to(root)}')

if __name__ == '__main__': main()
