"""End-to-end grading of rnn_step_by_step: seeds, the reference itself, and mutants."""
import json
import subprocess
import sys

import pytest

from conftest import assert_mutant_caught, grade_text, mutate, reference_text, scores, seed_path

A = "rnn_step_by_step"
UNITS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def test_reference_scores_full_marks(grader):
    result = grade_text(grader, reference_text(A))
    assert scores(result) == {u: 1.0 for u in UNITS}, result.units


def test_seed_002_correct_forwards_and_rnn_backwards(grader):
    # 002 defines the RNN functions and the LSTM forwards correctly, no LSTM backward.
    result = grader.grade_file(seed_path("002"))
    expected = {u: 1.0 for u in UNITS[:6]} | {"lstm_cell_backward": 0.0, "lstm_backward": 0.0}
    assert scores(result) == expected
    by_name = {u.name: u for u in result.units}
    assert "not defined" in by_name["lstm_backward"].explanation
    assert "No numerical gradient check was needed" in by_name["rnn_backward"].explanation


def test_seed_001_contract_breaks_and_fair_credit(grader):
    result = grader.grade_file(seed_path("001"))
    s = scores(result)
    by_name = {u.name: u for u in result.units}
    # rnn_cell_forward returns (yt_pred, cache): wrong arity, no credit, explained
    assert s["rnn_cell_forward"] == 0
    assert "returned 2 values; expected 3" in by_name["rnn_cell_forward"].explanation
    # rnn_forward agrees with its own cell's private cache layout: full credit
    assert s["rnn_forward"] == 1
    # rnn_cell_backward reads an undefined global Wax: no credit in either mode; with the
    # reference substituted only the exception's type is shown (issue 11), and no line: its
    # own run of that case failed elsewhere (its forward), and a line the student side
    # writes could carry the reference's answers
    assert s["rnn_cell_backward"] == 0
    assert "raised NameError (with the reference substituted" in by_name["rnn_cell_backward"].explanation
    # rnn_backward is right but for taking T_x from x instead of da (A.7): credit through
    # the reference units on every case except the one where da is shorter than x
    assert s["rnn_backward"] == pytest.approx(0.8) and by_name["rnn_backward"].mode == "reference"
    assert "da shorter than x" in by_name["rnn_backward"].explanation
    for unit in UNITS[4:]:
        assert s[unit] == 0 and "not defined" in by_name[unit].explanation


MUTANTS = [
    # (unit that must lose points, old, new, words the explanation should contain)
    ("rnn_cell_forward", "np.tanh(Waa @ a_prev + Wax @ xt + ba)", "np.tanh(Waa.T @ a_prev + Wax @ xt + ba)", "`parameters['Waa']` transposed"),
    ("rnn_cell_forward", "np.tanh(Waa @ a_prev + Wax @ xt + ba)", "np.tanh(Waa @ a_prev + Wax @ xt)", "bias"),
    ("rnn_cell_backward", "dba = np.sum(dz, axis=1, keepdims=True)", "dba = np.sum(dz, axis=0, keepdims=True)", "shape"),
    ("rnn_backward", "dWaa += grads_t[\"dWaa\"]", "dWaa = grads_t[\"dWaa\"]", "differs"),
    ("lstm_cell_forward", "ft = sigmoid(Wf @ concat + bf)\n    it = sigmoid(Wi @ concat + bi)",
     "ft = sigmoid(Wi @ concat + bi)\n    it = sigmoid(Wf @ concat + bf)", "gates f and i swapped"),
    ("lstm_cell_backward", "dc_prev = ds * ft", "dc_prev = ds * it", "dc_prev"),
    ("rnn_backward", "a1, a0, x1, parameters = caches[0]\n\n    # The number of steps comes from da, so only the steps it covers are used.\n    n_a, m, T_x = da.shape",
     "a1, a0, x1, parameters = caches[0]\n\n    n_a, m, _ = da.shape\n    T_x = x.shape[2]", "da shorter than x"),
]


@pytest.mark.parametrize("unit,old,new,words", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_mutant_is_caught_and_only_its_unit_pays(grader, unit, old, new, words):
    assert_mutant_caught(grader, A, unit, old, new, words)


def test_private_cache_layout_and_equivalent_rewrites_lose_nothing(grader):
    text = reference_text(A)
    text = mutate(text, "cache = (a_next, a_prev, xt, parameters)\n    return a_next, yt_pred, cache",
                  "cache = {'p': parameters, 'x': xt, 'prev': a_prev, 'next': a_next}\n    return a_next, yt_pred, cache")
    text = mutate(text, "    a_next, a_prev, xt, parameters = cache\n    Wax = parameters[\"Wax\"]",
                  "    a_next, a_prev, xt, parameters = cache['next'], cache['prev'], cache['x'], cache['p']\n    Wax = parameters[\"Wax\"]")
    text = mutate(text, "a1, a0, x1, parameters = caches[0]", "x1 = caches[0]['x']")
    text = mutate(text, "a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)",
                  "a_next = np.tanh(np.einsum('ij,jk->ik', Waa, a_prev) + np.dot(Wax, xt) + ba)")
    result = grade_text(grader, text)
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]


