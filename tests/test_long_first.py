"""The order in which parallel workers start the suite's tests (tests/long_first.py)."""
from __future__ import annotations

import pytest

import long_first
from long_first import LONG, ordered


def _shares(order: list[int], workers: int) -> list[list[int]]:
    """What worksteal's first hand-out gives each worker: contiguous, len(left) // workers left."""
    shares, left = [], list(order)
    for k in range(workers):
        n = len(left) // (workers - k)
        shares.append(left[:n])
        left = left[n:]
    return shares


def test_each_worker_starts_with_its_share_of_the_long_tests(monkeypatch):
    monkeypatch.setattr(long_first, "LONG", {"t.py::slow[a]": 30, "t.py::slow[b]": 30, "t.py::mid": 20,
                                             "t.py::grouped": 12, "u.py::short": 5})
    collection = [f"a.py::t{i}" for i in range(10)] + ["t.py::mid", "t.py::grouped[1]", "t.py::grouped[2]",
                                                      "t.py::slow[a]", "t.py::slow[b]", "u.py::short"]
    order = ordered(collection, 3)
    assert sorted(order) == list(range(len(collection)))  # every test once
    shares = [[collection[i] for i in share] for share in _shares(order, 3)]
    firsts = [share[0] for share in shares]
    assert sorted(firsts) == ["t.py::mid", "t.py::slow[a]", "t.py::slow[b]"], shares
    # each next longest joins the least loaded worker, a group's tests together
    by_first = {share[0]: share for share in shares}
    assert by_first["t.py::mid"][1:3] == ["t.py::grouped[1]", "t.py::grouped[2]"], shares
    assert by_first["t.py::slow[a]"][1] == "u.py::short", shares
    # the other tests keep their file order
    rest = [nodeid for share in shares for nodeid in share if nodeid.startswith("a.py")]
    assert rest == [f"a.py::t{i}" for i in range(10)]


def test_every_long_test_named_is_still_collected(request):
    collected = [item.nodeid for item in request.session.items]
    files = {nodeid.split("::")[0] for nodeid in collected}
    if request.config.getoption("keyword") or request.config.getoption("markexpr") or \
            not all(prefix.split("::")[0] in files for prefix in LONG):
        pytest.skip("this run collected only part of the suite")
    missing = [prefix for prefix in LONG if not any(nodeid.startswith(prefix) for nodeid in collected)]
    assert not missing, f"renamed or removed: update tests/long_first.py: {missing}"
