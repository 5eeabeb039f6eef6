"""gemm_rounds.py: the bookkeeping shared by scripts/gemm_ab.sh and scripts/gemm_blas.sh. Collects
GEMM tables (rows with "shape", "m", "n", "k", "gflops", as `clmnist bench --json` and
`torch_bench.py --gemm` write them) from alternating rounds, one column per configuration, and gives
the median GFLOP/s of every shape and of the whole step (total flops / total time of a round)."""
import statistics


class Rounds:
    def __init__(self, cols):
        self.shapes = []
        self.rate = {c: {} for c in cols}

    def add(self, col, rows):
        """One round of column `col`: every shape's GFLOP/s and the whole step's."""
        flops = secs = 0.0
        for g in rows:
            key = (g["shape"], g["m"], g["n"], g["k"])
            if key not in self.shapes:
                self.shapes.append(key)
            f = 2.0 * g["m"] * g["n"] * g["k"]
            flops, secs = flops + f, secs + f / (g["gflops"] * 1e9)
            self.rate[col].setdefault(key, []).append(g["gflops"])
        self.rate[col].setdefault("whole step", []).append(flops / secs / 1e9)

    def medians(self):
        """(name, (m, n, k), [median per column]) for every shape, then the whole step (blank dims)."""
        for key in self.shapes + ["whole step"]:
            name, dims = (key, ("", "", "")) if isinstance(key, str) else (key[0], key[1:])
            yield name, dims, [statistics.median(r[key]) for r in self.rate.values()]
