"""Who meets whom in a round: pairs and at most one trio, chosen by cost rather than by rules alone.

``make_groups(candidates, met, blocked, rng)`` returns groups whose total cost is as low as we can
find. Nothing here does I/O or reads a clock. Randomness is an argument (``random.Random(seed)``
satisfies ``Rng``): the caller owns the seed and stores it with the round, so the same inputs and
the same seed give the same groups, whatever ``PYTHONHASHSEED`` is. Candidates are sorted by id and
then shuffled by ``rng``; every later tie is broken by that shuffled position, never by hash order.

**Costs of one pair** (a trio costs the sum of its three pairs; the parts add up):

==========================================  =======================================================
the pair ...                                cost
==========================================  =======================================================
never met, different organisations          0
met more than ``window`` rounds ago         +10: a fresh pair is preferred, but only a little
is from the same organisation               +100: less than any repeat inside the window (up to 9
                                            same-organisation pairs cost less than one repeat)
met k rounds ago, 2 <= k <= ``window``      +1000 + 50 * (window - k): 1500 for k = 2 down to 1000
                                            for k = window, so older is cheaper, yet two repeats
                                            (>= 2000) always cost more than one (<= 1500)
met last round (k = 1)                      +1,000,000: a last resort, dearer than 666 repeats
is blocked                                  never formed; a hard rule, not a cost
==========================================  =======================================================

An unknown organisation (``""``) never counts as the same. Those numbers live in the constants
below and in ``pair_cost``, which the benchmark uses too.

**Placement.** Everyone is placed exactly once, in pairs plus one trio when the number placed is
odd; never more than one trio. Only when blocks leave no legal way to place someone do they land
in ``unmatched`` (a lone candidate too). The trio's third seat goes to the candidate with the
fewest ``trio_seats`` (the shuffle breaks ties); only if blocks make that impossible does it pass to
the next. A trio is returned as ``(a, b, seat)``: the seat is last and is also in
``Groups.trio_seat``. Groups are sorted, members of a pair too, so output order says nothing.

**Search.** Up to ``EXACT_MAX`` (20) candidates, an exact search over all placements: dynamic
programming over the sets of people still to place, always placing the lowest-numbered one, so
only about 11,000 of the 2^20 sets are ever reached. Up to ``EXACT_LEAVE_OUT_MAX`` (12) it also
settles exactly who must be left out; from 13 to 20, a pool that cannot place everyone goes to
the heuristic below.

Larger pools: the trio seat is taken first and the others are paired by a heuristic. The first
pairing is cross-organisation wherever sizes allow (sort by organisation, largest first, pair
position i with i + n/2; this meets the lower bound of ``max(0, 2L - n) / 2`` same-organisation
pairs, L the largest organisation). Then every pair that costs anything is repaired: 2-opt
exchanges with other pairs and, up to ``DENSE_MAX`` candidates, a breadth-first search for an
improving alternating cycle through cheaper edges (augmenting-path repair in the "fresh" graph).
Large pools sample the exchange partners and scan them all for any repeat left. People whose pair
stayed blocked are paired again by Edmonds' augmenting paths with blossoms (the largest possible
number of pairs, up to ``AUGMENT_MAX``). The seat joins the pair where it costs least (or passes
on if blocks leave it nowhere), and a last 2-opt pass runs over the trio. If anyone is still left
out in a pool of up to ``TRIANGLE_MAX``, other trios are tried (or none) in case they place more.
Beyond 12 candidates "left out only when forced" is therefore a search, not a proof; the tests
compare it with brute force on heavily blocked pools of 13 to 16.

``benchmarks/pairing.py`` compares all this with the exact optimum (networkx, benchmark only) on
the same costs, round by round, and times 100,000 candidates (about 1.5 s, 90 MiB on 2 cores).
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

FRESH = 0
STALE = 10
SAME_ORG = 100
REPEAT = 1_000
REPEAT_STEP = 50
LAST_ROUND = 1_000_000

EXACT_MAX = 20  # exact search up to this many candidates, when nobody must be left out
EXACT_LEAVE_OUT_MAX = 12  # exact search of who must be left out, up to this many
DENSE_MAX = 400  # full exchange neighbourhoods and the cycle search up to this many
SAMPLES = 40  # exchange partners drawn per costly pair above DENSE_MAX
SWEEPS = 8  # repair sweeps at most (each one only ever lowers the cost)
AUGMENT_MAX = 2_000  # Edmonds' augmenting paths for people left single, up to this many
TRIANGLE_MAX = 64  # when people are still left out, try other trios up to this many people
TRIANGLE_TRIES = 200

_BLOCKED = 10**15  # internal: a pair costing this much or more is never formed
_UNPLACED = 10**13  # exact search: one person left out outweighs any set of groups
_IMPOSSIBLE = 10**18


class Rng(Protocol):
    """The randomness ``make_groups`` needs; ``random.Random(seed)`` has it."""

    def shuffle(self, x: list[Any], /) -> None: ...

    def randrange(self, stop: int, /) -> int: ...


@dataclass(frozen=True)
class Candidate:
    id: str  # email
    org: str  # "" = unknown (never counts as the same organisation)
    trio_seats: int = 0  # times this person has been the third seat of a trio before


@dataclass(frozen=True)
class Groups:
    groups: tuple[tuple[str, ...], ...]  # pairs, and at most one trio (seat last)
    unmatched: tuple[str, ...]  # only when blocks leave no legal place
    cost: float
    trio_seat: str | None = None


def repeat_cost(rounds_ago: int | None, *, window: int = 12) -> int:
    """The part of a pair's cost that comes from when they last met (None: never)."""
    if rounds_ago is None:
        return FRESH
    if rounds_ago <= 1:
        return LAST_ROUND
    if rounds_ago <= window:
        return REPEAT + REPEAT_STEP * (window - rounds_ago)
    return STALE


