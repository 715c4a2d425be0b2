"""Pairing quality, fairness, speed and memory: mailbot's make_groups against baselines, in one run.

    python benchmarks/pairing.py [--quick] [--seed S] [--no-scale] [--no-exact]

The default run takes about 2.5 minutes on 2 cores; ``--quick`` (smaller scenarios, fewer rounds,
no 100,000) about 15 seconds. Nothing here asserts: it prints tables, then one line per target.

Every scenario is a seeded simulation of rounds. Each algorithm runs the same scenario (the same
people, organisations, joins, leaves, pauses and blocks) with its own history:

* **ours**: ``mailbot.core.pairing.make_groups``.
* **shuffle**: shuffle and pair neighbours; knows nothing (not even blocks).
* **greedy**: shuffled order, each person takes the first free person they never met and did not
  block, else the first they did not block.
* **exact**: the optimum of each round on the same cost function (``pairing.pair_cost``):
  ``networkx.max_weight_matching`` with weight BIG - cost over legal pairs and
  ``maxcardinality=True``, for n <= 201; skipped with a note when networkx is not installed
  (``pip install networkx``; a benchmark-only dependency, imported nowhere else).

The odd person is handled the same way for every algorithm: the trio's third seat is taken first
(fewest trio seats, random tie-break), the rest is paired, and the seat joins the pair where it
costs least. ``make_groups`` does the same, but below 21 people it searches the trio together
with the pairs, and above it tries 2-opt moves on the trio, so on odd pools it can beat "exact".

Scenarios: fixed cohorts of n = 10, 11, 20, 51 and 200 over n - 1 rounds (organisations of
Zipf-like sizes, 10 % unknown); churn (start at 100; each round every member leaves with 10 %,
about 10 new join and every member sits out with 20 %); skewed organisations, the largest holding
20 % or 60 % of the pool; 1 % of all pairs blocked.

Columns of the first table: **cost/rnd** the mean total cost of a round; **rep12** the share of
meetings (a trio is 3) between people who met within the last 12 rounds, **ever** at any time
before; **1st/(n-1)** the rounds before the first repeat over n - 1 ("+": no repeat in the run);
**same-org** same-organisation meetings over all rounds, beside **bound**, the sum over rounds of
max(0, 2L - n) / 2 (L the largest organisation among that round's n candidates); **viol** broken
hard rules (a blocked pair grouped, someone placed twice or lost, more than one trio, a trio with
an even number placed); **unm** people left unmatched over all rounds; **trio** max - min trio
seats over the people present at the end (newcomers start at 0); **ms/round** the mean time of a
call without tracemalloc; **peak MiB** tracemalloc's peak during a replay of the last round.

Histories drift apart, so the second table compares like with like: in ours' simulation, every
round is also solved exactly on the same inputs. **worse** counts rounds where ours cost more;
**cost gap** is ours' total cost over the optimum's; then both repeat rates and same-org counts.

The scale section builds 12 rounds of history (made by ``make_groups`` itself, as a running
service would) for n = 1,000, 10,000 and 100,000 candidates, with organisations whose largest
holds 20 % or 60 % of the pool, 5 % of people with no organisation and n / 10 blocked pairs, and
times the 13th round: **seconds** without tracemalloc, **peak MiB** with it (a replay), **RSS+**
how far the process's peak resident set (VmHWM, reset before the call) rose above its resident
set during the timed call (the process already holds the inputs: 600,000 ``met`` entries for
100,000 people). **repeat %** counts meetings between people who met in those 12 rounds.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.core.pairing import Candidate, Groups, make_groups, pair_cost  # noqa: E402

try:
    import networkx as nx
except ImportError:  # benchmark-only dependency
    nx = None

WINDOW = 12
BIG = 10**8  # exact: weight = BIG - cost, so every legal pair has a positive weight

Met = dict[frozenset[str], int]
Blocked = set[frozenset[str]]
Algorithm = Callable[[Sequence[Candidate], Met, Blocked, random.Random], Groups]


# --- the algorithms -----------------------------------------------------------------------------


def ours(cands: Sequence[Candidate], met: Met, blocked: Blocked, rng: random.Random) -> Groups:
    return make_groups(cands, met, blocked, rng, window=WINDOW)


def _cost_fn(cands: Sequence[Candidate], met: Met) -> Callable[[str, str], int]:
    org = {c.id: c.org for c in cands}

    def cost(a: str, b: str) -> int:
        same = bool(org[a]) and org[a] == org[b]
        return pair_cost(met.get(frozenset((a, b))), same, window=WINDOW)

    return cost


PairUp = Callable[
    [list[str], Met, Blocked, Callable[[str, str], int], random.Random], list[tuple[str, str]]
]


def _seat_first(pair_up: PairUp) -> Algorithm:
    """Wrap a pairing of an even pool: the trio seat first, then the cheapest pair takes it."""

    def run(cands: Sequence[Candidate], met: Met, blocked: Blocked, rng: random.Random) -> Groups:
        people = sorted(cands, key=lambda c: c.id)
        rng.shuffle(people)
        seat = None
        if len(people) % 2 and len(people) >= 3:
            seat = min(people, key=lambda c: c.trio_seats)  # first among the fewest
            people = [c for c in people if c is not seat]
        cost = _cost_fn(cands, met)
        pairs = pair_up([c.id for c in people], met, blocked, cost, rng)
        paired = {x for p in pairs for x in p}
        unmatched = [c.id for c in people if c.id not in paired]
        groups: list[tuple[str, ...]] = [tuple(p) for p in pairs]
        if seat is not None:
            best, where = math.inf, -1
            for k, (a, b) in enumerate(pairs):
                if frozenset((seat.id, a)) in blocked or frozenset((seat.id, b)) in blocked:
                    continue
                c = cost(seat.id, a) + cost(seat.id, b)
                if c < best:
                    best, where = c, k
            if where >= 0:
                groups[where] = (*pairs[where], seat.id)
            else:
                unmatched.append(seat.id)
        total = sum(
            cost(g[i], g[j]) for g in groups for i in range(len(g)) for j in range(i + 1, len(g))
        )
        return Groups(tuple(groups), tuple(unmatched), float(total))

    return run


@_seat_first
def shuffle(ids, met, blocked, cost, rng):  # type: ignore[no-untyped-def]
    return [(ids[k], ids[k + 1]) for k in range(0, len(ids) - 1, 2)]


@_seat_first
def greedy(ids, met, blocked, cost, rng):  # type: ignore[no-untyped-def]
    taken: set[str] = set()
    pairs = []
    for k, a in enumerate(ids):
        if a in taken:
            continue
        fallback = choice = None
        for b in ids[k + 1 :]:
            if b in taken or frozenset((a, b)) in blocked:
                continue
            fallback = fallback or b
            if frozenset((a, b)) not in met:
                choice = b
                break
        choice = choice or fallback
        if choice is None:
            continue
        taken.update((a, choice))
        pairs.append((a, choice))
    return pairs


def _make_exact() -> Algorithm | None:
    if nx is None:
        return None

    @_seat_first
    def exact(ids, met, blocked, cost, rng):  # type: ignore[no-untyped-def]
        graph = nx.Graph()
        graph.add_nodes_from(ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if frozenset((a, b)) not in blocked:
                    graph.add_edge(a, b, weight=BIG - cost(a, b))
        return [tuple(p) for p in nx.max_weight_matching(graph, maxcardinality=True)]

    return exact


# --- simulation ---------------------------------------------------------------------------------


@dataclass
class Tally:
    rounds: int = 0
    meetings: int = 0
    rep12: int = 0
    ever: int = 0
    first_repeat: int | None = None
    same: int = 0
    bound: float = 0.0
    violations: int = 0
    unmatched: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    peak: int = 0
    seats: Counter[str] = field(default_factory=Counter)
    trio_spread: int = 0
    # the exact optimum on the same inputs, round by round (ours only)
    ref_rounds: int = 0
    ref_cost: float = 0.0
    ref_meetings: int = 0
    ref_rep12: int = 0
    ref_ever: int = 0
    ref_same: int = 0
    worse: int = 0


@dataclass
class Scenario:
    name: str
    n: int
    rounds: int
    orgs: Callable[[random.Random, int], list[str]]
    churn: bool = False
    block_share: float = 0.0
    exact: bool = True


def zipf_orgs(rng: random.Random, n: int) -> list[str]:
    """About n/4 organisations of Zipf-like sizes, and 10 % of people with none."""
    count = max(2, n // 4)
    weights = [1 / (k + 1) for k in range(count)]
    return ["" if rng.random() < 0.1 else f"org{rng.choices(range(count), weights)[0]}"
            for _ in range(n)]  # fmt: skip


def skewed(share: float) -> Callable[[random.Random, int], list[str]]:
    """The largest organisation holds ``share`` of the pool; the rest are small (1 to 5)."""

    def orgs(rng: random.Random, n: int) -> list[str]:
        big = round(share * n)
        out = ["big"] * big
        k = 0
        while len(out) < n:
            size = min(rng.randint(1, 5), n - len(out))
            out += [f"small{k}"] * size
            k += 1
        rng.shuffle(out)
        return out

    return orgs


def check(groups: Groups, cands: Sequence[Candidate], blocked: Blocked) -> int:
    """Broken hard rules in one round's result."""
    bad = 0
    seen = Counter(x for g in groups.groups for x in g) + Counter(groups.unmatched)
    ids = {c.id for c in cands}
    bad += sum(k - 1 for k in seen.values() if k > 1) + len(ids - set(seen)) + len(set(seen) - ids)
    trios = [g for g in groups.groups if len(g) == 3]
    bad += max(0, len(trios) - 1) + sum(1 for g in groups.groups if len(g) not in (2, 3))
    placed = sum(len(g) for g in groups.groups)
    bad += int(bool(trios) and placed % 2 == 0)
    for g in groups.groups:
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                bad += frozenset((g[i], g[j])) in blocked
    return bad


