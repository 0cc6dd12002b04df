"""Stage 1: reading submissions the way IPython would run them."""
import json

import nbformat
import pytest

from autograder.submission import SubmissionError, load_submission


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_py_file_without_markers_is_split_into_top_level_statements(tmp_path):
    cells = load_submission(write(tmp_path, "s.py", "import public_tests\n\n@dec\ndef f():\n    return 1\nx = 2\n"))
    assert [c.source.strip().splitlines()[0] for c in cells] == ["import public_tests", "@dec", "x = 2"]


@pytest.mark.parametrize("separator", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028"])
def test_a_form_feed_or_other_separator_does_not_shift_the_statements(tmp_path, separator):
    # str.splitlines splits at these too, the compiler does not: every statement after
    # one was cut a line off (a correct .py solution with a form feed scored 1/8)
    text = f"# section 1 {separator} helpers\ndef f():\n    return 1\n\n\ndef g():\n    return 2\nx = 3\r\ny = 4\rz = 5\n"
    cells = load_submission(write(tmp_path, "s.py", text))
    assert [c.source.strip().splitlines()[-1].strip() for c in cells] == ["return 1", "return 2", "x = 3", "y = 4",
                                                                          "z = 5"]
    assert not any(c.syntax_error for c in cells)
    broken = load_submission(write(tmp_path, "b.py", text.replace("return 2", "return 2 +")))
    assert [c.source.strip().split("(")[0] for c in broken if not c.syntax_error][-1] == "def f"
    assert [c.syntax_error for c in broken if c.syntax_error] == ["invalid syntax (line 7)"]
    assert all("def f" not in c.source for c in broken if c.syntax_error)


def test_py_file_with_cell_markers(tmp_path):
    text = "# %%\nimport numpy as np\n# %%\ndef f():\n    pass\n# In[3]:\nx = 1\n"
    cells = load_submission(write(tmp_path, "s.py", text))
    assert len(cells) == 3 and "def f" in cells[1].source


def test_syntax_error_costs_only_the_definition_it_is_in(tmp_path):
    text = "def good():\n    return 1\n\ndef helper():\n    print 'python 2'\n\ndef also_good():\n    return 2\n"
    cells = load_submission(write(tmp_path, "s.py", text))
    ok = [c for c in cells if not c.syntax_error]
    bad = [c for c in cells if c.syntax_error]
    assert [c.source.lstrip("\n").split("(")[0] for c in ok] == ["def good", "def also_good"]
    assert len(bad) == 1 and "helper" in bad[0].source
    # the line as the student's file numbers it, not as the piece cut from it would
    assert bad[0].syntax_error.endswith("(line 5)"), bad[0].syntax_error


def test_return_outside_function_is_a_syntax_error_found_before_running(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "class A:\n    def f(self):\n        pass\n    return 1\n\nclass B:\n    pass\n")])
    cells = load_submission(write(tmp_path, "n.ipynb", nbformat.writes(nb)))
    assert [bool(c.syntax_error) for c in cells] == [True, False]


def test_magics_and_shell_escapes_become_calls_and_indentation_is_stripped(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline\n!pip install x\ny = 1"),
                                         nbformat.v4.new_code_cell("   def f():\n       return 1")])
    cells = load_submission(write(tmp_path, "n.ipynb", nbformat.writes(nb)))
    assert "get_ipython()" in cells[0].source and not cells[0].syntax_error
    assert cells[1].source.lstrip("\n").startswith("def f") and not cells[1].syntax_error


def test_old_notebook_versions_are_upgraded(tmp_path):
    nb3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell("x = 1")])])
    cells = load_submission(write(tmp_path, "old.ipynb", nbformat.writes(nb3, version=3)))
    assert [c.source.strip() for c in cells] == ["x = 1"]


@pytest.mark.parametrize("text,words", [("", "empty"), ("{", "JSON"), ("[1, 2]", "not an object"),
                                        ("not json at all", "invalid JSON")])
def test_unreadable_notebooks_raise_submission_error(tmp_path, text, words):
    with pytest.raises(SubmissionError, match=words):
        load_submission(write(tmp_path, "x.ipynb", text))


