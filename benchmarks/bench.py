"""Side-by-side benchmark of progressive resizing against fixed-size training and the book's manual recipe.

Used by `benchmarks/run.py` (the command) and by the benchmarks section of nbs/03_data.ipynb (which only reads
results). Every method trains the same architecture on the same items and the same fixed split; runs alternate
between methods (the order rotates with the seed) so that a slow spell of a shared machine does not fall on one
method only.
"""
from __future__ import annotations
import json, math, os, platform, statistics, sys, time, warnings
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path: sys.path.insert(0, str(REPO))

# Methods, in the order of the tables and of the first seed's runs
METHODS = ('fixed', 'manual', 'progressive', 'budget_0.5', 'budget_0.7', 'budget_0.5_fast')
LABELS = {'fixed': 'fixed size', 'manual': 'manual recipe (book)', 'progressive': 'fit_progressive (same schedule)',
          'budget_0.5': 'fit_progressive, cost 0.5', 'budget_0.7': 'fit_progressive, cost 0.7',
          'budget_0.5_fast': 'fit_progressive, cost 0.5, fast decode'}

PRESETS = {
    # 2 shared CPU cores: xresnet18 at 32 -> 64 px on 60 training and 30 validation images per class;
    # one torch thread and no loader workers, the steadiest (and here fastest) settings on a busy 2-core machine
    'cpu': dict(arch='xresnet18', sizes=[32, 64], bs=32, fixed_epochs=4, lr=3e-3,
                manual_epochs=[2, 2], manual_lr=[3e-3, 1e-3], budgets=[0.5, 0.7], budget_later='one_cycle',
                seeds=3, train_per_class=60, valid_per_class=30, num_workers=0, fp16=False, max_minutes=20,
                threads=1),
    # One GPU: the book's chapter 7 (xresnet50, 128 -> 224, fit_one_cycle(4, 3e-3) then fine_tune(5, 1e-3))
    'gpu': dict(arch='xresnet50', sizes=[128, 224], bs=64, fixed_epochs=5, lr=3e-3,
                manual_epochs=[4, 5], manual_lr=[3e-3, 1e-3], budgets=[0.5, 0.7], budget_later='one_cycle',
                seeds=3, train_per_class=None, valid_per_class=None, num_workers=None, fp16=True, max_minutes=5,
                threads=None, loader_batches=30),
    # A few seconds: checks that the command works end to end (numbers mean nothing)
    'smoke': dict(arch='xresnet18', sizes=[16, 32], bs=16, fixed_epochs=3, lr=3e-3,
                  manual_epochs=[1, 1], manual_lr=[3e-3, 1e-3], budgets=[0.5, 0.7], budget_later='one_cycle',
                  seeds=1, train_per_class=8, valid_per_class=4, num_workers=0, fp16=True, max_minutes=5,
                  threads=1),
}

def _hw(size): return (size, size) if isinstance(size, int) else tuple(size)
def _area(size): h, w = _hw(size); return h * w

# ---------------------------------------------------------------------------------------------------------------
# Schedules
def stage_list(sizes, epochs, lrs, methods, freeze=1):
    "Plain-dict stages: [{size, epochs, lr, method, freeze_epochs}]"
    return [dict(size=s, epochs=e, lr=l, method=m, freeze_epochs=freeze if m == 'fine_tune' else 0)
            for s, e, l, m in zip(sizes, epochs, lrs, methods)]

def pixel_cost(stages, fixed_epochs, final_size):
    "Sum of epochs x pixels (frozen epochs included) over `fixed_epochs` x final pixels: the ideal time ratio"
    work = sum((s['epochs'] + s['freeze_epochs']) * _area(s['size']) for s in stages)
    return work / (fixed_epochs * _area(final_size))