def simulate(sc: Scenario, algo: Algorithm, seed: int, shadow: Algorithm | None = None) -> Tally:
    world = random.Random(seed)  # the scenario's own events: the same for every algorithm
    next_id = 0
    members: dict[str, str] = {}

    def join(count: int) -> None:
        nonlocal next_id
        for org in sc.orgs(world, count):
            pid = f"p{next_id}@example.org"
            members[pid] = org
            next_id += 1

    join(sc.n)
    blocked: Blocked = set()
    ids = sorted(members)
    if sc.block_share:
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if world.random() < sc.block_share:
                    blocked.add(frozenset((a, b)))
    last: dict[frozenset[str], int] = {}  # pair -> round of their last meeting
    tally = Tally()
    for rnd in range(1, sc.rounds + 1):
        if sc.churn and rnd > 1:  # each member leaves with 10 %, about 10 % join
            for pid in sorted(members):
                if world.random() < 0.1:
                    del members[pid]
            join(sum(world.random() < 0.1 for _ in range(sc.n)))
        present = sorted(members)
        paused = {pid for pid in present if sc.churn and world.random() < 0.2}
        cands = [Candidate(pid, members[pid], tally.seats[pid]) for pid in present
                 if pid not in paused]  # fmt: skip
        met = {pair: rnd - r for pair, r in last.items()}
        round_seed = world.randrange(2**32)
        start = time.perf_counter()
        result = algo(cands, met, blocked, random.Random(round_seed))
        tally.seconds += time.perf_counter() - start
        if shadow is not None:
            ref = shadow(cands, met, blocked, random.Random(round_seed))
            tally.ref_rounds += 1
            tally.ref_cost += ref.cost
            tally.worse += result.cost > ref.cost
            for g in ref.groups:
                for i in range(len(g)):
                    for j in range(i + 1, len(g)):
                        before = last.get(frozenset((g[i], g[j])))
                        tally.ref_meetings += 1
                        tally.ref_ever += before is not None
                        tally.ref_rep12 += before is not None and rnd - before <= WINDOW
                        tally.ref_same += bool(members[g[i]]) and members[g[i]] == members[g[j]]
        if rnd == sc.rounds:
            tally.peak = peak_of(algo, cands, met, blocked, random.Random(round_seed))
        tally.rounds += 1
        tally.violations += check(result, cands, blocked)
        tally.unmatched += len(result.unmatched)
        tally.cost += result.cost
        sizes = Counter(c.org for c in cands if c.org)
        largest = max(sizes.values(), default=0)
        tally.bound += max(0, 2 * largest - len(cands)) / 2
        repeated = False
        for g in result.groups:
            if len(g) == 3:
                tally.seats[g[2]] += 1
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    pair = frozenset((g[i], g[j]))
                    tally.meetings += 1
                    before = last.get(pair)
                    if before is not None:
                        tally.ever += 1
                        repeated = True
                        tally.rep12 += rnd - before <= WINDOW
                    if members[g[i]] and members[g[i]] == members[g[j]]:
                        tally.same += 1
                    last[pair] = rnd
        if repeated and tally.first_repeat is None:
            tally.first_repeat = rnd
    present = sorted(members)
    counts = [tally.seats[p] for p in present]
    tally.trio_spread = max(counts) - min(counts) if counts else 0
    return tally