def test_markdown_and_raw_cells_are_ignored(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "source": "def not_code(): pass", "metadata": {}},
        {"cell_type": "code", "source": ["x = ", "1"], "metadata": {}, "outputs": [], "execution_count": None}]}
    cells = load_submission(write(tmp_path, "n.ipynb", json.dumps(nb)))
    assert [c.source.strip() for c in cells] == ["x = 1"]


def test_cells_read_again_from_the_parse_cache_are_the_same(tmp_path, monkeypatch):
    from autograder import submission

    text = ("def good():\n    return 1\n\ndef helper():\n    print 'python 2'\n\n"
            "%time x = 1\nimport os\n\n  y = 2\n  z = 3\n\nreturn 3\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(t) for t in text.split("\n\n")])
    path = write(tmp_path, "n.ipynb", nbformat.writes(nb))
    monkeypatch.setattr(submission, "_PARSE_CACHE", submission._SourceCache(recent=128, chars=10_000))
    first = load_submission(path)
    assert submission._PARSE_CACHE.recent  # filled
    assert load_submission(path) == first  # read again, verdicts from the cache
    monkeypatch.setattr(submission, "_PARSE_CACHE_CHARS", -1)  # no cache at all: the same again
    monkeypatch.setattr(submission, "_PARSE_CACHE", submission._SourceCache(recent=128, chars=10_000))
    assert load_submission(path) == first and not submission._PARSE_CACHE.recent
    assert [bool(c.syntax_error) for c in first] == [False, True, False, False, True]
    assert "run_line_magic('time'" in first[2].source and first[3].source.startswith("y = 2")


def test_the_parse_cache_stays_bounded(monkeypatch):
    from autograder import submission

    monkeypatch.setattr(submission, "_ENTRY_CHARS", 3)
    monkeypatch.setattr(submission, "_PARSE_CACHE", submission._SourceCache(recent=10, chars=50))
    for _ in range(2):
        for i in range(25):
            assert submission._parses(f"x = {i}\n") == ""
    assert submission._parses("x = (\n" + "y" * 20_000) and len(submission._PARSE_CACHE.recent) <= 10
    # kept for good on their second reading, the last first: "x = 20\n" to "x = 24\n" (7 + 3 each) fit in 50
    assert list(submission._PARSE_CACHE.kept) == [f"x = {i}\n" for i in range(20, 25)]
    assert submission._PARSE_CACHE.kept_chars == 50
    few = submission._SourceCache(recent=1, chars=10_000, entries=3)
    for _ in range(2):
        for i in range(10):
            few.put(i, "x", i)
    assert list(few.kept) == [7, 8, 9]
    assert all(len(s) <= submission._PARSE_CACHE_CHARS for s in [*submission._PARSE_CACHE.recent,
                                                                   *submission._PARSE_CACHE.kept])


def test_cell_code_is_what_the_sandbox_would_compile():
    import marshal

    from autograder.submission import Cell, cell_code

    cell = Cell("cell 4", "def f(x):\n    def g():\n        return 1 / x\n    return g()\n")
    code = marshal.loads(cell_code(cell))
    namespace = {}
    exec(code, namespace)
    inner = namespace["f"].__code__.co_consts
    assert code.co_filename == "<cell 4>" and namespace["f"].__code__.co_filename == "<cell 4>"
    assert all(c.co_filename == "<cell 4>" for c in inner if hasattr(c, "co_filename"))
    with pytest.raises(ZeroDivisionError):
        namespace["f"](0)
    assert cell_code(Cell("cell 5", "def broken(:\n", "invalid syntax")) is None


def test_ipythons_transformer_loaded_on_its_own_rewrites_as_ipython_does():
    """submission._transformer_manager loads IPython's inputtransformer2 without running
    IPython's __init__ (the terminal, the debugger: 0.3 s at every start-up); it must be
    IPython's own transformer, rewriting every kind of cell exactly as the usual import."""
    import subprocess
    import sys

    from IPython.core.inputtransformer2 import TransformerManager

    from autograder import submission

    loaded = submission._transformer_manager()
    assert loaded.__module__ == "_rnngrade_ipython_inputtransformer2", loaded.__module__
    cells = ["%matplotlib inline\nimport numpy as np\n", "!pip install numpy\nx = 1\n", "%%time\ny = 2\n",
             "    indented = 3\n", "a = !ls\nb = %pwd\n", "np.zeros?\n", "def f(x):\n    return x\n",
             "x = (1,\n", "print('%d' % 5)\n"]
    for cell in cells:
        assert loaded().transform_cell(cell) == TransformerManager().transform_cell(cell), cell
    # and a process that reads a notebook does not import IPython's package
    probe = "import sys; from autograder.submission import warm_transformer; warm_transformer(); " \
            "print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_a_tree_every_submission_shares_stays_while_unique_cells_age_out(monkeypatch):
    from autograder import submission

    monkeypatch.setattr(submission, "_TREES", submission._SourceCache(recent=8, chars=2_000))
    shared = "import numpy as np\nx = np.zeros(3)\n"
    parsed = []
    for student in range(200):  # each hands in the shared cell and a function of its own
        parsed.append(submission.parse_tree(shared))
        unique = f"def f_{student}(x):\n    return x * {student}\n" * 3
        assert submission.parse_tree(unique) is submission.parse_tree(unique)  # parsed once per submission
    # the shared cell: parsed when it came first, and once more after it had left the
    # recent trees; kept since
    assert len({id(tree) for tree in parsed}) == 2 and all(tree is parsed[-1] for tree in parsed[10:])
    assert list(submission._TREES.kept) == [shared]  # no student's own cell is kept for good
    assert submission._TREES.kept_chars == len(shared) + submission._ENTRY_CHARS and len(submission._TREES.recent) == 8


TRICKY = ["return 3\n", "break\n", "nonlocal x\n", "x = 1\0\n", "f'{'\n", "await f()\n", "from __future__ import braces\n",
          "from __future__ import annotations\ndef f(x: int) -> int:\n    return x\n", "class A:\n    return 1\n",
          "print 'hi'\n", "def f():\n    x = 1\n    nonlocal x\n", "(a, b) += 1\n", "None = 1\n", "def f(a, a): pass\n",
          "x = (" * 300 + "1" + ")" * 300 + "\n", "def f():\n    yield 1\n    return 2\n", "a = 1\n  b = 2\n"]


@pytest.mark.parametrize("source", TRICKY)
def test_a_cell_compiled_from_its_syntax_tree_is_what_compiling_its_text_gives(source, monkeypatch):
    """submission._compile compiles the tree the slice reads (one parse per cell): the
    verdict and the code are those of compile() on the text, errors found by the
    compiler alone (`return` outside a function) included."""
    from autograder import submission

    monkeypatch.setattr(submission, "_PARSE_CACHE", submission._SourceCache(recent=8, chars=1_000))
    monkeypatch.setattr(submission, "_TREES", submission._SourceCache(recent=8, chars=1_000))
    try:
        expected = ("", compile(source, submission.CELL_FILENAME, "exec", dont_inherit=True))
    except SyntaxError as exc:
        expected = (f"{exc.msg} (line {exc.lineno})", None)
    except ValueError as exc:
        expected = (str(exc), None)
    verdict, code = submission._compile(source)
    assert verdict == expected[0]
    assert (code is None) == (expected[1] is None)
    if code is not None:
        assert (code.co_code, code.co_consts, code.co_names) == (expected[1].co_code, expected[1].co_consts,
                                                                 expected[1].co_names)


def test_a_cell_is_parsed_once_between_reading_and_slicing(monkeypatch):
    import ast

    from autograder import submission
    from autograder.slicing import slice_cells

    monkeypatch.setattr(submission, "_PARSE_CACHE", submission._SourceCache(recent=8, chars=1_000))
    monkeypatch.setattr(submission, "_TREES", submission._SourceCache(recent=8, chars=1_000))
    parsed, real = [], ast.parse
    monkeypatch.setattr(submission.ast, "parse", lambda source, *a, **k: parsed.append(source) or real(source, *a, **k))
    texts, real_compile = [], compile
    monkeypatch.setattr(submission, "compile", lambda what, *a, **k: (texts.append(what) if isinstance(what, str)
                                                                      else None) or real_compile(what, *a, **k),
                        raising=False)
    source = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt\nprint(rnn_cell_forward(1, 2, 3))\n"
    cells = submission.cells_from_sources([("cell 1", source)])
    slice_cells(cells, {"rnn_cell_forward"})
    assert parsed == [source] and texts == []  # the tree is compiled, not the text again


def test_a_py_file_is_read_in_the_encoding_its_coding_line_names(tmp_path):
    # PEP 263: Python runs this file; a grader that read only UTF-8 gave it 0 everywhere
    path = tmp_path / "s.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n# r\xe9sum\xe9 of the step\ndef f():\n    return '\xe9'\n")
    cells = load_submission(path)
    assert [c.source.strip() for c in cells] == ["def f():\n    return 'é'"]
    path.write_bytes(b"# r\xe9sum\xe9 without a coding line\ndef f():\n    return 1\n")
    with pytest.raises(SubmissionError, match="unless a coding line"):
        load_submission(path)
    path.write_bytes(b"\xef\xbb\xbfdef f():\n    return 1\n")  # a byte-order mark, as some editors write
    assert [c.source.strip() for c in load_submission(path)] == ["def f():\n    return 1"]


