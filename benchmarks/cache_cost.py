"""Where does a small epoch's time go? `folder_get_dls` (decode + per-item pipeline) against `cached_get_dls`
(decode once, crop and flip whole batches), on a 1000-image subset of imagenette-160, one torch thread, CPU.

Writes benchmarks/results/cache_cost.{json,md}. About 5-8 minutes on one free core:
    OMP_NUM_THREADS=1 python benchmarks/cache_cost.py [--data PATH] [--n-train 100] [--epochs 3] [--seeds 0 1]
More accuracy runs, added to the results file (about 100 CPU s per seed), and the cache built at another size:
    OMP_NUM_THREADS=1 python benchmarks/cache_cost.py --more-seeds --seeds 2 3
    OMP_NUM_THREADS=1 python benchmarks/cache_cost.py --more-seeds --max-size 160 --seeds 0 1 2 3
"""
from __future__ import annotations
import argparse, json, os, platform, tempfile, time, warnings
from functools import partial
from pathlib import Path
import torch
from fastai.vision.all import Learner, accuracy, xresnet18, OptimWrapper, set_seed, noop, ProgressCallback
from fastai_progresize.data import folder_get_dls
from fastai_progresize.cache import cached_get_dls
from fastai_progresize.cost import measure_cost

HERE = Path(__file__).parent
SIZES = [32, 64, 96, 128]
SEEDS = [0, 1]

def subset(src:Path, dst:Path, n_train:int, n_valid:int|None)->Path:
    "An ImageNet-style folder of symlinks: the first `n_train` training (and `n_valid` validation) images per class"
    for split,n in (('train', n_train), ('val', n_valid)):
        for cls in sorted(p for p in (src/split).iterdir() if p.is_dir()):
            (dst/split/cls.name).mkdir(parents=True, exist_ok=True)
            for f in sorted(cls.iterdir())[:n]: (dst/split/cls.name/f.name).symlink_to(f.resolve())
    return dst

def opt_func(params, **kw): return OptimWrapper(params, partial(torch.optim.AdamW, fused=True), **kw)

def learner(dls, seed):
    set_seed(seed, reproducible=True)
    learn = Learner(dls, xresnet18(n_out=len(dls.vocab)), metrics=accuracy, opt_func=opt_func)
    learn.logger = noop
    learn.remove_cb(ProgressCallback)
    return learn

def loader_rate(get_dls, size, bs):
    "Training images per CPU second over one epoch of the loader alone (no model)"
    dl = get_dls(bs=bs, size=size).train
    t0, n = time.process_time(), 0
    for xb,yb in dl: n += len(xb)
    return n / (time.process_time() - t0)

def _int_keys(d): return {(int(k) if str(k).isdigit() else k): v for k,v in d.items()}

def load_results(fn:Path)->dict:
    "A results file written by this script, with its sizes as int keys again"
    res = json.loads(fn.read_text())
    for part in ('loader_img_per_s', 'cost'): res[part] = {k: _int_keys(v) for k,v in res[part].items()}
    return res

def accuracy_runs(res, loaders, a):
    "Train each loader for `a.epochs` at `a.acc_size` with each seed; rows added to `res['accuracy']` (replacing a seed run before)"
    acc = res.setdefault('accuracy', {})
    for k,g in loaders.items():
        rows = {r['seed']: r for r in acc.get(k, [])}
        for seed in a.seeds:
            learn = learner(g(bs=a.bs, size=a.acc_size), seed)
            t0 = time.process_time()
            learn.fit_one_cycle(a.epochs, a.lr)
            rows[seed] = dict(seed=seed, accuracy=float(learn.recorder.values[-1][2]), cpu_s=time.process_time() - t0)
            print(k, rows[seed], flush=True)
        acc[k] = [rows[s] for s in sorted(rows)]

def main(a):
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    out = HERE/'results'
    if a.report: return write(load_results(out/'cache_cost.json'), a, out)
    tmp = Path(tempfile.mkdtemp())
    path = subset(Path(a.data), tmp/'data', a.n_train, a.n_valid)
    folder = folder_get_dls(path, num_workers=0, device='cpu')
    t0 = time.process_time()
    cached = cached_get_dls(path, max(SIZES), device='cpu')
    build_s = time.process_time() - t0
    out = HERE/'results'
    if a.more_seeds:  # only more accuracy runs, added to the results file
        res = load_results(out/'cache_cost.json')
        loaders = dict(folder=folder, cached=cached)
        if a.max_size: loaders = {f'cached, max_size {a.max_size}': cached_get_dls(path, a.max_size, device='cpu')}
        accuracy_runs(res, loaders, a)
        return write(res, a, out)
    res = dict(data=str(a.data), n_train=folder.n_train, n_valid=folder.n_valid, bs=a.bs, sizes=SIZES,
               torch_threads=torch.get_num_threads(), machine=platform.processor() or platform.machine(),
               cache=dict(build_cpu_s=build_s, mb=cached.cache.mb, size=cached.cache.size, images=len(cached.cache.items)))
    loaders = dict(folder=folder, cached=cached)
    res['loader_img_per_s'] = {k: {s: loader_rate(g, s, a.bs) for s in SIZES} for k,g in loaders.items()}
    print('loader alone (img/s):', res['loader_img_per_s'], flush=True)
    res['cost'] = {}
    for k,g in loaders.items():
        learn = learner(g(bs=a.bs, size=SIZES[0]), 0)
        cm = measure_cost(learn, g, SIZES, n_batches=a.n_batches, clock='cpu')
        res['cost'][k] = {s: cm.epoch_seconds(s) for s in SIZES} | dict(table=cm.df.to_dict(orient='list'))
        print(k, {s: round(res['cost'][k][s], 1) for s in SIZES}, flush=True)
    accuracy_runs(res, loaders, a)
    write(res, a, out)