def budget_stages(cfg, budget):
    "Stages of the progressive schedule whose pixel cost is at most `budget` of the fixed run's"
    small, final, E = cfg['sizes'][0], cfg['sizes'][-1], cfg['fixed_epochs']
    try:
        from fastai_progresize.schedule import ProgressiveSchedule
        sched = ProgressiveSchedule.from_budget(final, E, budget, cfg['lr'], start_size=small, multiple=1,
                                                later=cfg['budget_later'])
        return [dict(size=s.size, epochs=s.epochs, lr=s.lr, method=s.method,
                     freeze_epochs=s.freeze_epochs if s.method == 'fine_tune' else 0) for s in sched.stages], 'from_budget'
    except ImportError: pass
    # Fallback (no schedule module): the fewest small-size epochs that bring the cost within the budget
    later = cfg['budget_later']
    for k in range(1, E):
        st = stage_list([small, final], [k, E - k], [cfg['lr']] * 2, ['one_cycle', later])
        if pixel_cost(st, E, final) <= budget + 1e-12: return st, 'fallback'
    raise ValueError(f"budget {budget} is below the cheapest schedule of {E} epochs")

def schedules(cfg):
    "Every method's stages and pixel cost"
    sizes, E = cfg['sizes'], cfg['fixed_epochs']
    manual = stage_list(sizes, cfg['manual_epochs'], cfg['manual_lr'], ['one_cycle', 'fine_tune'])
    res = {'fixed': dict(stages=stage_list([sizes[-1]], [E], [cfg['lr']], ['one_cycle']), source='preset'),
           'manual': dict(stages=manual, source='preset'), 'progressive': dict(stages=manual, source='preset')}
    for b in cfg['budgets']:
        try: st, src = budget_stages(cfg, b)
        except ValueError as e:
            warnings.warn(f"no schedule for budget {b}, skipped: {e}")
            continue
        res[f'budget_{b}'] = dict(stages=st, source=src)
    if 'budget_0.5' in res: res['budget_0.5_fast'] = dict(res['budget_0.5'])
    for v in res.values(): v['pixel_cost'] = pixel_cost(v['stages'], E, sizes[-1])
    return res

# ---------------------------------------------------------------------------------------------------------------
# Data
def make_get_dls(cfg, data, fast_decode=False, device=None):
    "The benchmark's `get_dls`: `folder_get_dls` on `data`, cut to a class-balanced subset when the preset asks"
    from fastai_progresize.data import folder_get_dls, FolderDLs
    g = folder_get_dls(data, fast_decode=fast_decode, num_workers=cfg['num_workers'], device=device)
    ntr, nva = cfg.get('train_per_class'), cfg.get('valid_per_class')
    if ntr is None and nva is None: return g
    keep, seen = [], {}
    for part, n in ((0, ntr), (1, nva)):
        for i in g.splits[part]:
            key = (part, g.labels[i])
            seen[key] = seen.get(key, 0) + 1
            if n is None or seen[key] <= n: keep.append((part, i))
    items = [g.items[i] for _, i in keep]
    labels = [g.labels[i] for _, i in keep]
    splits = ([j for j, (p, _) in enumerate(keep) if p == 0], [j for j, (p, _) in enumerate(keep) if p == 1])
    return FolderDLs(g.path, items, labels, splits, g.split_desc + ''.join(f', first {n} {w} images per class' for n, w in ((ntr, 'training'), (nva, 'validation'))
                                            if n is not None),
                     fast_decode=fast_decode, num_workers=cfg['num_workers'], device=device)

def loader_throughput(get_dls, size, bs, max_batches=None):
    "Images per second of one pass over the training loader (decode, augment, collate, normalize; no model)"
    dls = get_dls(bs=bs, size=size)
    n, t0 = 0, time.perf_counter()
    for i, (x, y) in enumerate(dls.train):
        n += len(x)
        if max_batches and i + 1 >= max_batches: break
    if x.is_cuda:
        import torch; torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)