def pair_cost(rounds_ago: int | None, same_org: bool, *, window: int = 12) -> int:
    """The cost of pairing two people (see the table in the module docstring)."""
    return repeat_cost(rounds_ago, window=window) + (SAME_ORG if same_org else 0)


Met = Mapping[frozenset[str], int] | Iterable[tuple[str, str, int]]


def _meetings(met: Met) -> Iterator[tuple[str, str, int]]:
    """(a, b, rounds ago) from a mapping of pairs, or as given: a store streams them, so a
    million members' history is never held as a million pairs (frozensets: 3 GB)."""
    if not isinstance(met, Mapping):
        yield from met
        return
    for pair, ago in met.items():
        if len(pair) == 2:
            a, b = pair
            yield a, b, ago


def make_groups(
    candidates: Sequence[Candidate],
    met: Met,
    blocked: Collection[frozenset[str]],
    rng: Rng,
    *,
    window: int = 12,
) -> Groups:
    """Pairs (and one trio when the count is odd) of low total cost; see the module docstring."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    pool = _Pool(candidates, met, blocked, rng, window)
    n = len(pool.ids)
    found = None
    if n <= EXACT_MAX:
        found = _solve_exact(pool, leave_out=n <= EXACT_LEAVE_OUT_MAX)
    if found is None and n <= EXACT_LEAVE_OUT_MAX:
        found = _solve_exact(pool, leave_out=True)
    if found is None:
        found = _solve_heuristic(pool, rng)
    return pool.result(*found)


_BLOCK_CODE = 255  # in `_History`: the pair is blocked (any other code: rounds ago)


def _positions(index: Mapping[str, int], met: Met, blocked: Collection[frozenset[str]]
               ) -> Iterator[tuple[int, int, int]]:  # fmt: skip
    """Meetings and blocks as (i, j, code) between candidates' positions."""
    get = index.get
    for a, b, ago in _meetings(met):
        i, j = get(a), get(b)
        if i is not None and j is not None and i != j:
            yield i, j, min(max(ago, 1), _BLOCK_CODE - 1)
    for pair in blocked:
        if len(pair) == 2:
            a, b = pair
            i, j = get(a), get(b)
            if i is not None and j is not None and i != j:
                yield i, j, _BLOCK_CODE