def peak_of(algo: Algorithm, *args: object) -> int:
    """tracemalloc's peak during one call of ``algo``."""
    gc.collect()
    tracemalloc.start()
    try:
        algo(*args)  # type: ignore[arg-type]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _status_bytes(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(field_name)


def reset_peak_rss() -> int | None:
    """Reset the peak resident set (Linux: VmHWM) and return the current one; None if unable."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_bytes("VmRSS")
    except OSError:
        return None


def peak_rss() -> int:
    return _status_bytes("VmHWM")


# --- output -------------------------------------------------------------------------------------


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}" if whole else "-"


def row(cells: Sequence[object], widths: Sequence[int]) -> str:
    return "  ".join(str(c).rjust(w) if k > 1 else str(c).ljust(w)
                     for k, (c, w) in enumerate(zip(cells, widths, strict=True)))  # fmt: skip


SIM_HEAD = ["scenario", "algorithm", "rounds", "cost/rnd", "rep12 %", "ever %", "1st/(n-1)",
            "same-org", "bound", "viol", "unm", "trio", "ms/round", "peak MiB"]  # fmt: skip
SIM_W = [18, 9, 6, 8, 7, 6, 9, 8, 7, 4, 4, 4, 8, 8]


def sim_row(name: str, algo: str, sc: Scenario, t: Tally) -> str:
    first = t.first_repeat
    ratio = (first - 1 if first else t.rounds) / max(1, sc.n - 1)
    first_cell = "-" if sc.churn else f"{ratio:.2f}" + ("" if first else "+")
    return row([name, algo, t.rounds, f"{t.cost / t.rounds:.0f}", pct(t.rep12, t.meetings),
                pct(t.ever, t.meetings), first_cell, t.same, f"{t.bound:.1f}", t.violations,
                t.unmatched, t.trio_spread, f"{1000 * t.seconds / t.rounds:.1f}",
                f"{t.peak / 2**20:.2f}"], SIM_W)  # fmt: skip


def scenarios(quick: bool) -> list[Scenario]:
    sizes = (10, 11, 20, 51) if quick else (10, 11, 20, 51, 200)
    out = [Scenario(f"cohort n={n}", n, n - 1, zipf_orgs) for n in sizes]
    r = 12 if quick else 30
    out += [
        Scenario("churn n~100", 100, r, zipf_orgs, churn=True),
        Scenario("org 20% n=100", 100, r, skewed(0.2)),
        Scenario("org 60% n=100", 100, r, skewed(0.6)),
        Scenario("blocked 1% n=100", 100, r, zipf_orgs, block_share=0.01),
        Scenario("org 60% n=201", 201, r, skewed(0.6)),
    ]
    return out


REF_HEAD = ["scenario", "rounds", "worse", "cost gap %", "rep12 % ours", "exact", "ever % ours",
            "exact", "same-org ours", "exact"]  # fmt: skip
REF_W = [18, 6, 5, 10, 12, 6, 11, 6, 13, 6]


def run_simulations(quick: bool, seed: int, with_exact: bool) -> list[str]:
    exact = _make_exact() if with_exact else None
    algos: list[tuple[str, Algorithm | None]] = [
        ("ours", ours), ("shuffle", shuffle), ("greedy", greedy), ("exact", exact)
    ]  # fmt: skip
    print("Each algorithm with its own history:")
    print(row(SIM_HEAD, SIM_W))
    print(row(["-" * w for w in SIM_W], SIM_W))
    verdicts = []
    refs = []
    for k, sc in enumerate(scenarios(quick)):
        tallies: dict[str, Tally] = {}
        for name, algo in algos:
            if algo is None:
                continue
            shadow = exact if name == "ours" and sc.n <= 201 else None
            tallies[name] = t = simulate(sc, algo, seed + k, shadow)
            print(sim_row(sc.name, name, sc, t))
            sys.stdout.flush()
        o = tallies["ours"]
        own = same = "-"
        gaps = []
        if "exact" in tallies:
            e = tallies["exact"]
            gaps += [100 * (o.rep12 / o.meetings - e.rep12 / e.meetings),
                     100 * (o.ever / o.meetings - e.ever / e.meetings)]  # fmt: skip
            own = f"rep12 {gaps[-2]:+.2f} pp, ever {gaps[-1]:+.2f} pp"
        if o.ref_rounds:
            refs.append((sc, o))
            gaps += [100 * (o.rep12 - o.ref_rep12) / o.meetings,
                     100 * (o.ever - o.ref_ever) / o.meetings]  # fmt: skip
            same = f"rep12 {gaps[-2]:+.2f} pp, ever {gaps[-1]:+.2f} pp"
        ok = o.violations == 0 and all(gap <= 1.0 for gap in gaps)
        verdicts.append(f"{'ok  ' if ok else 'FAIL'} {sc.name}: {o.violations} violations; "
                        f"ours - exact: {own} (own histories), {same} (same inputs)")  # fmt: skip
    if refs:
        print()
        print("Ours against the exact optimum on the same inputs, round by round (ours' history;")
        print("'worse': rounds where ours cost more; gap: total cost over the optimum's):")
        print(row(REF_HEAD, REF_W))
        print(row(["-" * w for w in REF_W], REF_W))
        for sc, o in refs:
            gap = 100 * (o.cost - o.ref_cost) / o.ref_cost if o.ref_cost else 0.0
            print(row([sc.name, o.ref_rounds, o.worse, f"{gap:.2f}",
                       pct(o.rep12, o.meetings), pct(o.ref_rep12, o.ref_meetings),
                       pct(o.ever, o.meetings), pct(o.ref_ever, o.ref_meetings),
                       o.same, o.ref_same], REF_W))  # fmt: skip
    return verdicts


# --- scale --------------------------------------------------------------------------------------


def scale_case(n: int, share: float, seed: int, baselines: bool) -> list[str]:
    rng = random.Random(seed)
    orgs = skewed(share)(rng, n)
    orgs = ["" if rng.random() < 0.05 else o for o in orgs]
    ids = [f"p{i}@example.org" for i in range(n)]
    org = dict(zip(ids, orgs, strict=True))
    blocked: Blocked = set()
    while len(blocked) < n // 10:
        a, b = rng.sample(ids, 2)
        blocked.add(frozenset((a, b)))
    cands = [Candidate(pid, org[pid], rng.randrange(3)) for pid in ids]
    # 12 rounds of history, made by make_groups itself: the steady state of a running service
    last: dict[frozenset[str], int] = {}
    for rnd in range(WINDOW):
        met = {pair: rnd - r for pair, r in last.items()}
        for g in make_groups(cands, met, blocked, random.Random(rng.randrange(2**32))).groups:
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    last[frozenset((g[i], g[j]))] = rnd
    met = {pair: WINDOW - r for pair, r in last.items()}
    del last
    sizes = Counter(o for o in orgs if o)
    bound = max(0, 2 * max(sizes.values()) - n) / 2
    lines = []
    algos: list[tuple[str, Algorithm]] = [("ours", ours)]
    if baselines:
        algos += [("shuffle", shuffle), ("greedy", greedy)]
    for name, algo in algos:
        gc.collect()
        rss_before = reset_peak_rss()
        start = time.perf_counter()
        result = algo(cands, met, blocked, random.Random(seed))
        seconds = time.perf_counter() - start
        rss_rise = "-" if rss_before is None else f"{(peak_rss() - rss_before) / 2**20:.0f}"
        peak = peak_of(algo, cands, met, blocked, random.Random(seed))
        meetings = repeats = same = 0
        for g in result.groups:
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    meetings += 1
                    repeats += frozenset((g[i], g[j])) in met
                    same += bool(org[g[i]]) and org[g[i]] == org[g[j]]
        viol = check(result, cands, blocked)
        lines.append(row([f"n={n:,} org {share:.0%}", name, f"{len(met):,}", f"{seconds:.2f}",
                          f"{peak / 2**20:.0f}", rss_rise,
                          pct(repeats, meetings), same, f"{bound:.0f}", viol,
                          len(result.unmatched)], SCALE_W))  # fmt: skip
        print(lines[-1])
        sys.stdout.flush()
        if name == "ours":
            yield_verdicts(n, seconds, peak, repeats, meetings, same, bound, viol)
    return lines


SCALE_HEAD = ["case", "algorithm", "met", "seconds", "peak MiB", "RSS+ MiB", "repeat %",
              "same-org", "bound", "viol", "unm"]  # fmt: skip
SCALE_W = [20, 9, 9, 7, 8, 8, 8, 8, 7, 4, 4]
SCALE_VERDICTS: list[str] = []


def yield_verdicts(n: int, seconds: float, peak: int, repeats: int, meetings: int, same: int,
                   bound: float, viol: int) -> None:  # fmt: skip
    def say(ok: bool, text: str) -> None:
        SCALE_VERDICTS.append(f"{'ok  ' if ok else 'FAIL'} n={n:,}: {text}")

    rate = 100 * repeats / meetings
    say(rate < 0.1, f"repeat rate {rate:.3f} % (target < 0.1 %)")
    excess = same - bound
    say(excess <= 0.01 * max(bound, 1), f"same-org {same} vs bound {bound:.0f} (target within 1 %)")
    say(viol == 0, f"{viol} hard-rule violations")
    if n >= 100_000:
        say(seconds < 10, f"{seconds:.2f} s (target < 10 s)")
        say(peak < 2**30, f"peak {peak / 2**20:.0f} MiB (target < 1 GiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller scenarios, no 100k")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-scale", action="store_true", help="skip the scale section")
    parser.add_argument("--no-exact", action="store_true", help="skip the networkx optimum")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"Python {sys.version.split()[0]}, seed {args.seed}"
          f"{', quick' if args.quick else ''}")  # fmt: skip
    if nx is None and not args.no_exact:
        print("note: networkx is not installed: no 'exact' rows (pip install networkx)")
    print()
    verdicts = run_simulations(args.quick, args.seed, not args.no_exact)
    if not args.no_scale:
        print()
        print(row(SCALE_HEAD, SCALE_W))
        print(row(["-" * w for w in SCALE_W], SCALE_W))
        sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)
        for n in sizes:
            for share in (0.2, 0.6):
                scale_case(n, share, args.seed, baselines=n <= 10_000)
    print()
    for line in verdicts + SCALE_VERDICTS:
        print(line)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