# ---------------------------------------------------------------------------------------------------------------
# Timing
def _timer_cb():
    from fastai.callback.core import Callback
    import torch
    class LoopTimer(Callback):
        "Wall and CPU seconds spent waiting for batches (data) and in the model, and accuracy after each epoch"
        order = 200   # after every other callback, so that their batch work counts where it happens
        def __init__(self, t_start, c_start):
            self.t_start, self.c_start, self.curve = t_start, c_start, []
            self.data_s = self.model_s = self.data_cpu_s = self.model_cpu_s = 0.
        def _sync(self):
            if torch.cuda.is_available() and getattr(self.dls, 'device', None) is not None and \
               torch.device(self.dls.device).type == 'cuda': torch.cuda.synchronize()
        def _mark(self): self.t, self.c = time.perf_counter(), time.process_time()
        def _add(self, what):
            t, c = time.perf_counter(), time.process_time()
            setattr(self, f'{what}_s', getattr(self, f'{what}_s') + t - self.t)
            setattr(self, f'{what}_cpu_s', getattr(self, f'{what}_cpu_s') + c - self.c)
            self.t, self.c = t, c
        def before_train(self): self._mark()
        def before_validate(self): self._mark()
        def before_batch(self): self._add('data')
        def after_batch(self): self._sync(); self._add('model')
        def after_train(self): self._add('data')
        def after_validate(self): self._add('data')
        def after_epoch(self):
            rec = self.learn.recorder
            if not getattr(rec, 'values', None): return
            names = [n for n in rec.metric_names[1:] if n != 'time']
            vals = dict(zip(names, rec.values[-1]))
            self.curve.append(dict(t=time.perf_counter() - self.t_start, c=time.process_time() - self.c_start,
                                   accuracy=float(vals.get('accuracy', math.nan)),
                                   valid_loss=float(vals.get('valid_loss', math.nan))))
    return LoopTimer

# ---------------------------------------------------------------------------------------------------------------
# One run
def _make_learner(cfg, dls):
    from fastai.vision.all import Learner, accuracy, CrossEntropyLossFlat, noop
    from fastai.vision import models
    from fastai.vision.models import xresnet
    arch = getattr(xresnet, cfg['arch'], None) or getattr(models, cfg['arch'])
    learn = Learner(dls, arch(n_out=dls.c), loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    if cfg['fp16'] and dls.device is not None and str(dls.device).startswith('cuda'): learn = learn.to_fp16()
    learn.logger = noop
    return learn

def run_one(method, seed, cfg, sched, get_dls):
    "Train one method with one seed; return its measurements"
    import torch
    from fastai.vision.all import set_seed, ProgressCallback
    import fastai_progresize.core  # noqa: F401  (adds Learner.fit_progressive)
    set_seed(seed)
    stages, bs = sched['stages'], cfg['bs']
    switch_s, build_s = 0., 0.
    t0, c0 = time.perf_counter(), time.process_time()
    timer = _timer_cb()(t0, c0)
    t = time.perf_counter()
    learn = _make_learner(cfg, get_dls(bs=bs, size=stages[0]['size']))
    build_s += time.perf_counter() - t
    learn.remove_cb(ProgressCallback)
    learn.add_cb(timer)
    fit_s = 0.
    def timed(f, *args, **kwargs):
        nonlocal fit_s
        t = time.perf_counter()
        f(*args, **kwargs)
        fit_s += time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if method == 'fixed':
            s = stages[0]
            timed(learn.fit_one_cycle, s['epochs'], s['lr'])
        elif method == 'manual':   # the book's recipe, in plain fastai
            s1, s2 = stages
            timed(learn.fit_one_cycle, s1['epochs'], s1['lr'])
            t = time.perf_counter()
            learn.dls = get_dls(bs=bs, size=s2['size'])
            switch_s = time.perf_counter() - t
            timed(learn.fine_tune, s2['epochs'], s2['lr'], freeze_epochs=s2['freeze_epochs'] or 1)
        else:
            from fastai_progresize.core import Stage
            from fastai_progresize.schedule import ProgressiveSchedule
            sch = ProgressiveSchedule([Stage(s['size'], s['epochs'], s['lr'], bs, s['method'], s['freeze_epochs'] or 1)
                                       for s in stages])
            sdf = learn.fit_progressive(sch, get_dls=get_dls).stage_df
            build_s += float(sdf.switch_time.iloc[0])
            switch_s = float(sdf.switch_time.iloc[1:].sum())
            fit_s = float(sdf.train_time.sum())
    if torch.cuda.is_available(): torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    names = [n for n in learn.recorder.metric_names[1:] if n != 'time']
    final = dict(zip(names, learn.recorder.values[-1]))
    return dict(method=method, seed=seed, wall_s=wall, cpu_s=cpu, data_s=timer.data_s, model_s=timer.model_s,
                data_cpu_s=timer.data_cpu_s, model_cpu_s=timer.model_cpu_s,
                other_s=wall - timer.data_s - timer.model_s, switch_s=switch_s, build_s=build_s, fit_s=fit_s,
                outside_s=wall - fit_s,
                accuracy=float(final['accuracy']), valid_loss=float(final['valid_loss']),
                epochs=len(timer.curve), curve=timer.curve)

def warm_up(cfg, get_dls):
    "A few untimed steps at every size, so that the first timed run does not pay for start-up (CUDA, cuDNN, caches)"
    import torch
    for size in cfg['sizes']:
        dls = get_dls(bs=cfg['bs'], size=size)
        learn = _make_learner(cfg, dls)
        xb, yb = dls.one_batch()
        dev = torch.device(dls.device) if dls.device is not None else xb.device
        model = learn.model.to(dev).train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-4)
        for _ in range(2):
            with torch.autocast(dev.type, enabled=bool(cfg['fp16']) and dev.type == 'cuda'):
                loss = learn.loss_func(model(xb), yb)
            loss.backward(); opt.step(); opt.zero_grad()
    if torch.cuda.is_available(): torch.cuda.synchronize()

