"""Time limits follow the work (autograder.budgets): a unit may take a multiple of the
reference's cost on its cases, within a floor and the configured cap; a cell that only
defines things gets a short limit. A unit stopped at its limit says which limit it was
and how it was set."""
import time

import pytest

from autograder.budgets import ServedCost, cell_budget, unit_budget, wall_limit, wall_why
from conftest import grade_text, mutate, reference_text

A = "rnn_step_by_step"


def test_a_units_wall_clock_backstop_is_generous_and_within_the_cap():
    # only a unit that waits without computing meets it: a busy machine must not
    config = {"unit_seconds": 5.0}
    assert wall_limit(0.05, config) == 1.0                      # the floor
    assert wall_limit(0.3, config) == 3.0                       # 10x the CPU limit
    assert wall_limit(2.0, config) == 5.0                       # the configured cap ...
    assert wall_limit(8.0, {"unit_seconds": 5.0}) == 8.0        # ... never below the CPU limit
    assert wall_limit(0.05, dict(config, unit_wall_floor_seconds=0.5, unit_wall_factor=2)) == 0.5
    assert "waits without computing" in wall_why(0.05, config)


def test_a_unit_gets_a_multiple_of_the_reference_within_floor_and_cap():
    config = {"unit_seconds": 5.0}
    assert unit_budget(0.010, config).seconds == 0.3                    # 30 x 10 ms
    assert "30x the reference's 10.0 ms" in unit_budget(0.010, config).why
    floor = unit_budget(0.0001, config)
    assert floor.seconds == 0.05 and "raised to the floor of 0.05 s" in floor.why
    cap = unit_budget(1.0, config)
    assert cap.seconds == 5.0 and "capped at the configured 5 s" in cap.why
    # with the reference's units substituted every call is a round trip to the grading
    # process: the unit's own share of the CPU at the factor, each call its latency and
    # 10x what it cost the reference, earned as the unit makes it
    served = unit_budget(0.0001, config, ServedCost(cpu=0.008, calls=20, served=0.002))
    assert served.seconds == pytest.approx(30 * 0.006) and "their calls left out" in served.why
    assert served.per_call == pytest.approx(0.010 + 10 * 0.002 / 20)
    assert served.most == pytest.approx(0.18 + 20 * 0.011) and "for each call it makes" in served.why
    floor = unit_budget(0.0001, config, ServedCost(cpu=0.002, calls=20, served=0.0019))
    assert floor.seconds == 0.05 and floor.most == pytest.approx(0.05 + 20 * (0.010 + 10 * 0.0019 / 20))
    capped = unit_budget(0.0001, {"unit_seconds": 0.2}, ServedCost(cpu=0.002, calls=20, served=0.001))
    assert capped.seconds == 0.05 and capped.most == 0.2  # never above the cap
    assert unit_budget(0.0001, config, ServedCost(cpu=0.002, calls=0, served=0.0)).per_call == 0
    assert unit_budget(0.010, dict(config, unit_factor=10)).seconds == 0.1
    assert unit_budget(0.010, dict(config, unit_factor=100)).seconds == 1.0
    assert unit_budget(0.0001, dict(config, unit_floor_seconds=0.25)).seconds == 0.25
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
    assert f"stopped after the unit's CPU time limit of {packed.seconds:g} s ({packed.why})" in unit.explanation
    assert unit.wall < packed.seconds + 1.0, unit.wall


def all_looping(grader) -> str:
    """The reference with an endless loop at the top of every graded function."""
    text = reference_text(A)
    for name in [p.unit.name for p in grader.prepared]:
        head = f"\ndef {name}("
        start = text.index(head)
        line_end = text.index(":\n", start) + 2
        text = text[:line_end] + "    while True:\n        pass\n" + text[line_end:]
    return text


