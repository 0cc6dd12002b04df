"""Time limits follow the work (autograder.budgets): a unit may take a multiple of the
reference's cost on its cases, within a floor and the configured cap; a cell that only
defines things gets a short limit. A unit stopped at its limit says which limit it was
and how it was set."""
import time

import pytest

from autograder.budgets import cell_budget, unit_budget
from conftest import grade_text, reference_text

A = "rnn_step_by_step"


def test_a_unit_gets_a_multiple_of_the_reference_within_floor_and_cap():
    config = {"unit_seconds": 5.0}
    assert unit_budget(0.010, config).seconds == 1.0                    # 100 x 10 ms
    assert "100x the reference's 10.0 ms" in unit_budget(0.010, config).why
    floor = unit_budget(0.0001, config)
    assert floor.seconds == 0.25 and "raised to the floor of 0.25 s" in floor.why
    cap = unit_budget(1.0, config)
    assert cap.seconds == 5.0 and "capped at the configured 5 s" in cap.why
    # with the reference's units substituted every call is a round trip to the grading process
    served = unit_budget(0.0001, config, (0.006, 20))
    assert served.seconds == 100 * 0.006 + 20 * 0.010 and "plus 20 calls to the grading process" in served.why
    assert unit_budget(0.0001, config, (0.001, 20)).seconds == 0.25 + 20 * 0.010  # the floor, then the calls
    assert unit_budget(0.0001, {"unit_seconds": 0.3}, (0.002, 20)).seconds == 0.3  # never above the cap
    assert unit_budget(0.010, dict(config, unit_factor=10)).seconds == 0.25
    assert unit_budget(0.010, dict(config, fixed_limits=True)).seconds == 5.0
    assert unit_budget(None, config).seconds == 5.0


@pytest.mark.parametrize("source,short", [
    ("def f(x):\n    while True:\n        pass\n", True),              # the body runs later, in a unit
    ("class Layer:\n    '''doc'''\n    size = 3\n    def forward(self):\n        return 1\n", True),
    ("N_A = 5\nNAMES = ('a', 'b')\n", True),
    ("import numpy as np\n", False),                                 # imports take their time
    ("class Slow:\n    while True:\n        pass\n", False),           # a class body runs when defined
    ("def f(x=sum(range(10 ** 9))):\n    return x\n", False),        # defaults run when defined
    ("@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x\n", False),
    ("BIG = 2 ** 10 ** 10\n", False),
    ("step = 0\nwhile True:\n    step += 1\n", False),
    ("print(1)\n", False),
    ("def broken(:\n", False),
])
def test_a_cell_that_only_defines_gets_the_short_limit(source, short):
    budget = cell_budget(source, {"cell_seconds": 10.0})
    assert budget.seconds == (2.0 if short else 10.0), budget
    assert ("only defines" in budget.why) == short


def test_a_looping_unit_is_cut_at_its_derived_limit_and_says_so(graders):
    grader = graders(A)  # the configured cap stays the default 5 s
    packed = next(p.own for p in grader.prepared if p.unit.name == "rnn_cell_forward")
    assert packed.seconds < 1.0 and "the reference's" in packed.why
    text = reference_text(A).replace("def rnn_cell_forward(xt, a_prev, parameters):\n",
                                     "def rnn_cell_forward(xt, a_prev, parameters):\n    while True:\n        pass\n", 1)
    assert text != reference_text(A)
    result = grade_text(grader, text)
    unit = next(u for u in result.units if u.name == "rnn_cell_forward")
    assert unit.score == 0.0
    assert f"stopped after the unit's time limit of {packed.seconds:g} s ({packed.why})" in unit.explanation
    assert unit.wall < packed.seconds + 1.0, unit.wall


def test_a_notebook_whose_units_all_loop_costs_a_few_limits_not_the_cap(graders):
    grader = graders(A)
    text = reference_text(A)
    names = [p.unit.name for p in grader.prepared]
    for name in names:
        head = f"\ndef {name}("
        start = text.index(head)
        line_end = text.index(":\n", start) + 2
        text = text[:line_end] + "    while True:\n        pass\n" + text[line_end:]
    started = time.monotonic()
    result = grade_text(grader, text)
    elapsed = time.monotonic() - started
    assert result.score == 0
    for unit in result.units:
        assert "stopped after the unit's time limit of" in unit.explanation and "the reference's" in unit.explanation
    # 8 units at 0.25-0.55 s each, and the 6 that call another unit once more with the
    # reference's substituted (0.3-2.5 s); with the fixed 5 s limits this took over a minute
    assert elapsed < 15, elapsed