# ---------------------------------------------------------------------------------------------------------------
# Summaries
def _med(xs): return statistics.median(xs) if xs else math.nan

def _paired(rs, ref, key):
    "Median over seeds of each run's `key` over the same seed's run in `ref`"
    base = {r['seed']: r.get(key, math.nan) for r in ref}
    return _med([r.get(key, math.nan) / base[r['seed']] for r in rs if r['seed'] in base])

def summarize(res):
    "Per-method medians, spreads and ratios (paired by seed) from a results dict"
    runs, sch = res['runs'], res['schedules']
    by = {m: [r for r in runs if r['method'] == m] for m in res['methods']}
    out = {}
    for m, rs in by.items():
        if not rs: continue
        med = lambda k: _med([r.get(k, math.nan) for r in rs])
        acc, wall, cpu = ([r.get(k, math.nan) for r in rs] for k in ('accuracy', 'wall_s', 'cpu_s'))
        d = dict(label=LABELS.get(m, m), n=len(rs), pixel_cost=sch[m]['pixel_cost'], speedup_limit=1 / sch[m]['pixel_cost'],
                 schedule=describe(sch[m]['stages']), wall_s=_med(wall), wall_min=min(wall), wall_max=max(wall),
                 cpu_s=_med(cpu), cpu_min=min(cpu), cpu_max=max(cpu),
                 accuracy=_med(acc), acc_min=min(acc), acc_max=max(acc),
                 switch_share=_med([r['switch_s'] / r['wall_s'] for r in rs]),
                 **{k: med(k) for k in ('data_s', 'model_s', 'other_s', 'data_cpu_s', 'model_cpu_s', 'switch_s',
                                        'outside_s', 'fit_s')})
        fixed = by.get('fixed', [])
        d['time_vs_fixed'], d['cpu_vs_fixed'] = _paired(rs, fixed, 'wall_s'), _paired(rs, fixed, 'cpu_s')
        d['speedup'], d['speedup_cpu'] = 1 / d['time_vs_fixed'], 1 / d['cpu_vs_fixed']
        base = {r['seed']: r['accuracy'] for r in fixed}
        d['acc_vs_fixed'] = _med([r['accuracy'] - base[r['seed']] for r in rs if r['seed'] in base])
        if m == 'progressive' and by.get('manual'):
            d['vs_manual'], d['cpu_vs_manual'] = _paired(rs, by['manual'], 'wall_s'), _paired(rs, by['manual'], 'cpu_s')
        out[m] = d
    return dict(methods=out, seeds=sorted({r['seed'] for r in runs}))

def describe(stages):
    "Stages as text, e.g. '2@32 + ft(1+2)@64'"
    parts = []
    for s in stages:
        h, w = _hw(s['size']); sz = h if h == w else f'{h}x{w}'
        parts.append(f"ft({s['freeze_epochs']}+{s['epochs']})@{sz}" if s['method'] == 'fine_tune' else f"{s['epochs']}@{sz}")
    return ' + '.join(parts)