def test_a_notebook_whose_units_all_loop_costs_about_a_second_of_cpu(graders, monkeypatch):
    import re

    from autograder.sandbox.client import StudentProcess

    limits = []  # the CPU limit each run was stopped at
    served = []  # (limit words, the limit, the most its calls could have earned) of each run with reference units
    original, together = StudentProcess._run_unit_once, StudentProcess.run_units

    def stopped_at(text: str) -> float:
        return float(re.search(r"stopped after the unit's CPU time limit of ([0-9.]+) s", text).group(1))

    def run_once(self, unit, substitute, *args):
        run, again = original(self, unit, substitute, *args)
        limits.append(stopped_at(run.ended))
        if substitute:
            served.append((run.ended, limits[-1], unit.most))
        return run, again

    def run_units(self, requests):
        runs = together(self, requests)
        limits.extend(stopped_at(run.ended) for run in runs if run is not None)
        return runs
    monkeypatch.setattr(StudentProcess, "_run_unit_once", run_once)
    monkeypatch.setattr(StudentProcess, "run_units", run_units)
    grader = graders(A)
    started = time.monotonic()
    result = grade_text(grader, all_looping(grader))
    elapsed = time.monotonic() - started
    assert result.score == 0
    for unit in result.units:
        assert "stopped after the unit's CPU time limit of" in unit.explanation and "the reference's" in unit.explanation
    # with the reference's units substituted a unit earns time only for the calls it makes:
    # stuck before its first (a forward) or after the set-up's (a backward), it is stopped
    # near its base limit, not at the limit of one that made all the reference's calls
    assert len(served) == 8, served
    for ended, limit, most in served:
        assert "call(s) to the grading process made" in ended, ended
        assert ", with 0 call(s)" in ended or ", with 1 call(s)" in ended, ended
    ended, limit, most = max(served, key=lambda s: s[2])  # lstm_backward's: its base and one call of its ~0.8 s
    assert limit < most - 0.2, (ended, limit, most)
    # 16 runs (8 own, 6 with the reference's units substituted, 2 with its own forward
    # building the cache), each stopped at its CPU limit: about a second of CPU in all
    # (it was 16 wall-clock limits of 0.25-0.4 s, 4.7 s; with the fixed 5 s limits over a minute)
    assert len(limits) == 16, limits
    assert 0.8 <= sum(limits) <= 1.5, (sum(limits), limits)
    # wall time: the CPU above, the processes started again after each stop; a busy loop on
    # a loaded machine gets less than a core, so the wall time is only bounded loosely
    assert elapsed < 6, elapsed


def test_a_unit_earns_cpu_for_each_call_it_makes_with_the_reference_substituted(graders):
    # rnn_forward burns 0.03 s of CPU, then 6 ms before each of its 20 calls to
    # rnn_cell_forward: 0.15 s, more than its base limit (0.05 s), less than what its calls
    # earn it (the base + 20 x ~12 ms). A bias left out of rnn_cell_forward makes it fail with its
    # own; with the reference's it passes.
    grader = graders(A)
    packed = next(p.reference for p in grader.prepared if p.unit.name == "rnn_forward")
    assert 0.03 + 0.01 < packed.seconds < 0.03 + 20 * 0.006 and 0.03 + 20 * 0.006 + 0.05 < packed.most, packed
    text = mutate(reference_text(A), "    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)\n",
                  "    a_next = np.tanh(Waa @ a_prev + Wax @ xt)\n")
    text = mutate(text, "    a_next = a0\n    for t in range(T_x):\n",
                  "    a_next = a0\n    if not BURNT:\n        BURNT.append(burn(0.03))\n"
                  "    for t in range(T_x):\n        burn(0.006)\n")
    text = text.replace("\ndef rnn_forward(", "\nBURNT = []\n\n\ndef burn(seconds):\n    import time\n"
                        "    started = time.process_time()\n    while time.process_time() - started < seconds:\n"
                        "        pass\n\n\ndef rnn_forward(", 1)
    result = grade_text(grader, text)
    unit = next(u for u in result.units if u.name == "rnn_forward")
    assert unit.score == 1.0 and unit.mode == "reference", unit.explanation


def test_a_correct_solution_that_prints_its_locals_at_every_step_keeps_its_points(graders):
    """Debug prints of whole arrays in every step of every function: formatting them cost
    more CPU than rnn_backward's and lstm_forward's limits (0.05 s), and a correct notebook
    scored 6/8. Once the output a student sees is full (4,000 characters per unit), a print
    is counted, not formatted."""
    grader = graders(A)
    text = reference_text(A)
    for name in [p.unit.name for p in grader.prepared]:
        head = f"\ndef {name}("
        start = text.index(head)
        body = text.index(":\n", start) + 2
        text = text[:body] + "    print(locals())\n" + text[body:]
    text = text.replace("    for t in range(T_x):\n", "    for t in range(T_x):\n        print(t, locals())\n")
    text = text.replace("    for t in reversed(range(T_x)):\n",
                        "    for t in reversed(range(T_x)):\n        print(t, locals())\n")
    assert text.count("locals()") >= 12
    result = grade_text(grader, text)
    assert all(u.score == u.max_score for u in result.units), [(u.name, u.explanation) for u in result.units]


