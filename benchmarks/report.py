"""Summaries of a results file: accuracy against the fixed-size curve at equal time, time to reach the longest fixed
run's accuracy, predicted against measured time; as Markdown and as a plot. Pure functions of the results dict."""
from __future__ import annotations
import math, statistics
from methods import LABELS

def _med(xs): return statistics.median(xs) if xs else math.nan

def fixed_curve(runs, seed, key, chance):
    "The fixed-size curve of one seed: (time, accuracy) points by time, starting at (0, chance)"
    pts = sorted((r[key], r['accuracy']) for r in runs if r['method'] == 'fixed' and r['seed'] == seed)
    return [(0., chance)] + pts

def interp(curve, t):
    "Accuracy of `curve` linearly interpolated at time `t`, and whether `t` lies within it"
    (t0, a0), inside = curve[0], curve[0][0] <= t <= curve[-1][0]
    for t1, a1 in curve[1:]:
        if t <= t1: return a0 + (a1 - a0) * (t - t0) / (t1 - t0) if t1 > t0 else a1, inside
        t0, a0 = t1, a1
    return a0, inside

def time_to_reach(runs, fixed_runs, key):
    "Per seed: the least time over `runs` whose accuracy reaches that seed's longest fixed run's, over that run's time"
    res = []
    for f in fixed_runs:
        ok = [r[key] for r in runs if r['seed'] == f['seed'] and r['accuracy'] >= f['accuracy']]
        res.append(min(ok) / f[key] if ok else math.inf)
    return res

def _longest_fixed(runs, key):
    "Each seed's longest fixed run"
    best = {}
    for r in runs:
        if r['method'] == 'fixed' and (r['seed'] not in best or r[key] > best[r['seed']][key]): best[r['seed']] = r
    return list(best.values())

def summarize(res):
    "One row per (method, budget): times, accuracy, difference to the fixed curve at equal time, predicted time"
    key, runs, chance = res['config']['clock'] + '_s', res['runs'], 1 / res.get('n_classes', 10)
    rows = []
    for p in res['plans']:
        rs = [r for r in runs if (r['method'], r['arg']) == (p['method'], p['arg'])]
        if not rs: continue
        diffs = [(r['accuracy'] - a, ok) for r in rs for a, ok in [interp(fixed_curve(runs, r['seed'], key, chance), r[key])]]
        t, acc = [r[key] for r in rs], [r['accuracy'] for r in rs]
        rows.append(dict(p, n=len(rs), t=_med(t), t_min=min(t), t_max=max(t), wall_s=_med([r['wall_s'] for r in rs]),
                         acc=_med(acc), acc_min=min(acc), acc_max=max(acc), d_acc=_med([d for d, _ in diffs]),
                         inside=all(ok for _, ok in diffs), pred_ratio=p['predicted_s'] / _med(t)))
    order = list(dict.fromkeys(p['method'] for p in res['plans']))
    return sorted(rows, key=lambda r: (order.index(r['method']), r['t']))

def reach(res):
    "Per method: the median over seeds of `time_to_reach` (inf: not reached)"
    key, runs = res['config']['clock'] + '_s', res['runs']
    fixed = _longest_fixed(runs, key)
    names = dict.fromkeys(p['method'] for p in res['plans'])
    return {m: _med(time_to_reach([r for r in runs if r['method'] == m], fixed, key)) for m in names if m != 'fixed'}

def _missing(res):
    "Plans with fewer runs than the preset's seeds, with their number of runs"
    out = []
    for p in res['plans']:
        n = sum((r['method'], r['arg']) == (p['method'], p['arg']) for r in res['runs'])
        if n < res['config']['seeds'] and not res.get('not_run'): out.append((p, n))
    return out

def _pct(x): return f'{100 * x:.1f}'

def seed_deltas(res):
    "{(method, arg): {seed: accuracy minus that seed's fixed curve at the run's time}} for every run but the fixed ones"
    key, runs, chance = res['config']['clock'] + '_s', res['runs'], 1 / res.get('n_classes', 10)
    out = {}
    for r in runs:
        if r['method'] == 'fixed': continue
        out.setdefault((r['method'], r['arg']), {})[r['seed']] = r['accuracy'] - interp(fixed_curve(runs, r['seed'], key, chance), r[key])[0]
    return out