def test_notebook_quirks_magics_syntax_errors_failing_and_redefined_cells(grader, tmp_path):
    import nbformat

    ref = reference_text(A)
    body = ref.split("\n", 2)[2]  # drop the preamble: the grader provides it
    defs = body.split("\ndef ")
    cells = ["%matplotlib inline\n!ls -la\nimport numpy as np\nfrom public_tests import *",
             "def rnn_cell_forward(xt, a_prev, parameters):\n    return None"]  # redefined later
    cells += [("def " + d) if i else d for i, d in enumerate(defs)]
    cells.insert(3, "raise RuntimeError('a failing test cell')")
    cells.insert(4, "def lstm_cell_forward(:\n    pass\n")  # a syntax error; real one comes later
    cells.append("  x = 1\n  y = 2")  # indented cell: IPython strips the indentation
    # a cell magic that only wraps its cell: the definitions inside still count
    lstm_backward = next(i for i, c in enumerate(cells) if c.startswith("def lstm_backward"))
    cells[lstm_backward] = "%%time\n" + cells[lstm_backward]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    result = grader.grade_file(path)
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]
    notes = "\n".join(result.notes)
    # the syntax error is reported; the failing test cell cannot change a grade and is not run
    assert "does not parse" in notes and "RuntimeError" not in notes
    assert "were not run" in notes


@pytest.mark.parametrize("content,words", [
    ("", "empty"), ("{not json", "JSON"), ('{"cells": 3}', "notebook"), ("\x00\x01binary", "")])
def test_unreadable_submissions_score_zero_with_a_reason(grader, tmp_path, content, words):
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    result = grader.grade_file(path)
    assert result.score == 0 and len(result.units) == len(UNITS)
    assert words in result.notes[0]


def test_cli_json_has_exactly_the_gradescope_fields(tmp_path):
    out = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", A, str(seed_path("002")), "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert set(data) == {"score", "execution_time", "output", "tests", "output_format", "test_output_format",
                         "test_name_format"}
    assert [t["name"] for t in data["tests"]] == UNITS
    for t in data["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output"}
        assert t["status"] == ("passed" if t["score"] == t["max_score"] else "failed")
    assert data["score"] == 6


def test_cli_misuse_exits_2(tmp_path):
    unknown = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "nope", str(seed_path("002"))],
                             capture_output=True, text=True)
    assert unknown.returncode == 2 and "rnn_step_by_step" in unknown.stderr
    missing = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", A, str(tmp_path / "none.ipynb")],
                             capture_output=True, text=True)
    assert missing.returncode == 2


def test_table_names_the_first_problem_of_each_failing_unit(grader):
    from autograder.results import to_table

    table = to_table(grader.grade_file(seed_path("001")))
    row = next(line for line in table.splitlines() if line.startswith("rnn_cell_forward "))
    assert "failed" in row and "returned 2 values; expected 3" in row
    assert "total               1.80/8" in table


def test_a_misspelt_unit_is_pointed_out(grader):
    text = reference_text(A).replace("def lstm_cell_backward(", "def lstm_cell_bakward(")
    text = text.replace("grads_t = lstm_cell_backward(", "grads_t = lstm_cell_bakward(")
    by_name = {u.name: u for u in grade_text(grader, text).units}
    assert by_name["lstm_cell_backward"].score == 0
    assert "but `lstm_cell_bakward` is: is the name misspelt?" in by_name["lstm_cell_backward"].explanation
    assert by_name["lstm_backward"].score == 1


def test_a_notebook_of_thousands_of_cells_is_read_whole(grader, tmp_path):
    import nbformat

    cells = [f"x{i} = {i}" for i in range(5000)] + [reference_text(A).split("\n", 2)[2]]
    path = tmp_path / "long.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    result = grader.grade_file(path)
    assert scores(result) == {u: 1.0 for u in UNITS}
    # nothing to say but that the cells no unit reads were not run (x1 too: rnn_backward's
    # `x1` is its own local, not the notebook's)
    assert result.notes == ["5000 top-level statement(s), 5000 of them whole cells were not run: no graded "
                            "function reads anything they define or change (test calls, prints, plots, training)."]