def write_whole(fn, text):
    "Write `text` to `fn` through a temporary file beside it: a killed run never leaves `fn` half-written"
    tmp = fn.with_name(f'.{fn.name}.tmp-{os.getpid()}')
    tmp.write_text(text); os.replace(tmp, fn)

def write(res, a, out):
    out.mkdir(exist_ok=True)
    write_whole(out/'cache_cost.json', json.dumps(res, indent=1))
    write_whole(out/'cache_cost.md', report(res, a))
    print(report(res, a))

def report(res, a)->str:
    c, lr = res['cost'], res['loader_img_per_s']
    s0, s1 = SIZES[0], SIZES[-1]
    lines = [f"# Decoded-image cache against `folder_get_dls`",
             "",
             f"{res['n_train']} training / {res['n_valid']} validation images of `{Path(res['data']).name}`, xresnet18, bs {res['bs']}, "
             f"fused AdamW, {res['torch_threads']} torch thread, CPU seconds (`measure_cost(..., clock='cpu')`, "
             f"{a.n_batches} timed steps per size). Command: `OMP_NUM_THREADS=1 python benchmarks/cache_cost.py`"
             + (f", then `--more-seeds --seeds ...` (and `--max-size`) for further accuracy runs." if len(res['accuracy'].get('folder', [])) > len(SEEDS) else "."),
             "",
             f"Cache: {res['cache']['images']} images decoded once at {res['cache']['size']} px in "
             f"{res['cache']['build_cpu_s']:.1f} CPU s, {res['cache']['mb']:.1f} MB.",
             "",
             "| size | loader alone, folder (img/s) | loader alone, cache (img/s) | epoch, folder (s) | epoch, cache (s) | cache / folder |",
             "|---|---|---|---|---|---|"]
    for s in SIZES:
        lines.append(f"| {s} | {lr['folder'][s]:.0f} | {lr['cached'][s]:.0f} | {c['folder'][s]:.1f} | {c['cached'][s]:.1f} | "
                     f"{c['cached'][s] / c['folder'][s]:.2f} |")
    lines += ["", f"An epoch at {s0} px costs {c['folder'][s0] / c['folder'][s1]:.2f} of one at {s1} px with `folder_get_dls` "
              f"and {c['cached'][s0] / c['cached'][s1]:.2f} with the cache (pixel ratio {(s0 / s1) ** 2:.3f}).", "",
              f"Accuracy after {a.epochs} epochs (`fit_one_cycle`, lr {a.lr}) at {a.acc_size} px:", "",
              "| loader | seed | accuracy | CPU s |", "|---|---|---|---|"]
    for k,rows in res['accuracy'].items():
        for r in rows: lines.append(f"| {k} | {r['seed']} | {r['accuracy']:.3f} | {r['cpu_s']:.0f} |")
    lines += ["", "| loader | seeds | mean accuracy | min | max |", "|---|---|---|---|---|"]
    for k,rows in res['accuracy'].items():
        v = [r['accuracy'] for r in rows]
        lines.append(f"| {k} | {len(v)} | {sum(v) / len(v):.3f} | {min(v):.3f} | {max(v):.3f} |")
    return '\n'.join(lines) + '\n'

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=str(HERE.parent.parent/'shared'/'data'/'imagenette-160'))
    p.add_argument('--n-train', type=int, default=100, help='training images per class')
    p.add_argument('--n-valid', type=int, default=None, help='validation images per class (None: all)')
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--n-batches', type=int, default=5)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--acc-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--seeds', type=int, nargs='+', default=SEEDS)
    p.add_argument('--more-seeds', action='store_true', help='only run the accuracy runs of --seeds, added to the results file')
    p.add_argument('--max-size', type=int, default=None, help='with --more-seeds: only the cache, built at this size')
    p.add_argument('--report', action='store_true', help='only write the summary again from the results file')
    main(p.parse_args())
