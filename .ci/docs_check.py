#!/usr/bin/env python3
"""What Quarto will get, checked without Quarto (it cannot be installed on the project's machines; the site is built
on GitHub by `.github/workflows/deploy.yaml`). Run after `nbdev-proc-nbs`:
- every notebook in nbs/ is in the sidebar, and every sidebar entry is a notebook;
- every `show_doc` cell of the processed notebooks (`_proc/`) rendered, with no error;
- every link between pages (`x.ipynb`, `x.ipynb#anchor`) and every image in a markdown cell or in README.md points at
  a file that exists, and images stay inside nbs/ (Quarto publishes nothing outside it)."""
import json, re, sys
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
if errors:
    print('Docs check failed:\n' + '\n'.join('  - ' + e for e in errors)); sys.exit(1)
print(f"Docs check passed: {len(pages)} pages, all in the sidebar; {n_docs} show_doc cells rendered; links and images resolve")