def test_cells_run_without_the_graders_future_imports(grader):
    # In Jupyter an annotation naming nothing raises NameError when the def runs; the
    # sandbox must not inherit `from __future__ import annotations` from its own modules
    text = reference_text(A) + "\n\ndef helper(x: NameThatDoesNotExist):\n    return x\n\nhelper_defined = True\n"
    result = grade_text(grader, text)
    assert scores(result) == {u: 1.0 for u in UNITS}
    assert any("NameError" in n and "NameThatDoesNotExist" in n for n in result.notes), result.notes


def test_a_notebook_that_defines_a_given_helper_again_is_told_it_runs_its_own(graders):
    wrong = "def sigmoid(x):\n    return 1 / (1 + np.exp(x))\n"
    result = grade_text(graders(A), reference_text(A) + "\n" + wrong)
    assert any("defines its own `sigmoid` (given in rnn_utils)" in n for n in result.notes), result.notes
    assert next(u for u in result.units if u.name == "lstm_cell_forward").score == 0
    # imported again after it: the given one is back, and nothing is said
    again = grade_text(graders(A), reference_text(A) + "\n" + wrong + "\nfrom rnn_utils import *\n")
    assert not any("defines its own" in n for n in again.notes) and sum(u.score for u in again.units) == 8


def test_pylab_fills_the_notebooks_names_as_in_jupyter(grader, tmp_path):
    """`%pylab inline` (old notebooks) puts numpy's `tanh`, `zeros` and `sum` in the
    notebook's names: functions written with them scored 0 (NameError, or the built-in
    sum refusing `axis=`)."""
    import nbformat

    text = reference_text(A).replace("np.tanh(", "tanh(").replace("np.zeros(", "zeros(")
    assert "tanh(" in text and "np.tanh(" not in text
    path = tmp_path / "pylab.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%pylab inline"),
                                                   nbformat.v4.new_code_cell(text)]), path)
    assert scores(grader.grade_file(path)) == {u: 1.0 for u in UNITS}


def test_a_time_magic_cell_runs_as_the_notebooks_own_cell(grader, tmp_path):
    """Under `%%time` the cell ran as one block: a failing test line after the first
    definition cost every definition after it (0 where the same cell without the magic
    scored full), and errors were placed at the wrong line of no named cell."""
    import nbformat

    text = reference_text(A).replace("\ndef rnn_forward(", "\nimport no_such_module_rnngrade\n\ndef rnn_forward(", 1)
    path = tmp_path / "timed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%time\n" + text)]), path)
    result = grader.grade_file(path)
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]
    line = ("%%time\n" + text).splitlines().index("import no_such_module_rnngrade") + 1
    assert any("ModuleNotFoundError" in n and f"line {line}" in n for n in result.notes), result.notes


def test_a_module_a_cell_writes_with_writefile_can_be_imported(grader, tmp_path):
    """`%%writefile my_cells.py` and then `from my_cells import ...`: in Jupyter the file
    is written in the notebook's folder and imported; the grader wrote nothing (NameError,
    0 for a correct unit)."""
    import nbformat

    text = reference_text(A)
    start = text.index("def rnn_cell_forward(")
    end = text.index("\ndef ", start + 1)
    module = "import numpy as np\nfrom rnn_utils import *\n\n" + text[start:end] + "\n"
    rest = text[:start] + text[end:]
    path = tmp_path / "written.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(rest), nbformat.v4.new_code_cell("%%writefile my_cells.py\n" + module),
        nbformat.v4.new_code_cell("from my_cells import rnn_cell_forward")]), path)
    assert scores(grader.grade_file(path)) == {u: 1.0 for u in UNITS}


def test_a_time_magic_cell_is_sliced_and_stopped_like_any_cell(grader, tmp_path):
    """A `%%time` cell defining the units and then training forever: the slice kept it whole
    (get_ipython is dynamic) and every definition in it was lost at the cell's limit (0/8
    in 10.7 s), where the same cell without the magic scored full in a second."""
    import nbformat

    text = "%%time\n" + reference_text(A) + "\ndef train():\n    while True:\n        np.random.seed(1)\n\ntrain()\n"
    path = tmp_path / "timed_training.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)]), path)
    result = grader.grade_file(path)
    assert scores(result) == {u: 1.0 for u in UNITS}
    # the training call was left out by the slice, not stopped at the cell's limit
    assert not any("stopped at its time limit" in n for n in result.notes), result.notes
