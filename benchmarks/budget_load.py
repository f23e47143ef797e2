"""Does a time budget hold when the machine is busy? Budgeted fits beside 0, 1, 2 and 4 CPU-bound busy processes.

Three ways to train to a budget, each run beside `--loads` busy processes (pure-Python spin loops, one core each):
- `fit_budget`: one clock-driven `fit_one_cycle` at the final size (`Learner.fit_budget(seconds, lr)`);
- `fit_progressive`: `Learner.fit_progressive(sizes, epochs, lr, later='one_cycle', seconds=...)`, the budget split
  over the stages by planned cost, stage switches (building the next DataLoaders) inside the timed call;
- `cli`: `progresize_train(path, sizes=..., minutes=...)`, the `progresize-train --minutes` command called from Python
  (the whole call is timed: loading the folder, building the model and saving the results included; `fit_s` is its
  history's training time).
For each run it records the whole call's wall time over the budget, whether the learning rate ended annealed (the last
lr at most 10x the schedule's final value lr/div_final, the test the budget notebook uses), and the validation accuracy.

`--demo-threads` adds the command line left alone: `progresize-train --demo > log` run as a child process beside the
same busy processes, with each `--threads` given (0: the command's default), recording its wall and CPU seconds
(user + system, from the kernel) and whether its log holds progress-bar frames (carriage returns).
Data: `--data` (an ImageNet-style folder; default imagenette-160 where present) or generated shapes, cut to the first
`--train-per-class` training and `--valid-per-class` validation images of each class (links in a temporary folder),
so that a budget holds a few epochs, each validation a small part of it. CPU, one torch thread.

    python benchmarks/budget_load.py                # ~35 min on 2 cores: 3 methods x 4 loads x 2 seeds x 60 s, the demo runs
    python benchmarks/budget_load.py --smoke      # under a minute: checks the script runs (numbers mean nothing)

Writes benchmarks/results/budget_load.csv and budget_load_demo.csv (with --smoke: under /tmp). Run it on an otherwise idle
machine: the busy processes are the only load it means to measure.
"""
from __future__ import annotations
import argparse, csv, multiprocessing as mp, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path: sys.path.insert(0, str(REPO))
IMAGENETTE = REPO.parent/'shared'/'data'/'imagenette-160'
DIV_FINAL = 1e5  # fit_one_cycle's default: the schedule ends at lr / DIV_FINAL
METHODS = ('fit_budget', 'fit_progressive', 'cli')
FIELDS = ['method', 'load', 'seed', 'budget_s', 'wall_s', 'wall_over_budget', 'fit_s', 'final_lr', 'schedule_final_lr',
          'annealed', 'accuracy', 'sizes', 'data', 'loadavg_1min', 'machine']

def spin():
    "A CPU-bound busy process: spins until it is terminated"
    x = 0
    while True: x += 1

class Busy:
    "Start `n` busy processes on entering, terminate them on leaving"
    def __init__(self, n): self.n, self.ps = n, []
    def __enter__(self):
        ctx = mp.get_context('spawn')
        self.ps = [ctx.Process(target=spin, daemon=True) for _ in range(self.n)]
        for p in self.ps: p.start()
        time.sleep(0.2 * bool(self.n))  # let them reach the loop
        return self
    def __exit__(self, *exc):
        for p in self.ps: p.terminate()
        for p in self.ps: p.join()

def accuracy_of(learn):
    "The last validated accuracy of `learn`'s last fit"
    names = [n for n in learn.recorder.metric_names if n not in ('epoch', 'time')]  # the columns of `values`
    return float(learn.recorder.values[-1][names.index('accuracy')]) if learn.recorder.values else float('nan')

def learner(a, get_dls, size, seed):
    from functools import partial
    import torch
    from fastai.vision.all import Learner, xresnet18, accuracy, OptimWrapper, CrossEntropyLossFlat, set_seed
    set_seed(seed, reproducible=True)
    learn = Learner(get_dls(bs=a.bs, size=size), xresnet18(n_out=len(get_dls.vocab)), loss_func=CrossEntropyLossFlat(),
                    metrics=accuracy, opt_func=partial(OptimWrapper, opt=partial(torch.optim.AdamW, fused=True)))
    learn.logger = lambda *_: None
    return learn