class _History:
    """What each pair's history costs (`get`: 0 for never met), in flat arrays: each person's
    partners lie together in ``partners[start[i]:start[i + 1]]`` with their codes beside them.
    A million people's twelve rounds take about 60 MB, where a dict each took 600."""

    def __init__(self, n: int, window: int, pairs: Iterable[tuple[int, int, int]]) -> None:
        by_age = [repeat_cost(k, window=window) for k in range(window + 2)]  # window+1: stale
        self.costs = [by_age[min(k, window + 1)] for k in range(_BLOCK_CODE)] + [_BLOCKED]
        firsts, seconds, codes = array("i"), array("i"), array("B")
        for i, j, code in pairs:
            firsts.append(i)
            seconds.append(j)
            codes.append(code)
        start = array("q", bytes(8 * (n + 1)))  # each person's count, then where they start
        for i in itertools.chain(firsts, seconds):
            start[i + 1] += 1
        for i in range(n):
            start[i + 1] += start[i]
        free = array("q", start)  # where each person's next partner goes
        self.partners = array("i", bytes(4 * len(firsts) * 2))
        self.codes = array("B", bytes(len(firsts) * 2))
        for i, j, code in zip(firsts, seconds, codes, strict=True):
            for a, b in ((i, j), (j, i)):
                at = free[a]
                self.partners[at] = b
                self.codes[at] = code
                free[a] = at + 1
        self.start = start

    def get(self, i: int, j: int) -> int:
        """The cost of i and j's history: the latest meeting's, or _BLOCKED; 0 if none."""
        lo, hi = self.start[i], self.start[i + 1]
        row = self.partners[lo:hi]
        if j not in row:
            return 0
        if row.count(j) == 1:
            return self.costs[self.codes[lo + row.index(j)]]
        return max(self.costs[self.codes[lo + k]] for k, x in enumerate(row) if x == j)


