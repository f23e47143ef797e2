#!/usr/bin/env python
"""Where progressive resizing can save time: the measured cost of an epoch at half the final size, over one at the final
size, for final sizes from 24 to 160 px (see benchmarks/README.md).

    OMP_NUM_THREADS=1 python benchmarks/cost_ratio.py     # a few CPU minutes; writes results/cost_ratio.{json,png}

`measure_cost` times a few training steps and validation batches of the `cpu` preset's learner (xresnet18 from
scratch, batch 64, one torch thread, `folder_get_dls` on the `cpu` preset's 2000 training / 500 validation Imagenette
images) at every size; an epoch's predicted CPU seconds come from the `CostModel`. Pixels alone would put every ratio at
0.25: the per-image and per-step costs that do not shrink with the image (decoding the JPEG, augmenting, collating, the
optimizer step) hold small sizes above that limit.
"""
import argparse, json, sys, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

def measure(data, finals, n_batches, log=print):
    "Epoch seconds at each final size and at half of it; one row per final size"
    import torch
    from fastai.vision.all import set_seed
    from fastai_progresize.cost import measure_cost
    import bench
    torch.set_num_threads(1)
    cfg = dict(bench.PRESETS['cpu'], name='cpu')
    get_dls = bench.make_get_dls(cfg, data)
    sizes = sorted({s for f in finals for s in (f // 2, f)})
    set_seed(0)
    learn = bench.make_learner(cfg, get_dls(bs=cfg['bs'], size=max(sizes)))
    t0 = time.process_time()
    cm = measure_cost(learn, get_dls, sizes, cfg['bs'], n_batches=n_batches, warmup=1, clock='cpu')
    log(f'{cm!r} ({time.process_time() - t0:.0f} CPU s)')
    ep = {s: cm.epoch_seconds(s, cfg['bs']) for s in sizes}
    step = {int(r.h): r.train_s for r in cm.df.itertuples()}
    rows = [dict(final=f, small=f // 2, epoch_small_s=ep[f // 2], epoch_final_s=ep[f], ratio=ep[f // 2] / ep[f],
                 step_ratio=step[f // 2] / step[f], pixel_ratio=(f // 2) ** 2 / f ** 2) for f in finals]
    return dict(arch=cfg['arch'], bs=cfg['bs'], n_train=cm.n_train, n_valid=cm.n_valid, loader='folder_get_dls',
                clock='cpu', threads=1, n_batches=n_batches, data=str(data), cost_model=repr(cm),
                measurements=cm.df.to_dict('records'), rows=rows)

def plot(res):
    "The ratio against the final size, with the pixel limit"
    import matplotlib.pyplot as plt
    rows = res['rows']
    fig, ax = plt.subplots(figsize=(7, 4))
    f = [r['final'] for r in rows]
    ax.plot(f, [r['ratio'] for r in rows], 'o-', label='measured epoch (training steps and validation)')
    ax.plot(f, [r['step_ratio'] for r in rows], 's--', alpha=0.6, label='measured training step only')
    ax.axhline(0.25, color='k', ls=':', label='pixel limit, (1/2)² = 0.25')
    ax.axhline(0.35, color='C3', ls='-', lw=0.8, alpha=0.5, label='0.35: the bound the cpu preset keeps under')
    for r in rows: ax.annotate(f"{r['ratio']:.2f}", (r['final'], r['ratio']), textcoords='offset points', xytext=(4, 6), fontsize=8)
    ax.set_xlabel('final size, px (small size = final / 2)'); ax.set_ylabel('epoch cost, small / final')
    ax.set_xticks(f); ax.set_ylim(0, max(0.8, max(r['ratio'] for r in rows) + 0.05))
    ax.set_title(f"{res['arch']}, batch {res['bs']}, {res['n_train']} training / {res['n_valid']} validation images, "
                 f"one CPU thread, {res['loader']}", fontsize=9)
    ax.grid(alpha=0.3); ax.legend(fontsize=8); fig.tight_layout()
    return fig

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=str(HERE.parent.parent/'shared'/'data'/'imagenette-160'))
    p.add_argument('--out', default=str(HERE/'results'))
    p.add_argument('--finals', type=int, nargs='+', default=[24, 32, 48, 64, 96, 128, 160])
    p.add_argument('--n-batches', type=int, default=4, help='timed steps per size')
    p.add_argument('--plot-only', action='store_true', help='redraw the png from the json')
    a = p.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if a.plot_only: res = json.loads((out/'cost_ratio.json').read_text())
    else:
        res = dict(measure(a.data, a.finals, a.n_batches), command='python benchmarks/cost_ratio.py ' + ' '.join(argv or sys.argv[1:]))
        (out/'cost_ratio.json').write_text(json.dumps(res, indent=1))
    plot(res).savefig(out/'cost_ratio.png', dpi=100)
    for r in res['rows']: print(f"{r['small']:4d} -> {r['final']:4d} px: epoch {r['epoch_small_s']:6.1f} / {r['epoch_final_s']:6.1f} s"
                               f" = {r['ratio']:.2f} (step {r['step_ratio']:.2f}; pixels {r['pixel_ratio']:.2f})")

if __name__ == '__main__': main()