def _pct(x): return f'{100 * x:.1f}'

def _on_cpu(res): return str(res['machine']['device']).startswith('CPU')

def markdown(res, summ=None):
    "The results as Markdown: one row per method, then the headline ratios"
    summ = summ or summarize(res)
    ms, cpu = summ['methods'], _on_cpu(res)
    c = res['config']
    lines = [f"Command: `{res['command']}`  ",
             f"Data: `{res['data']}` ({res['n_train']} training / {res['n_valid']} validation images, "
             f"{res['n_classes']} classes); {c['arch']}, bs {c['bs']}; device: {res['machine']['device']}; "
             f"seeds: {summ['seeds']}; total {res['duration_s'] / 60:.1f} min; started {res['started']}.", '']
    head = ['method', 'schedule (epochs@size)', 'pixel cost (limit)', 'wall s, median (min-max)']
    if cpu: head += ['CPU s, median (min-max)']
    head += ['data / model s (wall)', 'accuracy %, median (min-max)', 'Δ acc vs fixed (pp)', 'speed-up, wall']
    if cpu: head += ['speed-up, CPU']
    head += ['switch share']
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for m, d in ms.items():
        row = [d['label'], d['schedule'], f"{d['pixel_cost']:.2f} ({d['speedup_limit']:.2f}x)",
               f"{d['wall_s']:.1f} ({d['wall_min']:.1f}-{d['wall_max']:.1f})"]
        if cpu: row += [f"{d['cpu_s']:.1f} ({d['cpu_min']:.1f}-{d['cpu_max']:.1f})"]
        row += [f"{d['data_s']:.1f} / {d['model_s']:.1f}", f"{_pct(d['accuracy'])} ({_pct(d['acc_min'])}-{_pct(d['acc_max'])})",
                f"{100 * d['acc_vs_fixed']:+.1f}", f"{d['speedup']:.2f}x"]
        if cpu: row += [f"{d['speedup_cpu']:.2f}x"]
        row += [f"{100 * d['switch_share']:.2f}%"]
        lines.append('| ' + ' | '.join(row) + ' |')
    lines += ['', 'Speed-ups and accuracy differences are paired by seed (each run against the same seed\'s fixed run), '
              'then the median is taken. The limit is 1 / pixel cost.' +
              (f" CPU time is the process's CPU seconds ({c.get('threads') or 'default'} torch thread(s), "
               f"{c.get('num_workers')} loader workers, whose time it would not include): with one thread and no "
               "workers it is the work itself, which other programs on a shared machine change less than the wall "
               "time (they still slow it, through shared caches and cores)." if cpu else ''), '']
    if 'progressive' in ms and 'manual' in ms:
        p, mn = ms['progressive'], ms['manual']
        ov = f"fit_progressive / manual recipe, same schedule: wall {p['vs_manual']:.3f}"
        if cpu: ov += f", CPU {p['cpu_vs_manual']:.3f}"
        lines.append(f"- {ov} (target under 1.02).")
        lines.append(f"- Time outside the fits (building DataLoaders and the learner, checks, switching), medians: manual "
                     f"recipe {mn['outside_s']:.2f} s, fit_progressive {p['outside_s']:.2f} s "
                     f"({p['outside_s'] - mn['outside_s']:+.2f} s, {100 * (p['outside_s'] - mn['outside_s']) / mn['wall_s']:+.2f}% "
                     f"of the manual run); inside the fits: {mn['fit_s']:.1f} s and {p['fit_s']:.1f} s.")
        lines.append(f"- Stage switching (get_dls + checks + reattach of the stages after the first) in fit_progressive: "
                     f"{100 * p['switch_share']:.2f}% of the run (target under 1%).")
    if 'budget_0.5' in ms and 'budget_0.5_fast' in ms:
        a, b = ms['budget_0.5'], ms['budget_0.5_fast']
        k = 'data_cpu_s' if cpu else 'data_s'
        lines.append(f"- Fast decode, cost-0.5 schedule: data loading {a[k]:.1f} s -> {b[k]:.1f} s "
                     f"({'CPU' if cpu else 'wall'}), whole run {a['cpu_s' if cpu else 'wall_s']:.1f} s -> "
                     f"{b['cpu_s' if cpu else 'wall_s']:.1f} s; accuracy {_pct(a['accuracy'])}% -> {_pct(b['accuracy'])}%.")
    if res.get('loader'):
        lines += ['', 'Data loading alone (best of three passes over the training loader, no model), images/s:', '',
                  '| size | decode at full size | fast decode | fast / full | decoded at |', '|---|---|---|---|---|']
        for row in res['loader']:
            lines.append(f"| {row['size']} | {row['slow']:.0f} | {row['fast']:.0f} | {row['fast'] / row['slow']:.2f} | "
                         f"{row['decoded']} |")
    return '\n'.join(lines) + '\n'