def test_a_file_whose_size_says_nothing_is_read_to_its_end():
    # a pipe says 0, as procfs and some network mounts do, or a file still being written
    import os

    from autograder.submission import read_capped

    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"abc" * 1000)
    os.close(write_fd)
    try:
        assert read_capped(read_fd) == b"abc" * 1000
    finally:
        os.close(read_fd)


def test_a_line_that_does_not_parse_after_a_definition_costs_only_itself():
    """`print "done"` or `print(h.shape` after a correct definition in the same cell cost
    the definition (part 3: a syntax error costs only the definition it is in); a column-0
    line inside a docstring or a bracket stays with its definition."""
    from autograder.submission import split_unparsable

    source = ('def f(x):\n    """Doc\nat column 0\n    """\n    return x + 1\nprint "done"\n'
              "class G:\n    def g(self, y):\n        return (y +\n1)\nprint(h.shape\nx = 2\n")
    pieces = [(c.label, bool(c.syntax_error), c.source.strip().splitlines()[0]) for c in split_unparsable(source, "cell")]
    assert pieces == [("cell, lines 1-5", False, "def f(x):"), ("cell, lines 6-6", True, 'print "done"'),
                      ("cell, lines 7-10", False, "class G:"), ("cell, lines 11-12", True, "print(h.shape")]


