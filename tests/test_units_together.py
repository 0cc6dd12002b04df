"""Units run together in one child first; a unit that does not pass there runs again
alone. These tests pin down what that may and may not change about verdicts."""
from conftest import grade_text, mutate, reference_text, scores

import pytest

A = "rnn_step_by_step"
FULL = {u: 1.0 for u in ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
                         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]}
CELL_FORWARD_LINE = "    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)\n"


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def test_a_side_effect_of_one_unit_costs_no_other_unit_anything(grader):
    # rnn_cell_forward is right but breaks np.tanh for whatever runs after it in the same
    # process: lstm_cell_forward fails in the shared child and must pass when run alone
    text = mutate(reference_text(A), CELL_FORWARD_LINE,
                  "    a_next = _tanh(Waa @ a_prev + Wax @ xt + ba)\n    np.tanh = np.sin\n")
    text = text.replace("def rnn_cell_forward(", "_tanh = np.tanh\n\n\ndef rnn_cell_forward(", 1)
    result = grade_text(grader, text)
    assert scores(result) == FULL, [(u.name, u.explanation) for u in result.units]


def test_a_unit_that_ends_the_shared_child_loses_only_its_own_cases(grader):
    text = mutate(reference_text(A), "    # tanh'(z) = 1 - tanh(z)^2, and a_next already is tanh(z).\n",
                  "    import os; os._exit(3)\n")
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    # rnn_backward calls the student's rnn_cell_backward: with the reference one substituted it passes
    assert scores(result) == {**FULL, "rnn_cell_backward": 0.0}, [(u.name, u.explanation) for u in result.units]
    assert "exit status 3" in by_name["rnn_cell_backward"].explanation
    assert by_name["rnn_backward"].mode == "reference"


def derived_limit(grader, name: str) -> str:
    """The words for a unit's limit: its seconds and how they were set (autograder.budgets)."""
    packed = next(p.own for p in grader.prepared if p.unit.name == name)
    assert 0 < packed.seconds < 1.0 and "the reference's" in packed.why
    return f"CPU time limit of {packed.seconds:g} s ({packed.why})"


def test_a_unit_that_runs_past_its_time_is_stopped_and_the_rest_still_run(graders):
    grader = graders(A)
    text = mutate(reference_text(A), CELL_FORWARD_LINE, "    while True:\n        pass\n")
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    assert by_name["rnn_cell_forward"].score == 0.0
    # stopped at the limit derived from the reference's cost, well under the configured 5 s
    assert derived_limit(grader, "rnn_cell_forward") in by_name["rnn_cell_forward"].explanation
    assert by_name["rnn_cell_forward"].wall < 2.0
    for name in ("rnn_cell_backward", "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"):
        assert by_name[name].score == 1.0, by_name[name].explanation


def test_a_unit_stuck_in_its_own_loop_is_not_run_again_with_the_reference(graders, monkeypatch):
    # the classic never-decremented counter in rnn_backward, whose dependencies all pass:
    # its time limit is spent once (the shared child stops there, even though the news of
    # the unit's start was still queued in it), and the explanation says why
    from autograder.sandbox.client import StudentProcess

    alone = []
    original = StudentProcess.run_unit
    monkeypatch.setattr(StudentProcess, "run_unit", lambda self, *a, **k: alone.append(1) or original(self, *a, **k))
    grader = graders(A)
    text = mutate(reference_text(A), "    for t in reversed(range(T_x)):\n        # A hidden state feeds both",
                  "    t = T_x - 1\n    while t >= 0:\n        # A hidden state feeds both")
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    assert scores(result) == {**FULL, "rnn_backward": 0.0}, [(u.name, u.explanation) for u in result.units]
    text = by_name["rnn_backward"].explanation
    assert by_name["rnn_backward"].mode == "own" and derived_limit(grader, "rnn_backward") in text
    assert "Not run again with the reference" in text, text
    assert alone == [], "no unit needed a run of its own"