def run_one(method, a, data, seed):
    "Train once by `method` to `a.seconds`; return (wall_s, fit_s, final_lr, accuracy)"
    import fastai_progresize.budget  # noqa: F401 (Learner.fit_budget)
    import fastai_progresize.fit  # noqa: F401 (Learner.fit_progressive)
    from fastai_progresize.data import folder_get_dls
    if method == 'cli':
        from fastai_progresize.cli import progresize_train
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            learn = progresize_train(path=str(data), sizes=a.sizes, lr=a.lr, bs=a.bs, arch='xresnet18', seed=seed,
                                     num_workers=0, minutes=a.seconds / 60, out=str(Path(out)/'run'), quiet=True)
            wall = time.perf_counter() - t
        sdf = learn.progressive_history.stage_df
        return wall, float(sdf['train_time'].sum()), float(learn.recorder.lrs[-1]), accuracy_of(learn)
    get_dls = folder_get_dls(data, num_workers=0)
    learn = learner(a, get_dls, a.sizes[0] if method == 'fit_progressive' else a.sizes[-1], seed)
    with learn.no_bar():
        t = time.perf_counter()
        if method == 'fit_budget': tb = learn.fit_budget(a.seconds, a.lr)
        else: hist = learn.fit_progressive(a.sizes, 1, a.lr, get_dls=get_dls, bs=a.bs, later='one_cycle', seconds=a.seconds)
        wall = time.perf_counter() - t
    fit_s = tb.spent if method == 'fit_budget' else float(hist.stage_df['train_time'].sum())
    return wall, float(fit_s), float(learn.recorder.lrs[-1]), accuracy_of(learn)

DEMO_FIELDS = ['threads', 'load', 'wall_s', 'cpu_s', 'cpu_over_quiet', 'log_bytes', 'log_cr', 'log_lines', 'rc', 'loadavg_1min', 'machine']

def run_demo(threads, smoke=False):
    "`progresize-train --demo` as a child process, its output to a log file: (wall_s, cpu_s, log bytes, CRs, lines, rc)"
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, '-m', 'fastai_progresize.cli', '--demo', '--out', str(Path(out)/'run')]
        if threads: cmd += ['--threads', str(threads)]
        if smoke: cmd += ['--epochs', '1', '--sizes', '16', '24']
        log = Path(out)/'log'
        with open(log, 'wb') as f:
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=out)
            _, status, ru = os.wait4(p.pid, 0)  # this child's own CPU seconds (not the busy processes')
            wall = time.perf_counter() - t
        b = log.read_bytes()
        return wall, ru.ru_utime + ru.ru_stime, len(b), b.count(b'\r'), b.count(b'\n'), os.waitstatus_to_exitcode(status)

def subset(data, per_class, dest, valid_per_class=None):
    "An ImageNet-style folder of links to `data`'s first `per_class` training and `valid_per_class` (None: all) validation images of each class"
    for part, n in (('train', per_class), ('val', valid_per_class)):
        for cls in sorted(d for d in (Path(data)/part).iterdir() if d.is_dir()):
            (Path(dest)/part/cls.name).mkdir(parents=True)
            for f in sorted(cls.iterdir())[:n]: (Path(dest)/part/cls.name/f.name).symlink_to(f.resolve())
    return Path(dest)

