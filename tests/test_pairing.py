"""The matching engine: hard rules as properties, preferences as tables, fairness over rounds."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.pairing import (
    EXACT_MAX,
    LAST_ROUND,
    REPEAT,
    SAME_ORG,
    STALE,
    Candidate,
    Groups,
    make_groups,
    pair_cost,
)

ROOT = Path(__file__).resolve().parent.parent


def people(*orgs: str, seats: tuple[int, ...] = ()) -> list[Candidate]:
    """Anne, Bob, Chloe... on example domains, one organisation each as given."""
    names = ["anne", "bob", "chloe", "dan", "eve", "fay", "gus", "hal", "ida", "jo", "kim", "lu"]
    return [Candidate(f"{names[i]}@example.org", org, seats[i] if seats else 0)
            for i, org in enumerate(orgs)]  # fmt: skip


def crowd(n: int, orgs: int = 0) -> list[Candidate]:
    return [Candidate(f"p{i:03d}@example.org", f"org{i % orgs}" if orgs else "") for i in range(n)]


def pair(a: Candidate | str, b: Candidate | str) -> frozenset[str]:
    return frozenset(x.id if isinstance(x, Candidate) else x for x in (a, b))


def meetings(groups: Groups) -> list[frozenset[str]]:
    return [frozenset(p) for g in groups.groups for p in itertools.combinations(g, 2)]


def check_rules(result: Groups, cands: list[Candidate], blocked: set[frozenset[str]]) -> None:
    placed = [x for g in result.groups for x in g]
    everyone = placed + list(result.unmatched)
    assert sorted(everyone) == sorted(c.id for c in cands), "everyone exactly once"
    assert all(len(g) in (2, 3) for g in result.groups)
    trios = [g for g in result.groups if len(g) == 3]
    assert len(trios) <= 1
    assert bool(trios) == (len(placed) % 2 == 1)
    assert result.trio_seat == (trios[0][2] if trios else None)
    assert not any(m in blocked for m in meetings(result))


def cost_of(
    result: Groups, cands: list[Candidate], met: dict[frozenset[str], int], window: int = 12
) -> float:
    org = {c.id: c.org for c in cands}
    return float(sum(pair_cost(met.get(m), bool(org[a]) and org[a] == org[b], window=window)
                     for m in meetings(result) for a, b in [sorted(m)]))  # fmt: skip


def check_seat(result: Groups, cands: list[Candidate]) -> None:
    """Without blocks, the third seat goes to someone with the fewest seats."""
    if result.trio_seat is not None:
        seats = {c.id: c.trio_seats for c in cands}
        assert seats[result.trio_seat] == min(seats.values())


def most_placed(ids: list[str], blocked: set[frozenset[str]]) -> int:
    """Brute force: how many people pairs plus at most one trio can place."""

    @cache
    def go(rest: frozenset[str], trio_used: bool) -> int:
        if not rest:
            return 0
        a = min(rest)
        others = rest - {a}
        best = go(others, trio_used)
        for b in others:
            if pair(a, b) in blocked:
                continue
            best = max(best, 2 + go(others - {b}, trio_used))
            if not trio_used:
                for c in others - {b}:
                    if pair(a, c) not in blocked and pair(b, c) not in blocked:
                        best = max(best, 3 + go(others - {b, c}, True))
        return best

    return go(frozenset(ids), False)


@st.composite
def pools(draw, min_n: int = 0, max_n: int = 10, block_share: float = 0.3):
    n = draw(st.integers(min_n, max_n))
    org_names = draw(st.sampled_from([["", "a"], ["a", "b"], ["", "a", "b", "c"], ["x"]]))
    cands = [Candidate(f"p{i}@example.org", draw(st.sampled_from(org_names)),
                       draw(st.integers(0, 3))) for i in range(n)]  # fmt: skip
    all_pairs = [pair(a, b) for a, b in itertools.combinations(cands, 2)]
    met: dict[frozenset[str], int] = {}
    blocked: set[frozenset[str]] = set()
    if all_pairs:
        met = draw(st.dictionaries(st.sampled_from(all_pairs), st.integers(1, 20)))
        if draw(st.booleans()):
            chosen = draw(st.lists(st.floats(0, 1), min_size=len(all_pairs),
                                   max_size=len(all_pairs)))  # fmt: skip
            blocked = {p for p, x in zip(all_pairs, chosen, strict=True) if x < block_share}
    seed = draw(st.integers(0, 2**32 - 1))
    return cands, met, blocked, seed


# --- hard rules, as properties ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(pools(max_n=12))
def test_small_pools_keep_every_rule_and_leave_out_only_whom_they_must(pool):
    cands, met, blocked, seed = pool
    result = make_groups(cands, met, blocked, random.Random(seed))
    check_rules(result, cands, blocked)
    if not blocked:
        check_seat(result, cands)
    placed = sum(len(g) for g in result.groups)
    assert placed == most_placed([c.id for c in cands], blocked)
    assert result.cost == cost_of(result, cands, met)


@pytest.mark.parametrize("seed", range(12))
def test_heavily_blocked_pools_above_the_exact_search_leave_out_only_whom_they_must(seed):
    rng = random.Random(seed)
    n = 13 + seed % 4
    cands = [Candidate(f"p{i:02d}@example.org", rng.choice(["", "a", "b"]), rng.randrange(3))
             for i in range(n)]  # fmt: skip
    blocked = {pair(a, b) for a, b in itertools.combinations(cands, 2) if rng.random() < 0.8}
    result = make_groups(cands, {}, blocked, random.Random(seed))
    check_rules(result, cands, blocked)
    assert sum(map(len, result.groups)) == most_placed([c.id for c in cands], blocked)


@settings(max_examples=60, deadline=None)
@given(pools(min_n=EXACT_MAX - 2, max_n=48, block_share=0.15))
def test_larger_pools_keep_every_rule(pool):
    cands, met, blocked, seed = pool
    result = make_groups(cands, met, blocked, random.Random(seed))
    check_rules(result, cands, blocked)
    assert result.cost == cost_of(result, cands, met)
    if not blocked:
        assert result.unmatched == ()
        check_seat(result, cands)


@pytest.mark.parametrize("window", [1, 2, 5, 12, 30])
@pytest.mark.parametrize("n", [9, 40])
def test_the_window_sets_the_costs(window, n):
    cands = crowd(n, orgs=3)
    rng = random.Random(window * n)
    met = {pair(a, b): rng.randint(1, 35) for a, b in itertools.combinations(cands, 2)
           if rng.random() < 0.3}  # fmt: skip
    result = make_groups(cands, met, set(), random.Random(1), window=window)
    assert result.cost == cost_of(result, cands, met, window)


def test_history_and_blocks_of_people_not_taking_part_are_ignored():
    anne, bob, chloe, dan = cands = people("", "", "", "")
    away = "zoe@example.org"
    met = {pair(anne, away): 1, frozenset({anne.id}): 1, pair(anne, bob): 1, pair(chloe, dan): 1}
    blocked = {pair(bob, away), frozenset({bob.id})}
    result = make_groups(cands, met, blocked, random.Random(2))
    assert set(meetings(result)) in ({pair(anne, chloe), pair(bob, dan)},
                                     {pair(anne, dan), pair(bob, chloe)})  # fmt: skip
    with pytest.raises(ValueError, match="window"):
        make_groups(cands, met, blocked, random.Random(2), window=0)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.integers(0, 2**32 - 1), st.integers(0, 4))
def test_without_blocks_nobody_is_left_out(n, seed, orgs):
    cands = crowd(n, orgs)
    history = {pair(a, b): 1 for a, b in itertools.combinations(cands[:8], 2)}
    result = make_groups(cands, history, set(), random.Random(seed))
    check_rules(result, cands, set())
    assert result.unmatched == ()


@settings(max_examples=40, deadline=None)
@given(pools(max_n=40), st.randoms(use_true_random=False))
def test_same_inputs_and_seed_give_the_same_groups_whatever_the_order(pool, shuffler):
    cands, met, blocked, seed = pool
    first = make_groups(cands, met, blocked, random.Random(seed))
    again = make_groups(cands, met, blocked, random.Random(seed))
    reordered = list(cands)
    shuffler.shuffle(reordered)
    met_reordered = dict(sorted(met.items(), key=lambda item: shuffler.random()))
    other_order = make_groups(reordered, met_reordered, set(blocked), random.Random(seed))
    assert first == again == other_order


def test_the_hash_seed_does_not_change_the_groups():
    script = (
        "import json, random, sys\n"
        "from mailbot.core.pairing import Candidate, make_groups\n"
        "n = int(sys.argv[1])\n"
        "c = [Candidate(f'p{i}@example.org', 'abc '[i % 4].strip(), i % 3) for i in range(n)]\n"
        "met = {frozenset((c[i].id, c[(i * 7 + 3) % n].id)): 1 + i % 13 for i in range(n)}\n"
        "blocked = {frozenset((c[i].id, c[(i + 5) % n].id)) for i in range(0, n, 3)}\n"
        "print(json.dumps(make_groups(c, met, blocked, random.Random(7)).groups))\n"
    )
    outputs = set()
    for n, hash_seed in itertools.product(("11", "41"), ("1", "2", "3")):
        done = subprocess.run([sys.executable, "-c", script, n], capture_output=True, text=True,
                              cwd=ROOT, env={"PYTHONHASHSEED": hash_seed}, check=True)  # fmt: skip
        outputs.add((n, done.stdout))
    assert len(outputs) == 2


def test_blocks_can_force_people_out():
    anne, bob, chloe = people("", "", "")
    assert make_groups([anne], {}, set(), random.Random(1)).unmatched == (anne.id,)
    alone = make_groups([anne, bob], {}, {pair(anne, bob)}, random.Random(1))
    assert alone.groups == () and alone.unmatched == (anne.id, bob.id)
    three = make_groups([anne, bob, chloe], {}, {pair(anne, bob)}, random.Random(1))
    assert len(three.groups) == 1 and len(three.unmatched) == 1
    assert three.trio_seat is None


def test_a_blocked_pair_never_shares_a_trio():
    anne, bob, chloe, dan, eve = cands = people("", "", "", "", "")
    blocked = {pair(anne, bob), pair(anne, chloe)}
    for seed in range(20):
        result = make_groups(cands, {}, blocked, random.Random(seed))
        check_rules(result, cands, blocked)
        assert result.unmatched == ()


def test_a_large_pool_with_blocks_places_everyone():
    cands = crowd(301, orgs=7)
    rng = random.Random(3)
    blocked = {pair(a, b) for a, b in itertools.combinations(cands, 2) if rng.random() < 0.05}
    result = make_groups(cands, {}, blocked, random.Random(4))
    check_rules(result, cands, blocked)
    assert result.unmatched == ()


def test_duplicate_candidates_are_refused():
    anne = people("")[0]
    with pytest.raises(ValueError, match="twice"):
        make_groups([anne, anne], {}, set(), random.Random(1))


# --- preferences, as tables ---------------------------------------------------------------------


def test_cost_table():
    assert pair_cost(None, False) == 0
    assert pair_cost(None, True) == SAME_ORG
    assert pair_cost(13, False) == STALE
    assert pair_cost(12, False) == REPEAT
    assert pair_cost(2, False) == 1500
    assert pair_cost(1, True) == LAST_ROUND + SAME_ORG
    assert pair_cost(5, False, window=4) == STALE
    assert SAME_ORG + STALE < REPEAT and 2 * REPEAT > pair_cost(2, True)


@pytest.mark.parametrize("n", [4, 6, 12, 30, 250])
def test_avoids_last_rounds_partner_when_any_alternative_exists(n):
    cands = crowd(n)
    last_round = {pair(cands[i], cands[i + 1]): 1 for i in range(0, n, 2)}
    for seed in range(5):
        result = make_groups(cands, last_round, set(), random.Random(seed))
        assert not set(meetings(result)) & set(last_round)


@pytest.mark.parametrize("n", [4, 10, 40, 400])
def test_prefers_different_organisations(n):
    cands = crowd(n, orgs=2)
    result = make_groups(cands, {}, set(), random.Random(n))
    org = {c.id: c.org for c in cands}
    assert all(org[a] != org[b] for a, b in map(sorted, meetings(result)))


def test_same_organisation_rather_than_a_repeat():
    anne, bob, chloe, dan = cands = people("council", "council", "borough", "borough")
    met = {pair(anne, chloe): 12, pair(anne, dan): 12, pair(bob, chloe): 12, pair(bob, dan): 12}
    result = make_groups(cands, met, set(), random.Random(1))
    assert set(meetings(result)) == {pair(anne, bob), pair(chloe, dan)}
    assert result.cost == 2 * SAME_ORG


def test_older_repeats_rather_than_recent_ones_and_fresh_rather_than_stale():
    anne, bob, chloe, dan = cands = people("", "", "", "")
    met = {pair(anne, bob): 2, pair(chloe, dan): 2, pair(anne, chloe): 9, pair(bob, dan): 9,
           pair(anne, dan): 1, pair(bob, chloe): 1}  # fmt: skip
    assert set(meetings(make_groups(cands, met, set(), random.Random(1)))) == {
        pair(anne, chloe), pair(bob, dan)
    }  # fmt: skip
    stale = {pair(anne, bob): 30, pair(chloe, dan): 40}
    for seed in range(5):
        result = make_groups(cands, stale, set(), random.Random(seed))
        assert not set(meetings(result)) & set(stale) and result.cost == 0


def test_the_trio_seat_goes_to_the_fewest_seats_and_avoids_recent_partners():
    cands = people("", "", "", "", "", seats=(1, 1, 0, 1, 1))
    anne, bob, chloe, dan, eve = cands
    met = {pair(chloe, anne): 1, pair(chloe, bob): 1, pair(dan, eve): 2}
    for seed in range(10):
        result = make_groups(cands, met, set(), random.Random(seed))
        assert result.trio_seat == chloe.id
        # the only trio without a last-round pair
        assert (dan.id, eve.id, chloe.id) in result.groups
        assert result.cost == pair_cost(2, False)


def test_the_seat_passes_on_when_blocks_rule_its_holder_out_of_any_trio():
    cands = people("", "", "", "", "", seats=(2, 2, 2, 2, 0))
    anne, bob, chloe, dan, eve = cands
    blocked = {pair(eve, anne), pair(eve, bob), pair(eve, chloe)}  # eve can only sit with dan
    for seed in range(5):
        result = make_groups(cands, {}, blocked, random.Random(seed))
        check_rules(result, cands, blocked)
        assert result.unmatched == ()
        assert (dan.id, eve.id) in result.groups
        assert result.trio_seat in {anne.id, bob.id, chloe.id}


@pytest.mark.parametrize("n", [3, 7, 13, 25, 41])
def test_the_trio_seat_rotates(n):
    """Over 3n rounds of an odd pool every member takes the third seat 3 times."""
    cands = crowd(n, orgs=3)
    seats: Counter[str] = Counter()
    last: dict[frozenset[str], int] = {}
    rng = random.Random(n)
    for rnd in range(3 * n):
        pool = [Candidate(c.id, c.org, seats[c.id]) for c in cands]
        met = {p: rnd - r for p, r in last.items()}
        result = make_groups(pool, met, set(), random.Random(rng.randrange(2**32)))
        seats[result.trio_seat] += 1
        counts = [seats[c.id] for c in cands]
        assert max(counts) - min(counts) <= 1
        for m in meetings(result):
            last[m] = rnd
    assert set(seats.values()) == {3}


def test_four_people_over_three_rounds_meet_everyone_once():
    cands = people("", "council", "council", "")
    last: dict[frozenset[str], int] = {}
    for rnd in range(3):
        met = {p: rnd - r for p, r in last.items()}
        result = make_groups(cands, met, set(), random.Random(rnd))
        assert not set(meetings(result)) & set(last)
        last.update((m, rnd) for m in meetings(result))
    assert len(last) == 6


@pytest.mark.parametrize("n", [16, 30])
def test_a_cohort_never_repeats_within_the_window(n):
    """n - 1 rounds of one cohort: a pair may meet again, but only after the window (12)."""
    cands = crowd(n, orgs=4)
    last: dict[frozenset[str], int] = {}
    for rnd in range(n - 1):
        met = {p: rnd - r for p, r in last.items()}
        result = make_groups(cands, met, set(), random.Random(rnd))
        assert all(rnd - last.get(m, -99) > 12 for m in meetings(result)), f"round {rnd + 1}"
        last.update((m, rnd) for m in meetings(result))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_small_even_pools_find_the_cheapest_pairing(half, seed):
    rng = random.Random(seed)
    cands = [Candidate(f"p{i}@example.org", rng.choice("ab")) for i in range(2 * half)]
    met = {pair(a, b): rng.randint(1, 15) for a, b in itertools.combinations(cands, 2)
           if rng.random() < 0.5}  # fmt: skip
    org = {c.id: c.org for c in cands}

    def cheapest(ids: tuple[str, ...]) -> int:
        if not ids:
            return 0
        a, rest = ids[0], ids[1:]
        return min(pair_cost(met.get(pair(a, b)), org[a] == org[b]) +
                   cheapest(tuple(x for x in rest if x != b)) for b in rest)  # fmt: skip

    result = make_groups(cands, met, set(), random.Random(seed))
    assert result.cost == cheapest(tuple(c.id for c in cands))


def test_a_large_pool_repairs_every_repeat():
    """200 people, the last 12 rounds made by make_groups itself: no repeat in the window."""
    cands = crowd(200, orgs=9)
    last: dict[frozenset[str], int] = {}
    for rnd in range(13):
        met = {p: rnd - r for p, r in last.items()}
        result = make_groups(cands, met, set(), random.Random(rnd))
        assert result.cost == 0
        last.update((m, rnd) for m in meetings(result))


def test_groups_are_plain_data():
    anne, bob, chloe = cands = people("a", "b", "c")
    result = make_groups(cands, {}, set(), random.Random(5))
    assert json.loads(json.dumps(result.groups)) == [list(g) for g in result.groups]
    assert result.groups == tuple(sorted(result.groups))