def test_a_unit_stuck_because_of_a_dependency_still_gets_fair_credit(graders):
    # rnn_cell_backward loops: rnn_backward, which calls it, runs out of time too, and
    # with the reference rnn_cell_backward substituted it passes
    grader = graders(A)
    text = mutate(reference_text(A), "    a_next, a_prev, xt, parameters = cache\n",
                  "    a_next, a_prev, xt, parameters = cache\n    while True:\n        pass\n")
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    assert by_name["rnn_cell_backward"].score == 0.0
    assert by_name["rnn_backward"].score == 1.0 and by_name["rnn_backward"].mode == "reference", \
        by_name["rnn_backward"].explanation


def test_a_unit_that_fails_only_through_what_it_calls_needs_no_run_alone(grader, monkeypatch):
    # a bias left out of rnn_cell_forward: rnn_forward and rnn_backward fail together with
    # the others and pass with the reference's units substituted; rnn_cell_forward itself
    # needs no run alone either: it ran first in the shared child, as it would alone, and
    # has no gradient to check (a unit that did not run first: the next test)
    from autograder.sandbox.client import StudentProcess

    runs = []
    original = StudentProcess.run_unit
    monkeypatch.setattr(StudentProcess, "run_unit", lambda self, unit, substitute, *a, **k: runs.append(
        "reference" if substitute else "own") or original(self, unit, substitute, *a, **k))
    text = mutate(reference_text(A), CELL_FORWARD_LINE, "    a_next = np.tanh(Waa @ a_prev + Wax @ xt)\n")
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    assert scores(result) == {**FULL, "rnn_cell_forward": 0.0}, [(u.name, u.explanation) for u in result.units]
    assert by_name["rnn_forward"].mode == by_name["rnn_backward"].mode == "reference"
    assert "With your own rnn_cell_forward" in by_name["rnn_forward"].explanation
    reference_mode = [u.name for u in result.units if u.mode == "reference"]
    assert runs.count("own") == 0 and runs.count("reference") == len(reference_mode), (runs, reference_mode)


def test_the_first_unit_of_the_shared_child_gets_the_verdict_of_its_run_alone(grader, monkeypatch):
    """Grader._run_together: a unit that ran first in a fresh child, with no gradient to
    check, keeps that run as its run alone; every verdict and word is what the run
    alone gives (the same submission graded with every failing unit run alone)."""
    from autograder import grader as grading
    from autograder.sandbox.client import StudentProcess

    text = mutate(reference_text(A), CELL_FORWARD_LINE,
                  "    a_next = np.tanh(Waa @ a_prev + Wax @ xt) + 1\n    print('a_next', a_next.shape)\n")
    runs = []
    original = StudentProcess.run_unit
    monkeypatch.setattr(StudentProcess, "run_unit", lambda self, unit, substitute, *a, **k: runs.append(
        "reference" if substitute else "own") or original(self, unit, substitute, *a, **k))

    def verdicts():
        runs.clear()
        return [(u.name, u.score, u.status, u.mode, u.explanation) for u in grade_text(grader, text).units], list(runs)

    shortcut, shortcut_runs = verdicts()
    monkeypatch.setattr(grading._UnitState, "ran_first", property(lambda self: False, lambda self, value: None))
    alone, alone_runs = verdicts()
    assert shortcut == alone
    assert shortcut_runs.count("own") == 0 and alone_runs.count("own") == 1
    explanation = dict((name, words) for name, _, _, _, words in shortcut)["rnn_cell_forward"]
    assert "Printed output (trimmed):\n      a_next (5, 1)" in explanation


