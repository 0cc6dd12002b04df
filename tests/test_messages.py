"""Messages without noise (issue 13, point 6): each thing is said once, where it belongs,
and a cell is named the way a student finds it in the notebook."""
import nbformat
import pytest

from conftest import grade_text, mutate, reference_text

A = "rnn_step_by_step"


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def everything_said(result) -> str:
    return "\n".join(result.notes + [u.explanation for u in result.units])


def test_an_unreadable_notebook_says_its_reason_once(grader, tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    result = grader.grade_file(path)
    assert result.score == 0
    assert everything_said(result).count("invalid JSON") == 1, everything_said(result)
    assert all("could not be read" in u.explanation for u in result.units)


def test_a_stub_says_not_implemented_once(grader):
    text = mutate(reference_text(A), "    caches, x = caches\n    a1, a0, x1, parameters = caches[0]\n",
                  "    raise NotImplementedError\n")
    text = mutate(text, "    caches = (caches, x)\n    return a, y_pred, caches", "    raise NotImplementedError()")
    by_name = {u.name: u for u in grade_text(grader, text).units}
    for unit in ("rnn_forward", "rnn_backward"):
        text = by_name[unit].explanation
        assert text.count("not implemented") == 1 and "fails too" not in text, text
        assert f"{unit} is not implemented yet" in text, text


def test_a_failure_repeated_in_every_case_is_said_once(grader):
    text = mutate(reference_text(A), "    a_next, a_prev, xt, parameters = cache\n",
                  "    a_next, a_prev, xt, parameters = cache\n    raise ValueError('my own check failed')\n")
    explanation = next(u.explanation for u in grade_text(grader, text).units if u.name == "rnn_cell_backward")
    assert explanation.count("my own check failed") == 1, explanation
    assert "fail the same way" in explanation


def test_cells_are_named_by_what_they_define_or_their_first_line(graders, tmp_path):
    grader = graders(A, slice=False)  # the failing print cell runs (the slice would skip it)
    body = reference_text(A).split("\n", 2)[2]
    head, _, rest = body.partition("\ndef rnn_forward(")
    cells = [nbformat.v4.new_markdown_cell("# Building an RNN"), nbformat.v4.new_code_cell("import numpy as np"),
             nbformat.v4.new_markdown_cell("## 1 - The cell"), nbformat.v4.new_code_cell(head),
             nbformat.v4.new_markdown_cell("## 2 - The sequence"),
             nbformat.v4.new_code_cell("def rnn_forward(" + rest.replace("caches = []", "caches = [", 1)),
             nbformat.v4.new_code_cell("print(undefined_name)")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    result = grader.grade_file(path)
    notes = "\n".join(result.notes)
    assert "The cell defining rnn_forward, rnn_cell_backward and 5 more, lines 1-32 does not parse" in notes, notes
    assert "The cell starting `print(undefined_name)` raised NameError" in notes, notes
    assert "cell 6" not in notes and "cell 7" not in notes
    rnn_forward = next(u for u in result.units if u.name == "rnn_forward")
    assert "the cell defining rnn_forward" in rnn_forward.explanation, rnn_forward.explanation


def test_a_stub_is_named_where_it_is_not_in_the_unit_that_calls_it(grader):
    text = mutate(reference_text(A), "    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)\n", "    raise NotImplementedError\n")
    text = mutate(text, "    y_pred = np.zeros((n_y, m, T_x))", "    y_pred = np.zeros((n_y, m, T_x + 1))")
    by_name = {u.name: u for u in grade_text(grader, text).units}
    assert "rnn_cell_forward is not implemented yet" in by_name["rnn_cell_forward"].explanation
    explanation = by_name["rnn_forward"].explanation
    assert "rnn_forward is not implemented" not in explanation, explanation
    assert "not implemented yet (rnn_cell_forward raises NotImplementedError)" in explanation, explanation
    assert "`y_pred`" in explanation, explanation  # its wrong shape, with the reference cell (redacted)


def test_print_past_the_kept_output_is_counted_but_a_redirect_still_gets_it():
    import builtins
    import contextlib
    import io
    import sys

    from autograder.sandbox import runtime

    writer, saved = runtime.BoundedWriter(), (builtins.print, sys.stdout)
    try:
        sys.stdout = writer
        runtime.print_within(writer)
        print("x" * runtime.OUTPUT_LIMIT)
        print("not formatted")  # past the kept output: counted
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            print("to the buffer")  # a redirect is not the writer: printed as always
        taken = writer.take()
    finally:
        builtins.print, sys.stdout = saved
    assert buffer.getvalue() == "to the buffer\n"
    assert "1 more print calls" in taken and "not formatted" not in taken, taken[-200:]


def test_a_missing_unit_is_not_blamed_on_a_cell_defining_a_longer_name(graders):
    """`class RNN` was found in `class RNNLM(BaseModel):`, so a deleted RNN cell was
    explained as "the cell defining RNNLM would define it but raised NameError"."""
    text = reference_text("rnn_step_by_step").replace("\ndef rnn_forward(", "\ndef rnn_forward_old(")
    text = "# %%\n" + text + "\n# %%\ndef rnn_forward_helper(x):\n    return x\n\nimport no_such_module_rnngrade\n"
    unit = next(u for u in grade_text(graders("rnn_step_by_step"), text).units if u.name == "rnn_forward")
    assert unit.score == 0 and "would define it" not in unit.explanation, unit.explanation


def test_a_unit_whose_cell_never_ran_says_so():
    """With the submission's time budget gone while its cells ran, every later unit said
    "X is not defined in the submission", though the notebook defines it."""
    from autograder.assignments import get_assignment
    from autograder.grader import _CellNote, missing_explanation
    from autograder.sandbox.client import CellReport
    from autograder.submission import Cell

    cells = [Cell("cell defining rnn_forward", "def rnn_forward(x, a0, parameters):\n    return x\n")]
    notes = [_CellNote(CellReport(1, cells[0].label, "not_run"), cells)]
    unit = get_assignment("rnn_step_by_step").unit("rnn_forward")
    text = missing_explanation(unit, {}, notes)
    assert "would define it but was not run" in text, text


def test_a_unit_bound_again_after_its_definition_says_by_what(graders):
    """`softmax = softmax(x)` in a test cell: "softmax is not defined in the submission",
    though it is; `from numpy import *` after `def clip`: numpy's clip graded, unexplained."""
    text = "# %%\n" + reference_text("char_lm") + "\n# %%\nx = np.ones((3, 1))\nsoftmax = softmax(x)\n" \
        "# %%\nfrom numpy import *\n"
    result = grade_text(graders("char_lm"), text)
    unit = next(u for u in result.units if u.name == "softmax")
    assert unit.score == 0 and "`softmax = softmax(x)`" in unit.explanation, unit.explanation
    assert any("`clip` is defined, and then bound again" in n and "from numpy import *" in n for n in result.notes), \
        result.notes


def test_a_helper_rebound_by_an_assignment_is_named_like_one_redefined(graders):
    """`sigmoid = lambda x: ...` in a test cell changed what lstm_cell_forward computes, and
    only wrong values were said: a `def sigmoid` got the note, an assignment did not."""
    text = "# %%\n" + reference_text("rnn_step_by_step") + "\n# %%\nsigmoid = lambda x: x\n"
    result = grade_text(graders("rnn_step_by_step"), text)
    assert any("defines its own `sigmoid`" in n for n in result.notes), result.notes
