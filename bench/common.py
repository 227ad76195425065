"""Small helpers shared by the benchmark modules."""
import os
import statistics
import time


def scale(full: int, smoke: int = 10) -> int:
    """Iteration count: `full` normally, `smoke` when BENCH_SCALE=smoke."""
    return smoke if os.environ.get("BENCH_SCALE") == "smoke" else full


def rate(label: str, func, iterations: int) -> float:
    """Run func() `iterations` times; print and return calls per second."""
    start = time.perf_counter()
    for _ in range(iterations):
        func()
    elapsed = time.perf_counter() - start
    per_second = iterations / elapsed if elapsed > 0 else float("inf")
    print(f"{label:<48} {per_second:>12,.0f} /s  ({iterations} in {elapsed:.3f} s)")
    return per_second


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 of a list of durations (seconds)."""
    ordered = sorted(samples)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 99
    return {"p50": q[49], "p95": q[94], "p99": q[98]}