def plot(res):
    "Accuracy against wall time (and CPU time on a CPU): one line per run through its epochs, one colour per method"
    import matplotlib.pyplot as plt
    summ = summarize(res)
    clocks = [('t', 'wall_s', 'wall time, s')] + ([('c', 'cpu_s', 'CPU time, s')] if _on_cpu(res) else [])
    fig, axs = plt.subplots(1, len(clocks), figsize=(7 * len(clocks), 5), squeeze=False)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, (pt, key, xlabel) in zip(axs[0], clocks):
        for i, m in enumerate(res['methods']):
            rs = [r for r in res['runs'] if r['method'] == m]
            if not rs: continue
            c, d = colours[i % len(colours)], summ['methods'][m]
            for r in rs:
                ax.plot([p[pt] for p in r['curve']], [100 * p['accuracy'] for p in r['curve']], '.-', color=c, alpha=0.3, lw=1)
            lo, hi = key.split('_')[0] + '_min', key.split('_')[0] + '_max'
            ax.errorbar([d[key]], [100 * d['accuracy']], fmt='o', ms=8, color=c, capsize=3,
                        xerr=[[d[key] - d[lo]], [d[hi] - d[key]]],
                        yerr=[[100 * (d['accuracy'] - d['acc_min'])], [100 * (d['acc_max'] - d['accuracy'])]],
                        label=f"{d['label']}: {d['schedule']}")
        ax.set_xlabel(xlabel); ax.set_ylabel('validation accuracy, %'); ax.grid(alpha=0.3)
        ax.set_xlim(left=0)
    axs[0, 0].legend(fontsize=8, loc='lower right')
    c = res['config']
    fig.suptitle(f"{c['arch']}, {'->'.join(map(str, c['sizes']))} px, {res['machine']['device']}: accuracy after each "
                 f"epoch (small dots: runs; large: medians with min-max bars)", fontsize=10)
    fig.tight_layout()
    return fig

def plot_png(res, dpi=64):
    "`plot(res)` as PNG bytes (small enough to keep in a notebook)"
    import io, matplotlib.pyplot as plt
    fig, buf = plot(res), io.BytesIO()
    fig.savefig(buf, format='png', dpi=dpi)
    plt.close(fig)
    return buf.getvalue()

# ---------------------------------------------------------------------------------------------------------------
# The whole benchmark
def machine_info(device):
    import torch, fastai
    d = dict(python=platform.python_version(), torch=torch.__version__, fastai=fastai.__version__,
             cpus=os.cpu_count(), platform=platform.platform(), threads=torch.get_num_threads())
    if device == 'cuda': d['device'] = torch.cuda.get_device_name(0)
    else: d['device'] = f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)'
    try: d['load_start'] = os.getloadavg()
    except OSError: pass
    return d

