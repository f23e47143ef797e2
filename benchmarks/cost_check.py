#!/usr/bin/env python
"""Where the cost model's prediction of an epoch goes wrong: `measure_cost`'s few timed steps against every step of real
epochs at the same size, on the `cpu` preset's learner and data (see benchmarks/README.md).

    OMP_NUM_THREADS=1 python benchmarks/cost_check.py --size 96 --epochs 2   # about 3 CPU minutes; results/cost_check.json

It prints, per epoch, the median training step and validation batch against the ones `measure_cost` timed, the steps
by position (the first few after the iterator starts, the rest), the time outside the batches, and the epoch's total
against `CostModel.epoch_seconds`; and the load average while each part ran (other processes on a shared machine
change even a CPU-clock measurement: they share the caches and memory bandwidth).
"""
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=str(HERE.parent.parent/'shared'/'data'/'imagenette-160'))
    p.add_argument('--out', default=str(HERE/'results'))
    p.add_argument('--size', type=int, default=96)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--n-batches', type=int, default=8)
    a = p.parse_args(argv)
    import torch
    from fastai.vision.all import set_seed, Callback
    from fastai_progresize.cost import measure_cost
    import bench
    torch.set_num_threads(1)
    cfg = dict(bench.PRESETS['cpu'], name='cpu')
    get_dls = bench.make_get_dls(cfg, a.data)
    set_seed(0)
    learn = bench.make_learner(cfg, get_dls(bs=cfg['bs'], size=a.size))
    load0 = os.getloadavg()[0]
    cm = measure_cost(learn, get_dls, [a.size], cfg['bs'], n_batches=a.n_batches, warmup=1, clock='cpu')
    m = cm.df.iloc[0]

    class Marks(Callback):
        order = 1000
        def before_epoch(self): self.e = dict(t0=time.process_time(), train=[], valid=[], load=os.getloadavg()[0])
        def before_train(self): self.e['train'].append(time.process_time())
        def before_validate(self): self.e['valid'].append(time.process_time())
        def after_batch(self): self.e['train' if self.training else 'valid'].append(time.process_time())
        def after_epoch(self):
            self.e['t1'] = time.process_time()
            self.epochs.append(self.e)
    mk = Marks(); mk.epochs = []
    learn.fit_one_cycle(a.epochs, cfg['lr'], cbs=mk)
    pred = cm.epoch_seconds(a.size, cfg['bs'])
    rows = []
    for i, e in enumerate(mk.epochs):
        tr, va = np.diff(e['train']), np.diff(e['valid'])
        total = e['t1'] - e['t0']
        rows.append(dict(epoch=i, steps=len(tr), step_first=float(tr[0]), step_2_to_9=float(np.median(tr[1:9])),
                         step_rest=float(np.median(tr[9:])), step_mean=float(tr[1:].mean()), valid_median=float(np.median(va[1:])),
                         valid_first=float(va[0]), outside=float(total - tr.sum() - va.sum()), epoch_s=float(total),
                         predicted=pred, load=e['load']))
    res = dict(size=a.size, bs=cfg['bs'], n_train=cm.n_train, n_valid=cm.n_valid, load_measure=load0,
               measured=dict(train_s=float(m.train_s), valid_s=float(m.valid_s), epoch_s=float(m.epoch_s)), epochs=rows,
               command='python benchmarks/cost_check.py ' + ' '.join(argv or sys.argv[1:]))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    (out/'cost_check.json').write_text(json.dumps(res, indent=1))
    print(f"measure_cost at {a.size} px (load {load0:.1f}): step {m.train_s:.3f} s, validation batch {m.valid_s:.3f} s")
    for r in rows:
        print(f"epoch {r['epoch']} (load {r['load']:.1f}): {r['steps']} steps; first {r['step_first']:.3f} s, 2-9 median "
              f"{r['step_2_to_9']:.3f}, rest median {r['step_rest']:.3f}, mean {r['step_mean']:.3f}; validation median "
              f"{r['valid_median']:.3f} (first {r['valid_first']:.3f}); outside the batches {r['outside']:.2f} s; epoch "
              f"{r['epoch_s']:.1f} s against {r['predicted']:.1f} predicted ({r['predicted'] / r['epoch_s']:.2f})")

if __name__ == '__main__': main()
