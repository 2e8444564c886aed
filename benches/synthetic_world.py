#!/usr/bin/env python3
"""Writes a synthetic yearly world for scale measurements: N economies x S sectors x Y years
(default 150 x 20 x 10, the case of benches/README.md "Scale"), reproducible from a seed.

Usage: synthetic_world.py OUT_DIR [--economies N] [--sectors S] [--years Y] [--seed K]

OUT_DIR/world.csv is base-year data in the gegravity layout (exporter,importer,year,trade,Y,E;
domestic pairs included), OUT_DIR/world.toml a scenario over it: costs observed, years 2021
to 2021 + Y - 1, S sectors of equal share, routes into C000 through C001..C003 from every
other economy, a coalition (C004..C013) prohibiting exports of sector s00 to C000 from 2022
and taxing the others by 15%, an evasion channel via C001 from 2022. Flows follow the
structural-gravity prediction Y_i E_j t_ij / Y of economies at random points of a unit
square (distance elasticity -0.39 and border effect -3.41 of t^(1-sigma), the gegravity
sample's estimates), with log-normal sizes; no Python package is needed.

    python3 benches/synthetic_world.py /tmp/w150
    /usr/bin/time -v target/release/tradeflow run /tmp/w150/world.toml --out /tmp/w150/out -q
"""

import math
import os
import random
import sys


def arg(name, default):
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("--"):
        sys.exit(__doc__)
    out = sys.argv[1]
    n = arg("--economies", 150)
    sectors = arg("--sectors", 20)
    years = arg("--years", 10)
    rng = random.Random(arg("--seed", 20240601))
    if n < 14:
        sys.exit("--economies must be at least 14 (target, three hubs, a coalition of ten)")
    if sectors < 2:
        sys.exit("--sectors must be at least 2 (one prohibited, the others taxed)")
    os.makedirs(out, exist_ok=True)
    codes = [f"C{i:03d}" for i in range(n)]
    pos = [(rng.random(), rng.random()) for _ in range(n)]
    size = [math.exp(1.5 * (sum(rng.random() for _ in range(12)) - 6.0)) * 100.0 for _ in range(n)]
    world = sum(size)

    def cost(i, j):
        if i == j:
            return math.exp(-0.3898623 * math.log(1e-4))
        d = max(math.dist(pos[i], pos[j]), 1e-3)
        return math.exp(-0.3898623 * math.log(d) - 3.412584)

    trade = [[size[i] * size[j] * cost(i, j) / world for j in range(n)] for i in range(n)]
    rows = [sum(r) for r in trade]
    cols = [sum(trade[i][j] for i in range(n)) for j in range(n)]
    with open(os.path.join(out, "world.csv"), "w") as f:
        f.write("exporter,importer,year,trade,Y,E\n")
        for i in range(n):
            for j in range(n):
                f.write(f"{codes[i]},{codes[j]},2021,{trade[i][j]:.10g},{rows[i]:.10g},{cols[j]:.10g}\n")
    names = [f"s{k:02d}" for k in range(sectors)]
    # Equal shares that add up to exactly 1: the last sector takes the rest.
    share = [round(1.0 / sectors, 12)] * sectors
    share[-1] = 1.0 - sum(share[:-1])
    hubs = codes[1:4]
    coalition = codes[4:14]
    toml = [
        "# Synthetic yearly world written by benches/synthetic_world.py (see its docs).",
        f'name = "synthetic_{n}x{sectors}x{years}"',
        'reference_importer = "C000"',
        "",
        "[data]",
        'path = "world.csv"',
        "year = 2021",
        "",
        "[costs]",
        'method = "observed"',
        "",
        "[years]",
        "base = 2021",
        f"horizon = {2021 + years - 1}",
        "adjustment = 0.6",
        "",
        "[groups]",
        "COALITION = [" + ", ".join(f'"{c}"' for c in coalition) + "]",
        "",
    ]
    for name, s in zip(names, share):
        toml += ["[[sectors]]", f'name = "{name}"', "sigma = 5.0", f"share = {{ default = {s!r} }}", ""]
    toml += [
        "[routes]",
        'form = "detour"',
        "theta = 4.0",
        'target = "C000"',
        "intermediaries = [" + ", ".join(f'"{c}"' for c in hubs) + "]",
        "premium = 6.0",
        "recorded_share = { " + ", ".join(f"{c} = 0.5" for c in hubs) + " }",
        "",
        "[[instruments]]",
        'id = "controls"',
        'kind = "export_controls"',
        "start = 2022",
        'exporters = ["COALITION"]',
        'importers = ["C000"]',
        f'sectors = ["{names[0]}"]',
        "prohibitive = true",
        "",
        "[[instruments]]",
        'id = "sanctions_other"',
        'kind = "export_controls"',
        "start = 2022",
        'exporters = ["COALITION"]',
        'importers = ["C000"]',
        "sectors = [" + ", ".join(f'"{s}"' for s in names[1:]) + "]",
        "percent = 15",
        "",
        "[[instruments]]",
        'id = "evasion"',
        'kind = "evasion_channel"',
        "start = 2022",
        "phase_in = 2",
        f'via = ["{hubs[0]}"]',
        'origins = ["COALITION"]',
        "premium = 1.6",
        "",
    ]
    with open(os.path.join(out, "world.toml"), "w") as f:
        f.write("\n".join(toml))
    print(f"wrote {out}/world.csv ({n * n} rows) and {out}/world.toml "
          f"({n} economies, {sectors} sectors, {years} years)")


if __name__ == "__main__":
    main()
