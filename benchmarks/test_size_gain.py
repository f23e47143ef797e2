"""How much testing larger than the training size gains on Imagenette, plain and with BatchNorm or FixRes calibration.

xresnet18 from scratch on `--n-train` Imagenette training images (a seeded 10% of them held out from training, to
choose the test size on), trained with RandomResizedCrop(min_scale=0.35) at `--size` px, then for each calibration
(none, 'bn', 'fixres') `Learner.choose_test_size` sweeps `--sizes` and records accuracy on the held-out items and on
the whole validation set (500 images). CPU, one torch thread, one process.

    python benchmarks/test_size_gain.py            # ~20 min on 2 shared cores
    python benchmarks/test_size_gain.py --smoke    # seconds: checks the script runs (numbers mean nothing)

Writes benchmarks/results/test_size_gain.json and .md (the notebook nbs/20_test_size.ipynb shows the .md).
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path: sys.path.insert(0, str(REPO))
DATA = REPO.parent/'shared'/'data'/'imagenette-160'
if not DATA.exists(): DATA = Path('/work/shared/data/imagenette-160')

def build(seed, a):
    import numpy as np, torch
    from functools import partial
    from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, RandomResizedCrop, FlipItem, Normalize,
                                   imagenet_stats, get_image_files, parent_label, Learner, xresnet18, accuracy,
                                   OptimWrapper, CrossEntropyLossFlat, set_seed)
    train = sorted(get_image_files(DATA/'train')); valid = sorted(get_image_files(DATA/'val'))
    rng = np.random.default_rng(seed)
    train = [train[i] for i in rng.permutation(len(train))[:a.n_train]]
    n_hold = int(round(0.1 * len(train)))
    hold, fit_items = train[:n_hold], train[n_hold:]
    if a.n_valid: valid = [valid[i] for i in rng.permutation(len(valid))[:a.n_valid]]
    items = fit_items + valid
    splits = (list(range(len(fit_items))), list(range(len(fit_items), len(items))))
    def get_dls(bs=64, size=64):
        return DataBlock((ImageBlock, CategoryBlock), splitter=lambda _: splits, get_y=parent_label,
                         item_tfms=[RandomResizedCrop(size, min_scale=0.35), FlipItem(0.5)],
                         batch_tfms=Normalize.from_stats(*imagenet_stats)).dataloaders(items, bs=bs, num_workers=0)
    set_seed(seed, reproducible=True)
    learn = Learner(get_dls(a.bs, a.size), xresnet18(n_out=10), loss_func=CrossEntropyLossFlat(), metrics=accuracy,
                    opt_func=partial(OptimWrapper, opt=partial(torch.optim.AdamW, fused=True)))
    return learn, hold

def run_seed(seed, a):
    import fastai_progresize.calibrate  # noqa: F401 (adds Learner.choose_test_size)
    t0 = time.process_time()
    learn, hold = build(seed, a)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, a.lr)
    out = dict(seed=seed, train_cpu_s=round(time.process_time() - t0, 1), n_holdout=len(hold), runs={})
    base = {k: v.detach().clone() for k,v in learn.model.state_dict().items()}
    for cal in (None, 'bn', 'fixres'):
        learn.model.load_state_dict(base)
        t = time.process_time()
        r = learn.choose_test_size(a.size, sizes=a.sizes, calibrate=cal, holdout=hold, apply=False,
                                   n_batches=a.n_batches, epochs=1, lr=a.fixres_lr)
        d = r.as_dict(); d['cpu_s'] = round(time.process_time() - t, 1)
        out['runs'][str(cal)] = d
        print(f"seed {seed} calibrate={cal}: chose {r.best_size} on held-out, valid acc {r.before['accuracy']:.4f} -> "
              f"{r.after['accuracy']:.4f}; per size valid {[round(x, 4) for x in r.valid.df['accuracy']]} ({d['cpu_s']} s)", flush=True)
    return out

def summarise(res, a):
    med = lambda xs: statistics.median(xs)
    rows = []
    for cal in ('None', 'bn', 'fixres'):
        per = [s['runs'][cal] for s in res['seeds']]
        base = [p['before']['accuracy'] for p in per]
        for i, sz in enumerate(a.sizes):
            v = [p['valid'][i]['accuracy'] for p in per]; h = [p['selection'][i]['accuracy'] for p in per]
            rows.append((cal, f'{sz}', v, h, [x - b for x, b in zip(v, base)]))
        chosen = [p['after']['accuracy'] for p in per]
        rows.append((cal, 'chosen on held-out ' + '/'.join(str(p['best_size'][0]) for p in per), chosen, None,
                     [x - b for x, b in zip(chosen, base)]))
    f = lambda xs: f"{med(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"
    g = lambda xs: f"{med(xs)*100:+.1f} ({min(xs)*100:+.1f} to {max(xs)*100:+.1f})"
    lines = [f"Trained at {a.size} px ({a.epochs} epochs, {a.n_train} images of which 10% held out, seeds {a.seeds}); "
             f"median (min-max) over {len(res['seeds'])} seeds. Gain: points of validation accuracy against testing "
             f"at {a.size} px with no calibration.", "",
             "| calibration | test size | validation accuracy | held-out accuracy | gain (points) |", "|---|---|---|---|---|"]
    for cal, sz, v, h, gain in rows:
        lines.append(f"| {'none' if cal == 'None' else cal} | {sz} | {f(v)} | {'' if h is None else f(h)} | {g(gain)} |")
    cpu = {cal: med([s['runs'][cal]['cpu_s'] for s in res['seeds']]) for cal in ('None', 'bn', 'fixres')}
    lines += ["", f"CPU time per seed (median): training {med([s['train_cpu_s'] for s in res['seeds']]):.0f} s; "
              f"sweep {cpu['None']:.0f} s, with BN recalibration {cpu['bn']:.0f} s, with FixRes fine-tuning {cpu['fixres']:.0f} s.",
              f"Command: `{res['command']}` ({res['machine']})."]
    return '\n'.join(lines)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--n-train', type=int, default=2000)
    p.add_argument('--n-valid', type=int, default=0, help='0: the whole validation set')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--sizes', type=int, nargs='+', default=[64, 72, 80, 96])
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--fixres-lr', type=float, default=1e-3)
    p.add_argument('--n-batches', type=int, default=20)
    p.add_argument('--smoke', action='store_true')
    p.add_argument('--out', default=str(HERE/'results'/'test_size_gain'))
    a = p.parse_args()
    if a.smoke: a.seeds, a.n_train, a.n_valid, a.epochs, a.sizes, a.size, a.n_batches, a.out = [0], 100, 40, 1, [32, 40], 32, 2, '/tmp/test_size_gain_smoke'
    import torch; torch.set_num_threads(1)
    res = dict(command='python benchmarks/test_size_gain.py' + (' --smoke' if a.smoke else ''), args=vars(a),
               machine=f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread", seeds=[])
    for s in a.seeds:
        res['seeds'].append(run_seed(s, a))
        Path(a.out + '.json').write_text(json.dumps(res, indent=1))
        md = summarise(res, a)
        Path(a.out + '.md').write_text(md + '\n')
    print(md)

if __name__ == '__main__': main()
