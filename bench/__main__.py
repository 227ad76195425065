"""Run every benchmark module (bench/bench_*.py) and print its figures.

`python -m bench` runs them all; `python -m bench sip csta` runs the named ones.
Set BENCH_SCALE=smoke for tiny counts (the test suite does this so the harness
cannot rot); figures are printed, never asserted.
"""
import importlib
import pathlib
import sys


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).parent
    names = sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))
    wanted = argv or names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in wanted:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name} ==")
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