class _Pool:
    """Candidates by position in the shuffled order, with every pair's cost one lookup away."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        met: Met,
        blocked: Collection[frozenset[str]],
        rng: Rng,
        window: int,
    ) -> None:
        people = sorted(candidates, key=lambda c: c.id)
        for before, after in zip(people, people[1:], strict=False):
            if before.id == after.id:
                raise ValueError(f"candidate {after.id!r} appears twice")
        rng.shuffle(people)
        n = len(people)
        self.ids = [c.id for c in people]
        self.seats = [c.trio_seats for c in people]
        index = {cid: i for i, cid in enumerate(self.ids)}
        orgs: dict[str, int] = {}
        # An unknown organisation gets an id of its own (negative), so it never matches.
        self.org = [orgs.setdefault(c.org, len(orgs)) if c.org else -1 - i
                    for i, c in enumerate(people)]  # fmt: skip
        self.hist = _History(n, window, _positions(index, met, blocked))
        # Who takes the trio's third seat first: fewest seats, then shuffled position.
        self.seat_order = sorted(range(n), key=self.seats.__getitem__)

    def cost(self, i: int, j: int) -> int:
        c = self.hist.get(i, j)
        return c + SAME_ORG if self.org[i] == self.org[j] else c

    def legal(self, i: int, j: int) -> bool:
        return self.hist.get(i, j) < _BLOCKED

    def result(
        self, pairs: list[tuple[int, int]], trio: tuple[int, int, int] | None, unmatched: list[int]
    ) -> Groups:
        ids, cost = self.ids, self.cost
        total = sum(cost(a, b) for a, b in pairs)
        groups = [tuple(sorted((ids[a], ids[b]))) for a, b in pairs]
        seat = None
        if trio is not None:
            a, b, t = trio
            total += cost(a, b) + cost(a, t) + cost(b, t)
            seat = ids[t]
            groups.append((*sorted((ids[a], ids[b])), seat))
        groups.sort()
        return Groups(tuple(groups), tuple(sorted(ids[i] for i in unmatched)), float(total), seat)


# --- exact, for small pools ---------------------------------------------------------------------


Placement = tuple[list[tuple[int, int]], tuple[int, int, int] | None, list[int]]


def _solve_exact(pool: _Pool, leave_out: bool) -> Placement | None:
    """The best placement, found by dynamic programming over the sets of people still to place.

    Placements compare by (people left out, the seat's place in the seat order, cost); among
    equals the first found wins, and the search runs in the shuffled order. Each step places
    the lowest person still to place, so only a few of the 2^n sets are ever reached (about
    11,000 for n = 20) unless people may be left out (``leave_out``), when all of them are.
    Without ``leave_out``, None means that nobody can be left out: the caller decides.
    """
    n = len(pool.ids)
    cost = pool.cost
    c = [[cost(i, j) if i != j else _BLOCKED for j in range(n)] for i in range(n)]
    alone = _UNPLACED if leave_out else _IMPOSSIBLE
    pairs_memo: dict[int, tuple[int, int]] = {}  # mask -> (value, partner of lowest; -1: out)

    def pairs(mask: int) -> int:
        """Least value placing ``mask`` in pairs."""
        if mask == 0:
            return 0
        known = pairs_memo.get(mask)
        if known is not None:
            return known[0]
        i = (mask & -mask).bit_length() - 1
        rest = mask ^ (1 << i)
        best, choice = alone + pairs(rest) if leave_out else _IMPOSSIBLE, -1
        ci = c[i]
        others = rest
        while others:
            low = others & -others
            others ^= low
            j = low.bit_length() - 1
            if ci[j] < _BLOCKED:
                value = ci[j] + pairs(rest ^ low)
                if value < best:
                    best, choice = value, j
        pairs_memo[mask] = (best, choice)
        return best

    def with_seat(t: int) -> tuple[int, dict[int, tuple[int, int]]]:
        """Least value when ``t`` joins one of the pairs as the trio's third seat."""
        memo: dict[int, tuple[int, int]] = {}
        ct = c[t]

        def go(mask: int) -> int:  # t is still to place; once placed, the rest is pairs()
            if mask == 0:
                return _IMPOSSIBLE
            known = memo.get(mask)
            if known is not None:
                return known[0]
            i = (mask & -mask).bit_length() - 1
            rest = mask ^ (1 << i)
            best, choice = alone + go(rest) if leave_out else _IMPOSSIBLE, -1
            ci = c[i]
            others = rest
            while others:
                low = others & -others
                others ^= low
                j = low.bit_length() - 1
                if ci[j] >= _BLOCKED:
                    continue
                value = ci[j] + go(rest ^ low)
                if value < best:
                    best, choice = value, j
                if ct[i] < _BLOCKED and ct[j] < _BLOCKED:
                    value = ci[j] + ct[i] + ct[j] + pairs(rest ^ low)
                    if value < best:
                        best, choice = value, n + j  # n + j: i and j take t in
            memo[mask] = (best, choice)
            return best

        return go(((1 << n) - 1) ^ (1 << t)), memo

    def left_out(value: int) -> int:
        return value // _UNPLACED if value < _IMPOSSIBLE else n + 1

    full = (1 << n) - 1
    value = pairs(full)
    seat, seat_value, seat_memo = -1, _IMPOSSIBLE, {}
    if n >= 3 and left_out(value) > 0 and (leave_out or n % 2):
        fewest = 1 - n % 2  # the fewest that can be left out when the number placed is odd
        for t in pool.seat_order:
            v, memo = with_seat(t)
            if left_out(v) < left_out(seat_value):
                seat, seat_value, seat_memo = t, v, memo
            if left_out(seat_value) == fewest:
                break
    if min(left_out(value), left_out(seat_value)) > n:
        return None

    placed: list[tuple[int, int]] = []
    out: list[int] = []
    trio = None
    mask = full
    if left_out(seat_value) < left_out(value):
        mask ^= 1 << seat
        while trio is None:
            i = (mask & -mask).bit_length() - 1
            choice = seat_memo[mask][1]
            if choice < 0:
                out.append(i)
                mask ^= 1 << i
            elif choice >= n:
                trio = (i, choice - n, seat)
                mask ^= (1 << i) | (1 << (choice - n))
            else:
                placed.append((i, choice))
                mask ^= (1 << i) | (1 << choice)
    while mask:
        pairs(mask)  # known already, except where the trio's branch left off
        i = (mask & -mask).bit_length() - 1
        choice = pairs_memo[mask][1]
        if choice < 0:
            out.append(i)
            mask ^= 1 << i
        else:
            placed.append((i, choice))
            mask ^= (1 << i) | (1 << choice)
    return placed, trio, out


# --- heuristic, for larger pools ----------------------------------------------------------------


def _solve_heuristic(pool: _Pool, rng: Rng) -> Placement:
    n = len(pool.ids)
    seat = pool.seat_order[0] if n % 2 else -1
    members = [i for i in range(n) if i != seat]
    mate = _first_pairing(pool, members)
    _repair(pool, members, mate, rng)

    cost = pool.cost
    everyone = list(range(n))
    # Pairs that are still blocked could not be repaired: their people are single for now.
    broken = [i for i in members if cost(i, mate[i]) >= _BLOCKED]
    if broken:
        for i in broken:
            mate[i] = -1
        _place_singles(pool, members, mate)
        _repair(pool, [i for i in members if mate[i] >= 0], mate, rng)

    trio = None
    if seat >= 0:
        if any(mate[i] < 0 for i in members):
            _place_singles(pool, everyone, mate)  # as one more person to pair, it may help
        else:
            trio = _seat_trio(pool, everyone, mate, seat)
    if trio is None:
        # People left over: one of them may still fit as a trio's third seat.
        for s in pool.seat_order:
            if mate[s] < 0:
                trio = _seat_trio(pool, everyone, mate, s)
                if trio is not None:
                    break
    if trio is None and n <= AUGMENT_MAX:
        trio = _trio_of_singles(pool, everyone, mate)
        if trio is not None:  # someone may have been set free to make it: pair them again
            _place_singles(pool, [i for i in everyone if i not in trio], mate)
    if n <= TRIANGLE_MAX:
        better = _new_trio_placing_more(pool, everyone, mate, trio)
        if better is not None:
            mate, trio = better
            _repair(
                pool, [i for i in everyone if mate[i] >= 0 and i not in (trio or ())], mate, rng
            )
    if trio is not None:
        trio = _improve_trio(pool, everyone, mate, trio)
    in_trio = set(trio or ())
    pairs = [(i, mate[i]) for i in everyone if mate[i] > i and i not in in_trio]
    unmatched = [i for i in everyone if mate[i] < 0 and i not in in_trio]
    return pairs, trio, unmatched


def _place_singles(pool: _Pool, people: list[int], mate: list[int]) -> None:
    """Pair the singles among ``people`` (mate -1) as far as blocks allow.

    Up to ``AUGMENT_MAX`` people this finds the largest number of pairs: Edmonds' augmenting
    paths, shrinking odd cycles ("blossoms") as the search meets them. Larger pools, where
    blocks are sparse and a short path almost always exists, try paths of one or two steps.
    """
    if len(people) > AUGMENT_MAX:
        _pair_singles_nearby(pool, people, mate)
        return
    legal = pool.legal
    for root in people:
        if mate[root] >= 0:
            continue
        end, parent = _augmenting_path(people, mate, legal, root)
        while end >= 0:  # flip the path: end ... root
            p = parent[end]
            following = mate[p]
            mate[end], mate[p] = p, end
            end = following


def _augmenting_path(
    people: list[int], mate: list[int], legal: Callable[[int, int], bool], root: int
) -> tuple[int, dict[int, int]]:
    """Breadth-first search from a single ``root`` for a single at the end of an alternating path.

    Outer vertices are the root and the partners of vertices reached; a legal pair between two
    outer vertices of the same tree closes an odd cycle, which is shrunk to its base (every
    member of it becomes outer). Returns (-1, ...) when no path exists.
    """
    base = {v: v for v in people}
    parent: dict[int, int] = {}  # inner vertex -> the outer vertex it was reached from
    outer = {root}
    queue = [root]

    def common_base(a: int, b: int) -> int:
        seen = set()
        while True:
            a = base[a]
            seen.add(a)
            if mate[a] < 0:
                break
            a = parent[mate[a]]
        while base[b] not in seen:
            b = parent[mate[base[b]]]
        return base[b]

    def mark(v: int, stop: int, child: int, cycle: set[int]) -> None:
        while base[v] != stop:
            cycle.add(base[v])
            cycle.add(base[mate[v]])
            parent[v] = child
            child = mate[v]
            v = parent[mate[v]]

    head = 0
    while head < len(queue):
        v = queue[head]
        head += 1
        for to in people:
            if to == v or base[v] == base[to] or mate[v] == to or not legal(v, to):
                continue
            if to == root or (mate[to] >= 0 and mate[to] in parent):
                stop = common_base(v, to)
                cycle: set[int] = set()
                mark(v, stop, to, cycle)
                mark(to, stop, v, cycle)
                for u in people:
                    if base[u] in cycle:
                        base[u] = stop
                        if u not in outer:
                            outer.add(u)
                            queue.append(u)
            elif to not in parent:
                parent[to] = v
                if mate[to] < 0:
                    return to, parent
                outer.add(mate[to])
                queue.append(mate[to])
    return -1, parent


def _first_pairing(pool: _Pool, members: list[int]) -> list[int]:
    """Cross-organisation wherever sizes allow: largest organisation first, i with i + n/2."""
    by_org: dict[int, list[int]] = {}
    for i in members:
        by_org.setdefault(pool.org[i], []).append(i)
    # Stable: organisations of equal size keep the shuffled order of their first member.
    order = [i for block in sorted(by_org.values(), key=len, reverse=True) for i in block]
    half = len(order) // 2
    mate = [-1] * len(pool.ids)
    for a, b in zip(order[:half], order[half:], strict=True):
        mate[a] = b
        mate[b] = a
    return mate


def _repair(pool: _Pool, members: list[int], mate: list[int], rng: Rng) -> None:
    """Lower the cost of every costly pair by exchanges with other pairs, until none helps."""
    m = len(members)
    if m < 4:
        return
    history, org = pool.hist.get, pool.org

    def cost(i: int, j: int) -> int:
        c = history(i, j)
        return c + SAME_ORG if org[i] == org[j] else c

    sizes: dict[int, int] = {}
    for i in members:
        sizes[org[i]] = sizes.get(org[i], 0) + 1
    # Same-organisation pairs of an organisation holding more than half the pool are forced in
    # number; a fresh one among them cannot get cheaper, so it is not worth a search.
    surplus = max(sizes, key=sizes.__getitem__)
    forced = sizes[surplus] - m // 2  # how many of its pairs must be same-organisation
    dense = m <= DENSE_MAX
    # Edges for the cycle search, by what they may cost: nothing, at most STALE, below REPEAT.
    free: list[list[int]] = []
    stale: list[list[int]] = []
    fair: list[list[int]] = []
    pos: dict[int, int] = {}
    if dense:
        pos.update((i, k) for k, i in enumerate(members))
        free = [[] for _ in range(m)]
        stale = [[] for _ in range(m)]
        fair = [[] for _ in range(m)]
        for a in members:
            ka = pos[a]
            for b in members:
                if b <= a:
                    continue
                c = cost(a, b)
                if c < REPEAT:
                    kb = pos[b]
                    fair[ka].append(b)
                    fair[kb].append(a)
                    if c <= STALE:
                        stale[ka].append(b)
                        stale[kb].append(a)
                        if c == 0:
                            free[ka].append(b)
                            free[kb].append(a)

    def exchange(a: int, partners: Sequence[int]) -> bool:
        """The best 2-opt move of a's pair with one of the partners' pairs, if it helps."""
        b = mate[a]
        here = cost(a, b)
        best, move = 0, -1
        for x in partners:
            y = mate[x]
            if x == a or x == b or y < 0:
                continue
            gain = here + cost(x, y) - cost(a, x) - cost(b, y)
            if gain > best:
                best, move = gain, x
        if move < 0:
            return False
        y = mate[move]
        mate[a], mate[move], mate[b], mate[y] = move, a, y, b
        return True

    def cycle(a: int) -> bool:
        """Breadth-first search for an improving alternating cycle through a's pair.

        a leaves its partner z and takes a new partner x over an edge of the search graph; x's
        partner y does the same, and so on until some y can take z. The cycle is applied when
        the pairs it breaks cost more than the pairs it makes (and every step keeps a gain, as in
        Lin-Kernighan). Each person is entered once, from either side of their pair.
        """
        z = mate[a]
        here = cost(a, z)
        graph = fair if here >= REPEAT else stale if here > STALE else free
        gain = {a: here}
        came: dict[int, tuple[int, int]] = {}  # y -> (p, x): p took x, so x's partner y moved
        entered = {a, z}
        frontier = [a]
        while frontier:
            following = []
            for p in frontier:
                g = gain[p]
                for x in graph[pos[p]]:
                    if x in entered:
                        continue
                    y = mate[x]
                    ng = g - cost(p, x) + cost(x, y)
                    if ng <= 0 or _on_path(a, p, y, came):
                        continue
                    entered.add(x)
                    came[y] = (p, x)
                    gain[y] = ng
                    closing = cost(y, z)
                    if closing < _BLOCKED and ng > closing:
                        mate[y], mate[z] = z, y
                        while y != a:
                            p, x = came[y]
                            mate[p], mate[x] = x, p
                            y = p
                        return True
                    following.append(y)
            frontier = following
        return False

    for _ in range(SWEEPS):
        costly = [(cost(a, mate[a]), a) for a in members if a < mate[a]]
        if sum(org[a] == surplus == org[mate[a]] for _, a in costly) <= forced:
            costly = [(c, a) for c, a in costly if not (c == SAME_ORG and org[a] == surplus)]
        costly = [(c, a) for c, a in costly if c > 0]
        if not costly:
            return
        costly.sort(key=lambda item: -item[0])  # stable: ties keep the shuffled order
        improved = False
        for _, a in costly:
            if cost(a, mate[a]) == 0:
                continue
            if dense:
                done = exchange(a, members) or cycle(a) or cycle(mate[a])
            else:
                draws = [members[rng.randrange(m)] for _ in range(SAMPLES)]
                done = exchange(a, draws)
                if not done and cost(a, mate[a]) >= REPEAT:
                    done = exchange(a, members)
            improved = improved or done
        if not improved:
            return


def _on_path(a: int, p: int, y: int, came: dict[int, tuple[int, int]]) -> bool:
    """Whether y's pair is already on the path the search took from a to p."""
    while p != a:
        p, x = came[p]
        if x == y:
            return True
    return False


def _pair_singles_nearby(pool: _Pool, members: list[int], mate: list[int]) -> None:
    """Pair singles with each other, or through one pair: s takes x, x's partner takes u."""
    cost = pool.cost
    singles = [i for i in members if mate[i] < 0]
    left: list[int] = []
    for s in singles:
        match = next((u for u in left if cost(s, u) < _BLOCKED), -1)
        if match >= 0:
            left.remove(match)
            mate[s], mate[match] = match, s
        else:
            left.append(s)
    progress = True
    while progress and len(left) >= 2:
        progress = False
        for s in left:
            for u in left:
                if u == s:
                    continue
                for x in members:  # s takes x, x's partner y takes u
                    y = mate[x]
                    if y < 0 or cost(s, x) >= _BLOCKED or cost(y, u) >= _BLOCKED:
                        continue
                    mate[s], mate[x], mate[y], mate[u] = x, s, u, y
                    left.remove(s)
                    left.remove(u)
                    progress = True
                    break
                if progress:
                    break
            if progress:
                break


def _seat_trio(
    pool: _Pool, members: list[int], mate: list[int], seat: int
) -> tuple[int, int, int] | None:
    """The pair where ``seat`` costs least as third; if none is legal, pass the seat on."""
    best = _cheapest_pair_for(pool, members, mate, seat)
    if best is not None:
        return best
    cost = pool.cost
    for other in pool.seat_order:
        partner = mate[other] if other != seat else -1
        if partner < 0 or cost(seat, partner) >= _BLOCKED:
            continue
        # seat takes other's place in its pair, and other becomes the third seat instead.
        mate[seat], mate[partner], mate[other] = partner, seat, -1
        best = _cheapest_pair_for(pool, members, mate, other)
        if best is not None:
            return best
        mate[other], mate[partner], mate[seat] = partner, other, -1
    return None


def _cheapest_pair_for(
    pool: _Pool, members: list[int], mate: list[int], seat: int
) -> tuple[int, int, int] | None:
    cost = pool.cost
    best, found = _BLOCKED, None
    for a in members:
        b = mate[a]
        if b < a:
            continue
        c = cost(seat, a) + cost(seat, b)
        if c < best:
            best, found = c, (a, b, seat)
            if c == 0:
                break
    return found


def _trio_of_singles(
    pool: _Pool, everyone: list[int], mate: list[int]
) -> tuple[int, int, int] | None:
    """A trio that places more people than before, when someone is still single.

    Two singles who may meet and a third who may meet both (a single, or one of a pair, whose
    partner goes free); else a single takes someone's partner, that partner takes another's, and
    so on, until the one set free can sit as third with a pair off the path.
    """
    legal = pool.legal
    singles = [i for i in everyone if mate[i] < 0]
    for s, u in itertools.combinations(singles, 2):
        if not legal(s, u):
            continue
        third = next((d for d in singles if d not in (s, u) and legal(s, d) and legal(u, d)), -1)
        if third < 0:
            third = next((a for a in everyone if mate[a] >= 0 and legal(s, a) and legal(u, a)), -1)
            if third < 0:
                continue
            mate[mate[third]] = -1
        return _as_trio(pool, mate, (s, u, third))
    for s in singles:
        came: dict[int, tuple[int, int]] = {}  # y -> (p, x): p took x, x's partner y is free
        entered = {s}
        frontier = [s]
        while frontier:
            following = []
            for p in frontier:
                for x in everyone:
                    y = mate[x]
                    if y < 0 or x in entered or not legal(p, x) or _on_path(s, p, y, came):
                        continue
                    entered.add(x)
                    came[y] = (p, x)
                    on_path = {s, y}
                    q = y
                    while q != s:
                        q, e = came[q]
                        on_path.update((q, e))
                    a = _pair_to_join(pool, everyone, mate, y, on_path)
                    if a >= 0:
                        b = mate[a]
                        q = y
                        while q != s:
                            q, e = came[q]
                            mate[q], mate[e] = e, q
                        mate[y] = -1
                        return _as_trio(pool, mate, (a, b, y))
                    following.append(y)
            frontier = following
    return None


def _new_trio_placing_more(
    pool: _Pool, everyone: list[int], mate: list[int], trio: tuple[int, int, int] | None
) -> tuple[list[int], tuple[int, int, int] | None] | None:
    """Small pools with people still left out: another trio, or none, that places more.

    Tries no trio, then every trio of people who may meet (those with a single first), pairing
    the rest again with augmenting paths, at most ``TRIANGLE_TRIES`` trios; the first
    arrangement that leaves out the fewest wins. None when nothing places more.
    """

    def left_out(m: list[int], t: tuple[int, int, int] | None) -> int:
        return sum(1 for i in everyone if m[i] < 0) - (t is not None)

    fewest = left_out(mate, trio)
    if fewest == 0:
        return None
    start = list(mate)  # without the trio: its seat is single again, its pair stays
    best: tuple[list[int], tuple[int, int, int] | None] | None = None
    trial = list(start)
    _place_singles(pool, everyone, trial)
    if left_out(trial, None) < fewest:
        best, fewest = (trial, None), left_out(trial, None)
    legal = pool.legal
    tries = 0
    seen: set[tuple[int, ...]] = set()
    for s in sorted(everyone, key=lambda i: start[i] >= 0):  # singles first
        friends = [x for x in everyone if x != s and legal(s, x)]
        for x, y in itertools.combinations(friends, 2):
            if fewest == 0 or tries == TRIANGLE_TRIES:
                return best
            key = tuple(sorted((s, x, y)))
            if key in seen or not legal(x, y):
                continue
            seen.add(key)
            tries += 1
            trial = list(start)
            for v in key:
                if trial[v] >= 0:
                    trial[trial[v]] = -1
                    trial[v] = -1
            new = _as_trio(pool, trial, (s, x, y))
            _place_singles(pool, [i for i in everyone if i not in new], trial)
            if left_out(trial, new) < fewest:
                best, fewest = (trial, new), left_out(trial, new)
    return best


def _pair_to_join(pool: _Pool, everyone: list[int], mate: list[int], y: int, off: set[int]) -> int:
    """One member of the first pair, both of it outside ``off``, that y may join; else -1."""
    legal = pool.legal
    for a in everyone:
        b = mate[a]
        if b > a and a not in off and b not in off and legal(y, a) and legal(y, b):
            return a
    return -1


def _as_trio(pool: _Pool, mate: list[int], people: tuple[int, int, int]) -> tuple[int, int, int]:
    """Three people as a trio: the one with the fewest seats takes the third seat."""
    rank = {i: r for r, i in enumerate(pool.seat_order)}
    a, b, seat = sorted(people, key=rank.__getitem__, reverse=True)
    mate[a], mate[b], mate[seat] = b, a, -1
    return a, b, seat


def _improve_trio(
    pool: _Pool, members: list[int], mate: list[int], trio: tuple[int, int, int]
) -> tuple[int, int, int]:
    """2-opt between the trio's pair and each other pair, the seat going with either side."""
    cost = pool.cost
    for _ in range(SWEEPS):
        a, b, t = trio
        here = cost(a, b) + cost(t, a) + cost(t, b)
        if here == 0:
            break
        best, move = 0, None
        for x in members:
            y = mate[x]
            if x in (a, b, t) or y < 0:
                continue
            before = here + cost(x, y)
            for p, q in ((a, x), (b, y)), ((b, y), (a, x)):  # t joins the first new pair
                after = cost(*p) + cost(*q) + cost(t, p[0]) + cost(t, p[1])
                if before - after > best:
                    best, move = before - after, (p, q)
        if move is None:
            break
        (p0, p1), (q0, q1) = move
        mate[p0], mate[p1], mate[q0], mate[q1] = p1, p0, q1, q0
        trio = (p0, p1, t)
    return trio