def delta_table(res):
    "Markdown: each method's Δ against the fixed curve, per seed, beside the fixed curve's own spread over seeds"
    deltas, seeds = seed_deltas(res), sorted({r['seed'] for r in res['runs']})
    lines = ['| method | budget | Δ pp, median | ' + ' | '.join(f'seed {s}' for s in seeds) + ' |', '|---|---|---|' + '---|' * len(seeds)]
    for (m, a), d in deltas.items():
        lines.append(f"| {LABELS.get(m, m)} | {a} | {100 * _med(list(d.values())):+.1f} | " +
                     ' | '.join(f"{100 * d[s]:+.1f}" if s in d else '' for s in seeds) + ' |')
    fixed = {}
    for r in res['runs']:
        if r['method'] == 'fixed': fixed.setdefault(r['arg'], []).append(r['accuracy'])
    spread = '; '.join(f"{a} epoch{'s' * (a != 1)}: {_pct(min(v))}-{_pct(max(v))}% ({100 * (max(v) - min(v)):.1f} pp)"
                       for a, v in sorted(fixed.items(), key=lambda kv: float(kv[0])))
    return '\n'.join(lines) + f"\n\nThe fixed-size runs' own spread over seeds (accuracy, min-max): {spread}."

def pair_table(res):
    "Markdown: every pair of methods, their per-seed Δ differences (paired by seed), and whether every seed agrees on the sign"
    deltas = seed_deltas(res)
    keys = list(deltas)
    lines = ['| A | B | A - B, pp: median (min-max over seeds) | seeds | separated? |', '|---|---|---|---|---|']
    for i, ka in enumerate(keys):
        for kb in keys[i + 1:]:
            common = sorted(set(deltas[ka]) & set(deltas[kb]))
            if len(common) < 2: continue
            d = [deltas[ka][s] - deltas[kb][s] for s in common]
            name = lambda k: f"{LABELS.get(k[0], k[0])} ({k[1]})"
            verdict = ('A ahead in every seed' if min(d) > 0 else 'B ahead in every seed' if max(d) < 0 else
                       'no: the seeds disagree')
            lines.append(f"| {name(ka)} | {name(kb)} | {100 * _med(d):+.1f} ({100 * min(d):+.1f} to {100 * max(d):+.1f}) | "
                         f"{len(common)} | {verdict} |")
    return '\n'.join(lines)

def reach_table(res):
    "Markdown: per method, the time it needs to reach each fixed-size run's accuracy (its epochs' curve), over that run's time"
    key, runs = res['config']['clock'] + '_s', res['runs']
    fixed = {}
    for r in runs:
        if r['method'] == 'fixed': fixed.setdefault(r['arg'], {})[r['seed']] = r
    args = sorted(fixed, key=float)
    lines = ['| method | ' + ' | '.join(f"fixed {a} epoch{'s' * (float(a) != 1)}" for a in args) + ' |', '|---|' + '---|' * len(args)]
    for m in dict.fromkeys(r['method'] for r in runs if r['method'] != 'fixed'):
        cells = []
        for a in args:
            ratios = []
            for seed, f in fixed[a].items():
                ts = [pt[key] for r in runs if r['method'] == m and r['seed'] == seed for pt in r.get('curve', []) if pt['accuracy'] >= f['accuracy']]
                ratios.append(min(ts) / f[key] if ts else math.inf)
            n_ok = sum(x < math.inf for x in ratios)
            cells.append('not reached (0 of %d seeds)' % len(ratios) if n_ok == 0 else
                         f"{_med(ratios):.2f} ({n_ok} of {len(ratios)} seeds)" if n_ok * 2 > len(ratios) else
                         f"not reached in most seeds ({n_ok} of {len(ratios)})")
        lines.append(f"| {LABELS.get(m, m)} | " + ' | '.join(cells) + ' |')
    return '\n'.join(lines)

def candidate_table(res):
    "Markdown: predicted seconds per epoch at each candidate size, against the final size's, by time and by pixels"
    cm, c = res['cost_models'][res['config']['opt']], res['config']
    rows = [r for r in cm['rows'] if r['bs'] == c['bs']]
    final = next(r for r in rows if (r['h'], r['w']) == (c['sizes'][-1],) * 2)
    ep = lambda r: r['epoch_s'] + cm['n_train'] // r['bs'] * r['train_s'] + math.ceil(cm['n_valid'] / r['val_bs']) * r['valid_s']
    lines = ['| size | train step, s | validation batch, s | epoch, s | epoch / final epoch | pixels / final pixels |',
             '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['h']} | {r['train_s']:.3f} | {r['valid_s']:.3f} | {ep(r):.1f} | {ep(r) / ep(final):.2f} | "
                     f"{r['h'] * r['w'] / (final['h'] * final['w']):.2f} |")
    return '\n'.join(lines)

def throughput_table(res):
    "Markdown: training and validation images per second at each measured size"
    clock = res['config']['clock']
    return '\n'.join(['| size | batch | training images/s | validation images/s |', '|---|---|---|---|'] +
                     [f"| {r['size']} | {r['bs']} | {r['train_img_s']:.1f} | {r['valid_img_s'] or 0:.1f} |" for r in res['throughput']] +
                     ['', f"({clock} clock: images over the seconds of a training step or validation batch, loading included)"])

