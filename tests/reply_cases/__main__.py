"""python -m tests.reply_cases: check every *.cases file parses and count cases by field."""

from __future__ import annotations

from collections import Counter

from tests.reply_cases import load_cases

cases = load_cases()
print(f"{len(cases)} cases")
for field in ("file", "lang", "client", "format"):
    counts = Counter(getattr(case, field) for case in cases)
    print(f"{field}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
kinds = Counter(kind for case in cases for kind in case.kinds)
print("kinds: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