def test_cases_that_passed_before_a_unit_was_stopped_keep_their_credit(graders):
    """The unit child kept its case reports up to 50 ms before sending them, the CPU limit's
    floor too: a unit stopped in its last case lost the three cases it had passed (0 of 4,
    the explanation naming the first case), where one raising in that case scored 3 of 4."""
    grader = graders(A)
    text = mutate(reference_text(A), "def rnn_cell_forward(xt, a_prev, parameters):\n",
                  "def rnn_cell_forward(xt, a_prev, parameters):\n    while xt.shape[1] == 20:\n        pass\n")
    unit = next(u for u in grade_text(grader, text).units if u.name == "rnn_cell_forward")
    assert (unit.cases_passed, unit.cases_total) == (3, 4), unit.explanation
    assert "case larger" in unit.explanation and "CPU time limit" in unit.explanation, unit.explanation


def test_cases_that_passed_close_to_the_limit_keep_their_credit(graders):
    """Cases of 12 ms of CPU each, the last one never ending, under the 0.05 s limit: the
    CPU timer alone (20 ms after the first queued report) came after the holder's kill for
    the third case's report. A slow case reports at once."""
    grader = graders(A)
    burn = ("    import time as _t\n    _s = _t.process_time()\n    while _t.process_time() - _s < 0.012:\n        pass\n"
            "    while xt.shape[1] == 20:\n        pass\n")
    text = mutate(reference_text(A), "def rnn_cell_forward(xt, a_prev, parameters):\n",
                  "def rnn_cell_forward(xt, a_prev, parameters):\n" + burn)
    unit = next(u for u in grade_text(grader, text).units if u.name == "rnn_cell_forward")
    assert (unit.cases_passed, unit.cases_total) == (3, 4), unit.explanation


def test_cases_that_passed_before_a_case_that_blocks_keep_their_credit(graders):
    """A case that sleeps uses no CPU, so the CPU timer never sent the three reports queued
    before it: the wall-clock backstop's kill lost them (0 of 4, where one raising in that
    case scored 3 of 4). A wall-clock timer sends them too."""
    grader = graders(A)
    text = mutate(reference_text(A), "def rnn_cell_forward(xt, a_prev, parameters):\n",
                  "def rnn_cell_forward(xt, a_prev, parameters):\n    import time as _t\n"
                  "    if xt.shape[1] == 20:\n        _t.sleep(60)\n")
    unit = next(u for u in grade_text(grader, text).units if u.name == "rnn_cell_forward")
    assert (unit.cases_passed, unit.cases_total) == (3, 4), unit.explanation
    assert "case larger" in unit.explanation and "wall-clock" in unit.explanation, unit.explanation


def test_an_import_inside_a_unit_is_not_timed_as_the_unit(graders):
    """`import matplotlib.pyplot` (0.3 s of CPU the first time) inside a correct unit cost it
    every case at its 0.05 s limit: the imports inside the notebook's functions run once,
    after the cells, before the units are timed."""
    grader = graders(A)
    text = mutate(reference_text(A), "def rnn_cell_forward(xt, a_prev, parameters):\n",
                  "def rnn_cell_forward(xt, a_prev, parameters):\n    import matplotlib.pyplot as plt\n")
    result = grade_text(grader, text)
    assert all(u.score == u.max_score for u in result.units), [(u.name, u.explanation) for u in result.units]


def test_mentioning_a_graded_name_earns_no_reference_mode_and_no_larger_limit(graders):
    """A dead `if False: rnn_forward` in rnn_cell_forward (no reference mode of its own) gave
    it one, whose CPU limit, never measured, was the 5 s cap: code 3x over its 0.05 s limit
    passed, and looping notebooks cost 10 times longer."""
    grader = graders(A)
    slow = "    import time as _t\n    _s = _t.process_time()\n    while _t.process_time() - _s < 0.15:\n        pass\n"
    for mention in ("", "    if False:\n        rnn_forward\n"):
        text = mutate(reference_text(A), "def rnn_cell_forward(xt, a_prev, parameters):\n",
                      "def rnn_cell_forward(xt, a_prev, parameters):\n" + mention + slow)
        unit = next(u for u in grade_text(grader, text).units if u.name == "rnn_cell_forward")
        assert unit.score == 0 and unit.mode == "own", (mention, unit.explanation)