def summary_md(rows, drows, command):
    "The results as Markdown: per (method, load), wall over budget, annealed, accuracy; per (threads, load), the demo's CPU"
    import statistics as st
    med = lambda xs: st.median(xs) if xs else float('nan')
    out = [f"Command: `{command}`; {rows[0]['machine'] if rows else ''}; data {rows[0]['data'] if rows else ''}.", '',
           '| method | busy processes | runs | wall / budget, median (min-max) | annealed | accuracy %, median | load average (1 min) at the end |',
           '|---|---|---|---|---|---|---|']
    for m in dict.fromkeys(r['method'] for r in rows):
        for load in dict.fromkeys(r['load'] for r in rows):
            rs = [r for r in rows if r['method'] == m and r['load'] == load]
            if not rs: continue
            w = [float(r['wall_over_budget']) for r in rs]
            out.append(f"| {m} | {load} | {len(rs)} | {med(w):.3f} ({min(w):.3f}-{max(w):.3f}) | "
                       f"{sum(r['annealed'] in (True, 'True') for r in rs)} of {len(rs)} | {100 * med([float(r['accuracy']) for r in rs]):.1f} | "
                       f"{med([float(r['loadavg_1min']) for r in rs]):.1f} |")
    if rows:
        w = [float(r['wall_over_budget']) for r in rows]
        out += ['', f"All {len(rows)} runs: wall / budget {min(w):.3f} to {max(w):.3f}; "
                    f"{sum(abs(x - 1) <= 0.05 for x in w)} within 5 %; {sum(r['annealed'] in (True, 'True') for r in rows)} annealed."]
    if drows:
        out += ['', '`progresize-train --demo > log` beside the same busy processes:', '',
                '| --threads | busy processes | wall s | CPU s (user + system) | CPU / quiet | log bytes | carriage returns in the log | log lines |',
                '|---|---|---|---|---|---|---|---|']
        out += [f"| {r['threads']} | {r['load']} | {float(r['wall_s']):.1f} | {float(r['cpu_s']):.1f} | "
                f"{r['cpu_over_quiet'] if r['cpu_over_quiet'] != '' else '-'} | {r['log_bytes']} | {r['log_cr']} | {r['log_lines']} |" for r in drows]
    return '\n'.join(out) + '\n'

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument('--loads', type=int, nargs='+', default=[0, 1, 2, 4], help='busy processes beside each fit')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--seconds', type=float, default=60., help='the budget of each fit')
    p.add_argument('--sizes', type=int, nargs='+', default=[32, 64], help='stage sizes; fit_budget trains at the last')
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--data', default=None, help='ImageNet-style folder; default imagenette-160 where present, else shapes')
    p.add_argument('--train-per-class', type=int, default=40, help='training images kept of each class (0: all)')
    p.add_argument('--valid-per-class', type=int, default=20, help='validation images kept of each class (0: all)')
    p.add_argument('--smoke', action='store_true', help='a tiny run, under a minute: the numbers mean nothing')
    p.add_argument('--demo-threads', type=int, nargs='*', default=[0, 2],
                   help="--threads of each `--demo` run (0: the command's default); none: skip the demo runs")
    p.add_argument('--demo-loads', type=int, nargs='*', default=None, help='busy processes beside each `--demo` run; default: --loads')
    p.add_argument('--out', default=str(HERE/'results'/'budget_load.csv'))
    a = p.parse_args()
    if a.smoke:
        a.methods, a.loads, a.seeds, a.seconds, a.sizes, a.bs, a.demo_threads = list(METHODS), [1], [0], 2., [16, 32], 8, [0]
        if a.out == str(HERE/'results'/'budget_load.csv'): a.out = '/tmp/budget_load_smoke.csv'
    import torch; torch.set_num_threads(1)
    tmp = None
    if a.data: data = Path(a.data)
    elif IMAGENETTE.exists() and not a.smoke: data = IMAGENETTE
    else:
        from fastai_progresize.synth import make_shapes
        tmp = tempfile.TemporaryDirectory(); data = make_shapes(Path(tmp.name)/'shapes', n_train=8 if a.smoke else 200,
                                                               n_valid=4 if a.smoke else 50, size=max(a.sizes))
    if a.train_per_class and data == IMAGENETTE:
        tmp_sub = tempfile.TemporaryDirectory()
        data = subset(IMAGENETTE, a.train_per_class, Path(tmp_sub.name)/f'imagenette-160-{a.train_per_class}-{a.valid_per_class}',
                      a.valid_per_class or None)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread"
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for load in a.loads:
        for seed in a.seeds:
            for method in a.methods:
                with Busy(load): wall, fit_s, lr, acc = run_one(method, a, data, seed)
                final = a.lr / DIV_FINAL
                rows.append(dict(method=method, load=load, seed=seed, budget_s=a.seconds, wall_s=round(wall, 3),
                                 wall_over_budget=round(wall / a.seconds, 4), fit_s=round(fit_s, 3), final_lr=f'{lr:.3g}',
                                 schedule_final_lr=f'{final:.3g}', annealed=lr <= 10 * final, accuracy=round(acc, 4),
                                 sizes=' '.join(map(str, a.sizes)), data=data.name,
                                 loadavg_1min=round(os.getloadavg()[0], 2), machine=machine))
                print(f"{method:15s} load {load} seed {seed}: wall {wall:.2f} s / budget {a.seconds:g} s = {wall / a.seconds:.3f}, "
                      f"lr {lr:.3g} (annealed: {lr <= 10 * final}), accuracy {acc:.3f}", flush=True)
                with open(a.out, 'w', newline='') as f:  # after every run: a killed run keeps what it measured
                    w = csv.DictWriter(f, FIELDS); w.writeheader(); w.writerows(rows)
    if tmp is not None: tmp.cleanup()
    print(f"Wrote {len(rows)} rows to {a.out}")
    demo_out, drows = Path(a.out).with_name(Path(a.out).stem + '_demo.csv'), []
    for threads in a.demo_threads:
        for load in (a.loads if a.demo_loads is None else a.demo_loads):
            with Busy(load): wall, cpu, nbytes, cr, lines, rc = run_demo(threads, a.smoke)
            quiet = next((r['cpu_s'] for r in drows if r['threads'] == (threads or 'default') and r['load'] == 0), None)
            drows.append(dict(threads=threads or 'default', load=load, wall_s=round(wall, 2), cpu_s=round(cpu, 2),
                              cpu_over_quiet=round(cpu / quiet, 3) if quiet else '', log_bytes=nbytes, log_cr=cr,
                              log_lines=lines, rc=rc, loadavg_1min=round(os.getloadavg()[0], 2), machine=machine))
            print(f"--demo, threads {threads or 'default'}, load {load}: wall {wall:.1f} s, CPU {cpu:.1f} s, "
                  f"log {nbytes} bytes, {cr} carriage returns, {lines} lines, exit {rc}", flush=True)
            with open(demo_out, 'w', newline='') as f:
                w = csv.DictWriter(f, DEMO_FIELDS); w.writeheader(); w.writerows(drows)
    if drows: print(f"Wrote {len(drows)} rows to {demo_out}")
    md = Path(a.out).with_suffix('.md')
    md.write_text(summary_md(rows, drows, 'python benchmarks/budget_load.py ' + ' '.join(sys.argv[1:])))
    print(f"Wrote {md}")

if __name__ == '__main__': main()