def run_table(rows, clock):
    "Markdown: one line per (method, budget)"
    lines = [f'| method | budget | schedule (epochs@size/bs) | pixel cost | predicted {clock} s | measured {clock} s, median '
             f'(min-max) | predicted / measured | wall s | accuracy %, median (min-max) | Δ acc vs fixed curve (pp) |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {LABELS.get(r['method'], r['method'])} | {r['arg']} | {r['schedule']} | {r['pixel_cost']:.2f} | "
                     f"{r['predicted_s']:.1f} | {r['t']:.1f} ({r['t_min']:.1f}-{r['t_max']:.1f}) | {r['pred_ratio']:.2f} | "
                     f"{r['wall_s']:.1f} | {_pct(r['acc'])} ({_pct(r['acc_min'])}-{_pct(r['acc_max'])}) | "
                     f"{100 * r['d_acc']:+.1f}{'' if r['inside'] else ' *'} |")
    return '\n'.join(lines)

def budget_rows(res):
    "One row per (method, budget) of the clock-driven runs: accuracy, wall time over the budget, epochs; medians over seeds"
    rows = []
    for p in res['plans']:
        rs = [r for r in res['runs'] if (r['method'], r['arg']) == (p['method'], p['arg']) and r.get('budget_s')]
        if not rs: continue
        acc, ratio = [r['accuracy'] for r in rs], [r['wall_s'] / r['budget_s'] for r in rs]
        rows.append(dict(method=p['method'], budget=rs[0]['budget_s'], n=len(rs), acc=_med(acc), acc_min=min(acc), acc_max=max(acc),
                         wall_s=_med([r['wall_s'] for r in rs]), ratio=_med(ratio), ratio_min=min(ratio), ratio_max=max(ratio),
                         epochs=_med([r['epochs'] for r in rs]), steps=_med([r['steps'] for r in rs]), predicted_s=p['predicted_s']))
    return sorted(rows, key=lambda r: (r['budget'], r['method']))

def budget_table(rows):
    "Markdown: one line per (budget, method) of the clock-driven runs"
    lines = ['| budget, s | method | accuracy %, median (min-max) | wall s of the training call, median | wall / budget, median '
             '(min-max) | plan\'s expected end, s | epochs (validations), median | steps, median |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['budget']:g} | {LABELS.get(r['method'], r['method'])} | {_pct(r['acc'])} ({_pct(r['acc_min'])}-"
                     f"{_pct(r['acc_max'])}) | {r['wall_s']:.1f} | {r['ratio']:.3f} ({r['ratio_min']:.3f}-{r['ratio_max']:.3f}) | "
                     f"{r['predicted_s']:.1f} | {r['epochs']:g} | {r['steps']:g} |")
    return '\n'.join(lines)