def test_a_notebook_too_large_says_how_to_hand_it_in(tmp_path):
    """A correct notebook over the size cap because of its outputs scored 0 with "the file
    is larger than 32 MiB": the reason now says what to do."""
    from autograder.submission import MAX_FILE_BYTES

    path = tmp_path / "big.ipynb"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 10)
    with pytest.raises(SubmissionError, match="clear-output") as caught:
        load_submission(path)
    assert "larger than 32 MiB" in str(caught.value)


def test_a_cells_leading_definitions_skip_set_up_magics_and_stop_before_a_shared_line():
    """What a cell stopped at its limit runs again: its definitions before its first other
    statement. A first line `%matplotlib inline` left none (the definition was lost), and a
    line `n = 1; train()` was run again whole (train() twice: two limits)."""
    from autograder.submission import Cell, cells_from_sources, leading_definitions

    [cell] = cells_from_sources([("cell", "%matplotlib inline\ndef f(x):\n    return x\nwhile True:\n    pass\n")])
    assert "def f(x):" in leading_definitions(cell) and "while" not in leading_definitions(cell)
    shared = Cell("cell", "def f(x):\n    return x\nEPS = 1e-8; train()\n")  # (EPS stays: a literal)
    assert leading_definitions(shared) == "def f(x):\n    return x\nEPS = 1e-8\n"
    timed = Cell("cell", "%time train()\ndef f(x):\n    return x\n")  # (a magic that runs code stops it)
    [timed] = cells_from_sources([(timed.label, timed.source)])
    assert leading_definitions(timed) is None


def test_a_wrapping_cell_magic_is_read_as_its_cell_even_after_a_blank_line():
    """IPython reads `%%time` as a cell magic after blank (or whitespace-only) lines too; the
    reader left such a cell wrapped, run by a runner no other cell used."""
    from autograder.submission import cells_from_sources

    [cell] = cells_from_sources([("c", "  \n%%time\ndef f(x):\n    return x\n")])
    assert cell.source == "  \n\ndef f(x):\n    return x\n" and not cell.syntax_error
