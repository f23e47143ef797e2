#!/usr/bin/env python
"""Progressive resizing against fixed-size training at equal time, on real images (see benchmarks/README.md).

    python benchmarks/run.py --preset cpu       # 2000 Imagenette training images, 48 -> 96 px, 2 processes of one thread
    python benchmarks/run.py --preset cpu_small # all 4000 training images at 20 -> 40 px: the contrast
    python benchmarks/run.py --preset quick     # a few minutes: checks the command end to end
    python benchmarks/run.py --preset gpu       # xresnet50, 128 -> 224 px, on one GPU
    python benchmarks/run.py --report benchmarks/results/bench_cpu.json   # redraw the .md and .png only
    python benchmarks/run.py --self-test        # check the summaries on made-up runs
"""
import argparse, json, math, shlex, sys
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

def write_report(fname):
    "Write the .md and .png next to a bench_*.json; return the Markdown"
    import report
    fname = Path(fname)
    res = json.loads(fname.read_text())
    md = report.markdown(res)
    fname.with_suffix('.md').write_text(md)
    report.plot(res).savefig(fname.with_suffix('.png'), dpi=100)
    return md

def self_test():
    "The summaries on made-up runs whose answers are known"
    import report
    curve = [(0., .1), (10., .3), (20., .5), (40., .6)]
    assert report.interp(curve, 15.) == (.4, True) and report.interp(curve, 50.) == (.6, False)
    assert math.isclose(report.interp(curve, 30.)[0], .55)
    runs = [dict(method='fixed', arg=e, seed=s, cpu_s=10. * e, wall_s=11. * e, accuracy=a + s / 100, curve=[])
            for s in (0, 1) for e, a in ((1, .3), (2, .5), (4, .6))]
    runs += [dict(method='m', arg=b, seed=s, cpu_s=t, wall_s=t, accuracy=a + s / 100, curve=[])
             for s in (0, 1) for b, t, a in (('x', 15., .45), ('y', 30., .62))]
    assert report.time_to_reach([r for r in runs if r['method'] == 'm'], report._longest_fixed(runs, 'cpu_s'), 'cpu_s') == [.75, .75]
    plans = [dict(method='fixed', arg=e, schedule='', pixel_cost=1., predicted_s=10. * e) for e in (1, 2, 4)]
    plans += [dict(method='m', arg=b, schedule='', pixel_cost=.5, predicted_s=p) for b, p in (('x', 16.5), ('y', 27.))]
    res = dict(config=dict(clock='cpu'), runs=runs, plans=plans, n_classes=10)
    rows = {(r['method'], r['arg']): r for r in report.summarize(res)}
    assert math.isclose(rows['m', 'x']['d_acc'], .05) and math.isclose(rows['m', 'y']['d_acc'], .07)
    assert math.isclose(rows['m', 'x']['pred_ratio'], 1.1) and math.isclose(rows['m', 'y']['pred_ratio'], .9)
    assert rows['fixed', 2]['d_acc'] == 0 and rows['m', 'y']['inside']
    assert report.reach(res) == {'m': .75}
    d = report.seed_deltas(res)
    assert math.isclose(d['m', 'x'][0], .05) and math.isclose(d['m', 'y'][1], .07)
    assert '| m (x) | m (y) | -2.0 (-2.0 to -2.0) | 2 | B ahead in every seed |' in report.pair_table(res), report.pair_table(res)
    runs.append(dict(method='n', arg='z', seed=0, cpu_s=30., wall_s=30., accuracy=.52, curve=[]))  # one seed: no pair with it
    runs.append(dict(method='n', arg='z', seed=1, cpu_s=30., wall_s=30., accuracy=.75, curve=[]))  # ahead of m (y) in seed 1 only
    assert 'no: the seeds disagree' in report.pair_table(res)
    runs += [dict(method='c', arg=1, seed=s, cpu_s=40., wall_s=40., accuracy=.7,  # a curve that reaches fixed 1 and 2 at 12 s, fixed 4 at 32 s
                  curve=[dict(cpu_s=12., accuracy=.55), dict(cpu_s=32., accuracy=.65), dict(cpu_s=40., accuracy=.7)]) for s in (0, 1)]
    line = next(l for l in report.reach_table(res).splitlines() if l.startswith('| c |'))
    assert line == '| c | 1.20 (2 of 2 seeds) | 0.60 (2 of 2 seeds) | 0.80 (2 of 2 seeds) |', line  # 12 s for 10, 12 for 20, 32 for 40
    print('self-test passed')

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', default='cpu', help='cpu, peers, cpu_small, quick, budget or gpu')
    p.add_argument('--data', default=str(HERE.parent.parent/'shared'/'data'/'imagenette-160'),
                   help='ImageNet-style folder (train/<class>/*, val/<class>/*); default ../shared/data/imagenette-160')
    p.add_argument('--out', default=str(HERE/'results'), help='folder for bench_<preset>.json, .md and .png')
    p.add_argument('--seeds', type=int, help="seeds per schedule (the preset's: 3)")
    p.add_argument('--jobs', type=int, help="processes that take the runs in parallel (the preset's: 1, or 2 for cpu)")
    p.add_argument('--methods', nargs='+', help='methods to run (default: all of the preset)')
    p.add_argument('--report', metavar='JSON', help='train nothing: rewrite the .md and .png of a results file')
    p.add_argument('--append', metavar='JSON', help="add the preset's runs ((method, budget, seed)) that this results file "
                   'lacks, with its cost models, and rewrite it: adds methods or budgets, or resumes a run cut short')
    p.add_argument('--dry-run', action='store_true', help="the preset's code path made tiny, on the CPU, into a temporary "
                   'folder unless --out is given (about a minute: for CI)')
    p.add_argument('--self-test', action='store_true', help='check the summaries on made-up runs, train nothing')
    a = p.parse_args(argv)
    if a.self_test: return self_test()
    if a.report: return print(write_report(a.report))
    import bench
    if a.preset not in bench.PRESETS: p.error(f'--preset must be one of {sorted(bench.PRESETS)}, got {a.preset!r}')
    cfg = dict(bench.PRESETS[a.preset], name=a.preset, seeds=a.seeds or bench.PRESETS[a.preset]['seeds'])
    if a.jobs: cfg['jobs'] = a.jobs
    if a.dry_run:
        cfg = bench.dry_run(cfg)
        if a.out == p.get_default('out'):
            import tempfile
            a.out = tempfile.mkdtemp(prefix='bench_dry_')
    names = a.methods or list(cfg['budgets'])
    if a.dry_run and not Path(a.data).is_dir():  # CI without the images: drawn shapes, the same code path
        import tempfile
        from fastai_progresize.synth import make_shapes, SHAPES
        print(f'--data {a.data} not found: the dry run draws shapes instead')
        a.data = str(make_shapes(Path(tempfile.mkdtemp(prefix='bench_shapes_')), n_train=5, n_valid=2, size=64, shapes=SHAPES, ext='.jpg'))
        cfg.update(train_per_class=None, valid_per_class=None)  # 4 classes: all 20 training images, 2 batches of 8
    if not Path(a.data).is_dir(): p.error(f'--data {a.data} is not a folder: give an ImageNet-style folder of images')
    bad = set(names) - set(cfg['budgets'])
    if bad: p.error(f'--methods: {sorted(bad)} not in the preset; choose from {list(cfg["budgets"])}')
    prior = json.loads(Path(a.append).read_text()) if a.append else None
    out = Path(a.append).parent if a.append else Path(a.out)
    if prior and prior['preset'] != a.preset: p.error(f"--append {a.append} holds preset {prior['preset']!r}, not {a.preset!r}")
    out = Path(a.out) if a.dry_run else out
    res = bench.run_benchmark(cfg, a.data, out, 'python benchmarks/run.py ' + shlex.join(argv), names, prior=prior)
    print(write_report(out/f"bench_{res['preset']}.json"))
    if a.dry_run:  # every planned run trained and every size timed, or the dry run fails
        want = len(res['plans']) * cfg['seeds']
        if len(res['runs']) != want or not res['throughput']:
            sys.exit(f"dry run: {len(res['runs'])} of {want} runs, {len(res['throughput'])} sizes timed")
        print(f"dry run passed: {len(res['runs'])} runs in {out}")

if __name__ == '__main__': main()