def markdown(res):
    "The whole results file as Markdown"
    c, m, rows, brows = res['config'], res['machine'], summarize(res), budget_rows(res)
    seeds = sorted({r['seed'] for r in res['runs']})
    has_fixed = any(r['method'] == 'fixed' for r in res['runs'])  # the fixed-size curve that the equal-time summaries need
    errs = [abs(r['pred_ratio'] - 1) for r in rows]
    reached = '\n'.join(f"| {LABELS.get(k, k)} | {'not reached' if v == math.inf else f'{v:.2f}'} |" for k, v in reach(res).items())
    return '\n'.join([
        f"# Benchmark: preset `{res['preset']}`" + (' (dry run: the code path, tiny, on the CPU; its numbers mean nothing)'
                                                     if c.get('dry_run') else ''), '',
        f"Command: `{res['command']}`" + ''.join(f", then `{c}`" for c in res.get('appended', [])) + '  ',
        f"Data: `{res['data']}`, {res['n_train']} training / {res['n_valid']} validation images; {c['arch']}, "
        f"sizes {c['sizes'][0]} -> {c['sizes'][-1]} px, bs {c['bs']}, optimizer `{c['opt']}`, lr {c['lr']}; "
        f"{m['device']}; seeds {seeds}; {res['duration_s'] / 60:.1f} min; load average {m['load_start'][0]:.1f} at the "
        f"start, {m['load_end'][0]:.1f} at the end; started {res['started']}." +
        (f" Loader: {res['loader']}." if res.get('loader') else '') +
        (f" {c['jobs']} processes of {c['threads']} torch thread(s) took the runs in parallel." if (c.get('jobs') or 1) > 1 else '') +
        (f" {res['renamed']}." if res.get('renamed') else ''), '',
        *(['## Images per second at each size (measured before training)', '', throughput_table(res), ''] if res.get('throughput') else []),
        *([f"Planned, not run yet (a run cut short; `--append` resumes it): " + '; '.join(
            f"{p['method']} {p['arg']} ({p['schedule']}, {res['config']['seeds'] - n} of "
            f"{res['config']['seeds']} seeds missing)" for p, n in _missing(res)), ''] if _missing(res) else []),
        *([f"Not run (the preset's time cap): " + '; '.join(f"seed {x['seed']} {x['method']} {x['arg']}" for x in res['not_run']), '']
          if res.get('not_run') else []),
        *([f"Skipped (not run at all): " + '; '.join(f"{x['method']} {x['arg']} ({x['why']})" for x in res['skipped']), '']
          if res.get('skipped') else []),
        *([f"Peers: fastxtend {res['peers']['fastxtend']} installed." if res['peers'].get('fastxtend') else
           "Peers: fastxtend is not installed (`pip install fastxtend==0.1.7`): its runs are skipped.", '']
          if 'fastxtend' in c['budgets'] and res.get('peers') else []),
        '## Time per epoch at each size (cost model, measured before training)', '', candidate_table(res), '',
        f"Cost model: {res['cost_models'][c['opt']]['text']}", '',
        *(['## Every schedule', '', run_table(rows, c['clock']), '',
        f"Δ acc: each run against its own seed's fixed-size curve interpolated at the run's {c['clock']} time, median "
        f"over seeds (* outside the fixed curve's range: compared with its end). Predicted / measured: the cost model's "
        f"prediction over the measured median; largest error {100 * max(errs):.0f}%, median {100 * _med(errs):.0f}%.", '',
        '## Time to reach the accuracy of the longest fixed run', '',
        "| method | time / longest fixed run's time (median over seeds) |", '|---|---|', reached, '',
        '## Each seed', '', delta_table(res), '',
        '## Pairs of methods', '', pair_table(res), '',
        "Paired by seed: each seed's Δ of A minus its Δ of B (the same items, split and initial weights). Separated: every "
        "seed puts the same method ahead; with 4 seeds that happens by chance for one pair in 8 (a two-sided sign test).", '',
        '## Time to reach the accuracy of each fixed-size run', '', reach_table(res), '',
        f"The {c['clock']} time at the end of the first epoch (of the method's run) whose accuracy reaches that seed's fixed run's, "
        "over the fixed run's time; median over the seeds that reach it.", ''] if has_fixed else []),
        *(['## Clock-driven fits (`fit_budget`) at each budget', '', budget_table(brows), '',
           "Wall / budget: the training call's wall seconds (the learner's setup for the fit, every epoch's validation "
           "included) over the budget given to `fit_budget`; medians and min-max over seeds.", ''] if brows else [])])

def plot(res):
    "Accuracy against time: the fixed-size curve as a line (seeds faint), each method's budgets as points with seed spread"
    import matplotlib.pyplot as plt
    c, rows = res['config'], summarize(res)
    key = c['clock'] + '_s'
    fig, ax = plt.subplots(figsize=(8, 5))
    fx = sorted((r for r in rows if r['method'] == 'fixed'), key=lambda r: r['t'])
    for s in sorted({r['seed'] for r in res['runs']}):
        pts = fixed_curve(res['runs'], s, key, 1 / res.get('n_classes', 10))[1:]
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], color='k', alpha=0.2, lw=1)
    if fx: ax.plot([r['t'] for r in fx], [100 * r['acc'] for r in fx], 'k-o', lw=2, label='fixed size (median)')
    for i, m in enumerate(dict.fromkeys(r['method'] for r in rows if r['method'] != 'fixed')):
        rs = [r for r in rows if r['method'] == m]
        ax.errorbar([r['t'] for r in rs], [100 * r['acc'] for r in rs], fmt='o', color=f'C{i}', capsize=3, ms=7,
                    xerr=[[r['t'] - r['t_min'] for r in rs], [r['t_max'] - r['t'] for r in rs]],
                    yerr=[[100 * (r['acc'] - r['acc_min']) for r in rs], [100 * (r['acc_max'] - r['acc']) for r in rs]],
                    label=LABELS.get(m, m))
    ax.set_xlabel(f"{c['clock']} time of the training call, s"); ax.set_ylabel('validation accuracy, %')
    ax.set_title(f"{res['preset']}: {c['arch']}, {c['sizes'][0]} -> {c['sizes'][-1]} px, {res['n_train']} images; "
                 f"medians, bars: min-max over seeds", fontsize=9)
    ax.grid(alpha=0.3); ax.legend(fontsize=8, loc='lower right'); fig.tight_layout()
    return fig
