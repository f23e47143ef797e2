#!/usr/bin/env python
"""Benchmark progressive resizing against fixed-size training and the book's manual recipe, on real images.

    python benchmarks/run.py --preset cpu                 # about 15 minutes on 2 CPU cores
    python benchmarks/run.py --preset gpu --max-minutes 5  # one GPU
    python benchmarks/run.py --preset smoke                # a minute or two: checks that everything runs
    python benchmarks/run.py --report benchmarks/results/bench_cpu.json   # redraw the table and plot only

Writes benchmarks/results/bench_<preset>.json, .md and .png (see benchmarks/README.md).
"""
import argparse, shlex, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', choices=sorted(bench.PRESETS), default='cpu', help='settings to start from')
    p.add_argument('--data', default=str(bench.REPO.parent/'shared'/'data'/'imagenette-160'),
                   help='ImageNet-style folder (train/<class>/*, val/<class>/*); default ../shared/data/imagenette-160')
    p.add_argument('--out', default=str(bench.HERE/'results'), help='folder for the results')
    p.add_argument('--seeds', type=int, help='seeds per method (at least 3 for a median with spread)')
    p.add_argument('--max-minutes', type=float, help='stop starting new seeds once this would be passed')
    p.add_argument('--num-workers', type=int, help='DataLoader workers (preset: cpu 0, gpu fastai default)')
    p.add_argument('--train-per-class', type=int, help='training images per class (preset: cpu 100, gpu all)')
    p.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s; 1 is steadier on a shared machine)')
    p.add_argument('--methods', nargs='+', choices=bench.METHODS, help='methods to run (default all)')
    p.add_argument('--name', help='results file name: bench_<name>.* (default: the preset)')
    p.add_argument('--report', metavar='JSON', help='train nothing: rewrite the .md table and .png plot of a results file')
    a = p.parse_args(argv)
    if a.report:
        print(bench.report(a.report))
        return
    cfg = dict(bench.PRESETS[a.preset], name=a.name or a.preset, preset=a.preset)
    for k in ('seeds', 'max_minutes', 'num_workers', 'train_per_class', 'threads'):
        if getattr(a, k) is not None: cfg[k] = getattr(a, k)
    data = Path(a.data)
    if not data.is_dir(): p.error(f"--data {data} is not a folder: give an ImageNet-style folder of images")
    command = 'python benchmarks/run.py ' + ' '.join(shlex.quote(o) for o in argv)
    bench.run_benchmark(cfg, data, a.out, command.strip(), methods=a.methods or bench.METHODS)

if __name__ == '__main__': main()