def test_every_own_run_comes_before_any_run_with_reference_units(grader, monkeypatch):
    # a bias left out of rnn_cell_forward (its callers pass with the reference's) and a
    # wrong axis in lstm_cell_backward (its own bug: it needs its own run alone, and
    # lstm_backward, which calls it, passes with the reference's). After a run with
    # reference units served the student process may hold the reference's outputs, so an
    # own-mode run after it would need a fresh process: none is needed.
    from autograder.sandbox.client import StudentProcess

    runs, spawns = [], []
    original_run, original_spawn = StudentProcess.run_unit, StudentProcess._spawn
    monkeypatch.setattr(StudentProcess, "run_unit", lambda self, unit, substitute, *a, **k: runs.append(
        "reference" if substitute else "own") or original_run(self, unit, substitute, *a, **k))
    monkeypatch.setattr(StudentProcess, "_spawn", lambda self, *a, **k: spawns.append(1) or original_spawn(self, *a, **k))
    text = mutate(reference_text(A), CELL_FORWARD_LINE, "    a_next = np.tanh(Waa @ a_prev + Wax @ xt)\n")
    text = mutate(text, "    dbo = np.sum(dot, axis=1, keepdims=True)\n", "    dbo = np.sum(dot, axis=0, keepdims=True)\n")
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    assert scores(result) == {**FULL, "rnn_cell_forward": 0.0, "lstm_cell_backward": 0.0}, \
        [(u.name, u.explanation) for u in result.units]
    assert by_name["lstm_backward"].mode == "reference"
    assert "own" in runs and "reference" in runs[runs.index("own"):], runs
    assert "own" not in runs[runs.index("reference"):], runs
    assert len(spawns) == 1, spawns


def test_a_first_unit_cut_short_with_its_child_still_runs_alone(grader, monkeypatch):
    """Only a first unit that reported every case stands for its run alone: one whose
    shared child ended under it (the holder gone, the protocol broken) runs again."""
    from autograder.sandbox.client import StudentProcess, UnitRun

    real_units, runs, passes = StudentProcess.run_units, [], []

    def cut_short(self, requests):
        results = real_units(self, requests)
        passes.append(len(requests))
        if len(passes) == 1:  # the first pass: as if the child had ended under unit 0
            results = [UnitRun(cases=[None] * requests[0].count, ended="the student process broke the grading "
                               "protocol or ended (EOFError); it was restarted")] + [None] * (len(requests) - 1)
        return results

    monkeypatch.setattr(StudentProcess, "run_units", cut_short)
    original = StudentProcess.run_unit
    monkeypatch.setattr(StudentProcess, "run_unit", lambda self, unit, substitute, *a, **k: runs.append(
        "reference" if substitute else "own") or original(self, unit, substitute, *a, **k))
    result = grade_text(grader, reference_text(A))
    assert scores(result) == FULL, [(u.name, u.explanation) for u in result.units]
    assert runs == ["own"] and passes == [8, 7]  # rnn_cell_forward alone; the others in a further shared child


def test_a_unit_that_writes_garbage_into_the_grading_socket_before_any_message_runs_once_more(grader, monkeypatch):
    """A run whose first frame cannot be decoded heard nothing from its unit: the student
    process may have been damaged before (StudentProcess.run_unit), so it is restarted and
    the unit runs once more; the garbage costs that unit its cases, and no other unit anything."""
    from autograder.sandbox.client import StudentProcess

    garbage = ("    import os as _os, stat as _stat\n"
               "    for _fd in range(3, 64):\n"
               "        try:\n"
               "            if _stat.S_ISSOCK(_os.fstat(_fd).st_mode):\n"
               "                _os.write(_fd, b'\\x01\\x00\\x00\\x00\\xc1')  # a frame of one byte msgpack refuses\n"
               "        except OSError:\n"
               "            pass\n")
    text = reference_text(A).replace("def rnn_forward(x, a0, parameters):\n",
                                     "def rnn_forward(x, a0, parameters):\n" + garbage, 1)
    attempts = []
    original = StudentProcess._run_unit_once
    monkeypatch.setattr(StudentProcess, "_run_unit_once", lambda self, unit, substitute, *a, **k: attempts.append(
        (unit.spec, bool(substitute))) or original(self, unit, substitute, *a, **k))
    result = grade_text(grader, text)
    by_name = {u.name: u for u in result.units}
    assert scores(result) == {**FULL, "rnn_forward": 0.0}, [(u.name, u.explanation) for u in result.units]
    assert "broke the grading protocol" in by_name["rnn_forward"].explanation
    own = [spec for spec, substituted in attempts if not substituted]
    assert len(own) == 2 and own[0] == own[1]  # its run alone, and once more in a fresh process