def run_benchmark(cfg, data, out, command, methods=METHODS, log=print):
    "Run every method for every seed, alternating, within `cfg['max_minutes']`; write JSON, Markdown and a plot"
    import torch
    t_start = time.perf_counter()
    if cfg.get('threads'): torch.set_num_threads(cfg['threads'])
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda': torch.backends.cudnn.benchmark = True
    sch = schedules(cfg)
    methods = [m for m in methods if m in sch]
    gd_slow = make_get_dls(cfg, data, fast_decode=False)
    gd_fast = make_get_dls(cfg, data, fast_decode=True)
    res = dict(command=command, data=str(data), config=cfg, methods=methods, schedules=sch,
               machine=machine_info(device), started=datetime.now(timezone.utc).isoformat(timespec='seconds'),
               n_train=gd_slow.n_train, n_valid=gd_slow.n_valid, n_classes=len(gd_slow.vocab), runs=[], loader=[],
               duration_s=0., complete=False)
    base = out/f"bench_{cfg['name']}"
    def save():
        res['duration_s'] = time.perf_counter() - t_start
        try: res['machine']['load_end'] = os.getloadavg()
        except OSError: pass
        base.with_suffix('.json').write_text(json.dumps(res, indent=1, default=str))
    log(f"{cfg['name']}: {gd_slow}; device {res['machine']['device']}")
    for m in methods: log(f"  {m:16s} {describe(sch[m]['stages']):28s} pixel cost {sch[m]['pixel_cost']:.3f}")
    # where the data-loading time goes, with and without the fast decode path
    for size in cfg['sizes']:
        mb = cfg.get('loader_batches')
        # best of three passes each, alternating: one pass is easily slowed down by other work on the machine
        slow, fast = 0., 0.
        for _ in range(3):
            slow = max(slow, loader_throughput(gd_slow, size, cfg['bs'], mb))
            fast = max(fast, loader_throughput(gd_fast, size, cfg['bs'], mb))
        dec = gd_fast(bs=cfg['bs'], size=size).train_ds[0][0].size
        res['loader'].append(dict(size=size, slow=slow, fast=fast, decoded=f'{dec[1]}x{dec[0]}'))
        log(f"  loader at {size}px: {slow:.0f} img/s full decode, {fast:.0f} img/s fast decode (decoded at {dec[1]}x{dec[0]})")
    warm_up(cfg, gd_slow)
    budget_s = cfg['max_minutes'] * 60
    res['setup_s'] = time.perf_counter() - t_start
    def estimate(m):
        "Seconds a run of `m` should take, judged from the runs so far"
        same = [r['wall_s'] for r in res['runs'] if r['method'] == m]
        if same: return max(same)
        if not res['runs']: return 0.
        rate = sum(r['wall_s'] for r in res['runs']) / sum(sch[r['method']]['pixel_cost'] for r in res['runs'])
        return rate * sch[m]['pixel_cost']
    for k, seed in enumerate(range(cfg['seeds'])):
        order = methods[k % len(methods):] + methods[:k % len(methods)]   # rotate, so no method always goes first
        elapsed = time.perf_counter() - t_start
        if k and elapsed + sum(map(estimate, order)) > budget_s:   # later rounds run whole or not at all
            log(f"stopping after {k} seed(s): another round (~{sum(map(estimate, order)):.0f} s) would pass "
                f"--max-minutes {cfg['max_minutes']}")
            break
        for m in order:
            if not k and time.perf_counter() - t_start + estimate(m) > budget_s:
                log(f"stopping before {m}: it would pass --max-minutes {cfg['max_minutes']}")
                break
            r = run_one(m, seed, cfg, sch[m], gd_fast if m.endswith('_fast') else gd_slow)
            r['round'] = k
            res['runs'].append(r)
            log(f"  seed {seed} {m:16s} {r['wall_s']:7.1f} s (data {r['data_s']:5.1f}, model {r['model_s']:6.1f}, "
                f"switch {r['switch_s']:.2f})  accuracy {100 * r['accuracy']:.1f}%")
            save()
        else: continue
        break
    res['complete'] = len({r['seed'] for r in res['runs']}) >= cfg['seeds']
    res['summary'] = summarize(res)
    save()
    log(report(base.with_suffix('.json')))
    return res

def report(fname):
    "Write the Markdown table and the plot of the results in `fname` (a bench_*.json) next to it; return the Markdown"
    fname = Path(fname)
    res = json.loads(fname.read_text())
    md = markdown(res)
    fname.with_suffix('.md').write_text(f"# Benchmark: preset `{res['config']['name']}`\n\n" + md)
    plot(res).savefig(fname.with_suffix('.png'), dpi=110)
    return md
