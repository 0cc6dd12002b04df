"""Statements that cannot change a grade are not run (autograder.slicing): each rule of
the slice keeps what a unit could see, and grading with the slice gives the same
verdicts as grading without it on every corpus of the tests and examples."""
import sys
from pathlib import Path

import pytest

from autograder.assignments import get_assignment
from autograder.slicing import slice_cells, unit_roots
from autograder.submission import Cell
from conftest import SEEDS, reference_text

ROOT = Path(__file__).resolve().parent.parent
A = "rnn_step_by_step"
ROOTS = {"rnn_cell_forward", "np"}


def kept(*sources, roots=ROOTS) -> list[str]:
    """The non-blank lines that survive the slice, over all cells."""
    cells = [Cell(f"cell {i + 1}", s) for i, s in enumerate(sources)]
    result = slice_cells(cells, set(roots))
    return [line.strip() for c in result.cells for line in c.source.splitlines() if line.strip()]


UNIT = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt\n"


def test_test_calls_prints_and_training_are_dropped():
    lines = kept("import numpy as np\n", UNIT,
                 "a, y, c = rnn_cell_forward(1, 2, {})\nprint(a)\nprint('y =', y)\n",
                 "def model(data):\n    for i in range(35000):\n        rnn_cell_forward(data, 0, {})\n",
                 "parameters = model(3)\n")
    assert lines == ["import numpy as np", "def rnn_cell_forward(xt, a_prev, parameters):", "return xt",
                     "def model(data):", "for i in range(35000):", "rnn_cell_forward(data, 0, {})"]


def test_line_numbers_stay_and_a_shared_line_stays_whole():
    cells = [Cell("cell 1", "x = 1\nprint(x)\ndef rnn_cell_forward(xt, a_prev, parameters):\n    return xt\n"),
             Cell("cell 2", "import os; print(os.sep)\n")]
    result = slice_cells(cells, {"rnn_cell_forward"})
    assert result.cells[0].source.splitlines()[2] == "def rnn_cell_forward(xt, a_prev, parameters):"
    assert result.cells[1].source == "import os; print(os.sep)\n"
    assert result.dropped == 2  # x = 1 and print(x): the unit reads neither


def test_a_form_feed_in_a_cell_blanks_the_statements_the_slice_dropped():
    source = "x = 1\x0c  # page 2\nprint(x)\ndef rnn_cell_forward(xt, a_prev, parameters):\n    return xt\n"
    result = slice_cells([Cell("cell 1", source)], {"rnn_cell_forward"})
    assert result.cells[0].source == "\n\ndef rnn_cell_forward(xt, a_prev, parameters):\n    return xt\n"


def test_statements_over_several_lines_share_only_their_first_and_last():
    # the kept `scale = ...` shares a line with the end of a dropped call and with the
    # start of another: both run whole; the print over three lines in between shares none
    source = ("first = print(1,\n"
              "              2); scale = (3 +\n"
              "                           0); last = print(4,\n"
              "                                            5)\n"
              "print(6,\n"
              "      7,\n"
              "      8)\n"
              "@staticmethod\n"
              "def rnn_cell_forward(xt, a_prev, parameters):\n"
              "    return xt * scale\n")
    result = slice_cells([Cell("cell 1", source)], {"rnn_cell_forward"})
    assert result.cells[0].source.splitlines() == source.splitlines()[:4] + ["", "", ""] + source.splitlines()[7:]
    assert result.dropped == 1


def test_a_name_the_unit_reads_is_kept_with_what_it_needs():
    unit = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt * SCALE + helper(xt)\n"
    lines = kept("BASE = 2\nSCALE = BASE * 3\nOTHER = 4\n", "def helper(v):\n    return v + OFFSET\n",
                 "OFFSET = 1\nprint(OTHER)\n", unit)
    assert "BASE = 2" in lines and "SCALE = BASE * 3" in lines and "OFFSET = 1" in lines
    assert "OTHER = 4" not in lines and "print(OTHER)" not in lines


@pytest.mark.parametrize("statement", [
    "np.random.seed(1)",                        # the global random state
    "x = np.random.randn(3)",                   # draws move it
    "np.seterr(all='raise')",                   # a module's state
    "np.set_printoptions(precision=3)",
    "np.pi = 3",                                # an attribute of an imported module
    "setattr(np, 'e', 1)",                      # dynamic
    "exec('SCALE = 3')",
    "globals()['SCALE'] = 3",
])
def test_effects_a_unit_could_see_are_kept(statement):
    lines = kept("import numpy as np\n", UNIT, statement + "\nprint('done')\n")
    assert statement in lines and "print('done')" not in lines


def test_a_call_that_writes_a_global_is_kept():
    unit = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt * SCALE\n"
    setup = "def setup():\n    global SCALE\n    SCALE = 3\n"
    outer = "def prepare():\n    setup()\n"
    lines = kept(unit, setup, outer, "prepare()\nprint('ready')\n")
    assert "prepare()" in lines and "print('ready')" not in lines


def test_a_change_in_place_of_what_a_unit_reads_is_kept():
    unit = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt * TABLE['k']\n"
    lines = kept("TABLE = {}\n", "TABLE.update(k=2)\n", "fill(TABLE)\n", "TABLE['j'] = 1\n",
                 "other = {}\nother.update(k=3)\n", unit)
    assert {"TABLE = {}", "TABLE.update(k=2)", "fill(TABLE)", "TABLE['j'] = 1"} <= set(lines)
    assert "other.update(k=3)" not in lines


@pytest.mark.parametrize("cells,needed", [
    # a method attached to the class later, in another cell or in a test cell
    (["class Layer:\n    def forward(self, x):\n        return x\n",
      "def backward(self, d):\n    return d\n", "Layer.backward = backward\nprint(Layer)\n"],
     {"Layer.backward = backward"}),
    # an attribute of the notebook's class or function, set after its definition
    (["class Cfg:\n    pass\n", "def rnn_cell_forward(xt, a_prev, parameters):\n    return Cfg.act(xt)\n",
      "import numpy as np\nCfg.act = staticmethod(np.tanh)\nprint(1)\n"], {"Cfg.act = staticmethod(np.tanh)"}),
    (["import numpy as np\n", "def rnn_cell_forward(xt, a_prev, parameters):\n    return rnn_cell_forward.act(xt)\n",
      "rnn_cell_forward.act = np.tanh\nprint(1)\n"], {"rnn_cell_forward.act = np.tanh"}),
    # a function that fills a global registry or state without a `global` statement
    (["import numpy as np\nACT = {}\n", "def register(name, fn):\n    ACT[name] = fn\n",
      "def rnn_cell_forward(xt, a_prev, parameters):\n    return ACT['tanh'](xt)\n",
      "register('tanh', np.tanh)\nprint(1)\n"], {"register('tanh', np.tanh)"}),
    (["import numpy as np\n_STATE = {}\n", "def configure(**kw):\n    _STATE.update(kw)\n",
      "def rnn_cell_forward(xt, a_prev, parameters):\n    return _STATE['act'](xt)\n",
      "configure(act=np.tanh)\nprint(1)\n"], {"configure(act=np.tanh)"}),
    # a change through another name for what the unit reads
    (["import numpy as np\nCONFIG = {}\n", "def rnn_cell_forward(xt, a_prev, parameters):\n    return CONFIG['act'](xt)\n",
      "cfg = CONFIG\ncfg['act'] = np.tanh\nprint(1)\n"], {"cfg = CONFIG", "cfg['act'] = np.tanh"}),
    # ... inside a function (red team, 2026-12-05)
    (["import numpy as np\nCONFIG = {}\n", "def rnn_cell_forward(xt, a_prev, parameters):\n    return CONFIG['act'](xt)\n",
      "def configure():\n    table = CONFIG\n    table['act'] = np.tanh\n", "configure()\nprint(1)\n"],
     {"configure()"}),
    # a notebook function that changes what it is given: a method attached through it
    (["class Layer:\n    def forward(self, x):\n        return x\n", "def backward(self, d):\n    return d\n",
      "def attach(cls, name, fn):\n    setattr(cls, name, fn)\n", "attach(Layer, 'backward', backward)\nprint(1)\n"],
     {"attach(Layer, 'backward', backward)"}),
])
def test_what_changes_a_units_names_without_rebinding_them_is_kept(cells, needed):
    """Each of these cost a correct notebook a unit's points: the slice dropped the
    statement, and the unit found no method, attribute or registry entry."""
    lines = kept(*cells, roots={"Layer", "rnn_cell_forward"})
    assert needed <= set(lines), lines
    assert "print(1)" not in lines and "print(Layer)" not in lines


def test_a_function_that_only_reads_the_notebooks_names_is_no_reason_to_run_its_calls():
    # encode() reads VOCAB with a method (no write): a training loop calling it is still dropped
    unit = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt\n"
    lines = kept("VOCAB = ['a', 'b']\n", "def encode(s):\n    return [VOCAB.index(c) for c in s]\n", unit,
                 "for i in range(100000):\n    encode('ab')\n")
    assert "encode('ab')" not in lines and "for i in range(100000):" not in lines, lines


def test_a_unit_that_reads_names_by_a_string_keeps_every_statement():
    unit = "def rnn_cell_forward(xt, a_prev, parameters):\n    return globals()['ACTIVATION'](xt)\n"
    lines = kept("import numpy as np\n", unit, "ACTIVATION = np.tanh\nprint(1)\n")
    assert "ACTIVATION = np.tanh" in lines and "print(1)" in lines


def test_a_statement_kept_for_its_effect_keeps_what_it_runs_on():
    # the random draws of a test cell stay (with the dict they fill); its call and print go
    lines = kept("import numpy as np\n", UNIT,
                 "np.random.seed(1)\np = {}\np['W'] = np.random.randn(2)\nout = rnn_cell_forward(1, 2, p)\n"
                 "print(out)\n")
    assert lines[-3:] == ["np.random.seed(1)", "p = {}", "p['W'] = np.random.randn(2)"]


def test_unit_roots_include_what_the_hidden_calls_mention():
    # time_layers' hidden set-up builds an `Embedding` (a class the student defines but no
    # graded unit is named after), and its calls read the case's inputs by name: the
    # inputs are roots only until they are named as inputs
    layers = get_assignment("time_layers")
    roots = unit_roots(layers)
    assert "Embedding" in roots and "Embedding" not in {u.name.partition(".")[0] for u in layers.units}
    assert "dout" in roots and "dout" not in unit_roots(layers, {"dout"})


# ---------------------------------------------------------------- verdicts stay the same

def _corpus():
    sys.path.insert(0, str(ROOT / "bench"))
    import make_submissions as ms

    items = [("char_lm", SEEDS / next(p.name for p in SEEDS.glob("000_*.ipynb"))),
             ("rnn_step_by_step", next(SEEDS.glob("001_*.ipynb"))),
             ("rnn_step_by_step", next(SEEDS.glob("002_*.ipynb"))),
             ("rnn_layers", next(SEEDS.glob("003_*.ipynb"))),
             ("time_layers", next(SEEDS.glob("004_*.ipynb"))),
             ("rnn_step_by_step", ROOT / "examples" / "rnn_step_by_step" / "student.ipynb")]
    items += [("rnn_step_by_step", p) for p in sorted((ROOT / "examples" / "submissions").iterdir())]
    return ms, items


def _verdicts(result):
    return [(u.name, u.score, u.status, u.mode, u.explanation) for u in result.units]


def test_the_slice_changes_no_verdict_on_the_seeds_and_examples(graders):
    _, items = _corpus()
    skipped = 0
    for assignment, path in items:
        with_slice = graders(assignment).grade_file(path)
        without = graders(assignment, slice=False).grade_file(path)
        assert _verdicts(with_slice) == _verdicts(without), path
        skipped += sum(int(n.split()[0]) for n in with_slice.notes if "were not run" in n)
    assert skipped > 0  # the corpus has test cells: the slice did skip statements


def test_the_slice_changes_no_verdict_on_a_generated_class(graders, tmp_path):
    ms, _ = _corpus()
    manifest = ms.generate(tmp_path / "class", 20, seed=5, student_style=True, steps=20)  # every category, training
    assert all("training_cell" in e["kinds"] for e in manifest)
    compared = 0
    for entry in manifest:
        path = tmp_path / "class" / f"{entry['student']}.ipynb"
        if set(entry["kinds"]) & ms.INFINITE:
            continue  # (their limits are what changes; test_budgets covers them)
        with_slice = graders(A).grade_file(path)
        without = graders(A, slice=False).grade_file(path)
        assert _verdicts(with_slice) == _verdicts(without), (entry, _verdicts(with_slice), _verdicts(without))
        compared += 1
    assert compared >= len(manifest) // 2, compared  # the skip above must not empty the comparison


def test_reference_text_loses_nothing():
    cells = [Cell("file", reference_text(A))]
    assert slice_cells(cells, unit_roots(get_assignment(A))).dropped == 0


def test_an_endless_top_level_loop_no_unit_reads_costs_nothing(graders):
    import time

    from conftest import grade_text

    text = reference_text(A) + "\n# %%\nstep = 0\nwhile True:\n    step += 1\n"
    started = time.monotonic()
    result = grade_text(graders(A), text)
    assert time.monotonic() - started < 5  # its cell's limit is 10 s
    assert all(u.score == u.max_score for u in result.units)
    assert any("2 top-level statement(s)" in n and "were not run" in n for n in result.notes), result.notes


@pytest.mark.parametrize("statement,stays", [
    ("os.chdir('/tmp')", True),                    # any other module: it may change its state
    ("warnings.filterwarnings('ignore')", True),
    ("np.save('w.npy', np.zeros(2))", True),       # numpy's state-changing functions
    ("loss = float(np.mean(np.zeros(3)))", False),  # numpy computing: nothing a unit sees
    ("plt.plot([1, 2])", False),                    # plotting
])
def test_module_calls_stay_when_they_may_change_state(statement, stays):
    lines = kept("import os, warnings\nimport numpy as np\nimport matplotlib.pyplot as plt\n", UNIT, statement + "\n")
    assert (statement in lines) == stays


def test_a_units_parameters_and_locals_are_not_the_notebooks_names():
    """`def sample(parameters, char_to_ix, seed)` reads no global `char_to_ix`: counting its
    parameters as names it reads kept the course's own last cell,
    `parameters = model(data, ix_to_char, char_to_ix)` (35,000 iterations, cut at the cell's
    time limit of 10 s in every char_lm and dinosaurus notebook), as a call that might
    change a unit's data in place."""
    unit = ("def sample(parameters, char_to_ix, seed):\n    vocab = len(char_to_ix)\n"
            "    def pick():\n        return SCALE * vocab\n    return pick()\n")
    lines = kept("import numpy as np\n", unit, "SCALE = 2\nvocab = 27\nchar_to_ix = {'a': 0}\n",
                 "def model(data, ix_to_char, char_to_ix):\n    for i in range(35000):\n"
                 "        sample({}, char_to_ix, i)\n",
                 "parameters = model(1, {}, char_to_ix)\n", roots={"sample", "np"})
    assert "parameters = model(1, {}, char_to_ix)" not in lines
    assert "vocab = 27" not in lines and "char_to_ix = {'a': 0}" not in lines
    assert "SCALE = 2" in lines  # read by a nested function: the notebook's
    # a name the function declares global is the notebook's, even where it assigns it
    lines = kept("def sample(parameters, char_to_ix, seed):\n    global count\n    count = count + 1\n"
                 "    return count\n", "count = 0\n", roots={"sample"})
    assert "count = 0" in lines


@pytest.mark.parametrize("cells,needed", [
    # an annotation is evaluated when the def runs
    (["from typing import Dict\nimport numpy as np\nParams = Dict[str, np.ndarray]\n",
      "def rnn_cell_forward(xt, a_prev, parameters: Params) -> tuple:\n    return xt\n"], {"Params = Dict[str, np.ndarray]"}),
    # a method sees the module's names, never its class body's (a method named like a global)
    (["SCALE = 2.0\n", "class Layer:\n    def SCALE(self):\n        return 1\n    def forward(self, x):\n"
      "        return x * SCALE\n"], {"SCALE = 2.0"}),
    # a default argument the notebook fills in later: what a call sees
    (["import numpy as np\nCONFIG = {}\n", "def rnn_cell_forward(xt, a_prev, parameters, config=CONFIG):\n"
      "    return config['act'](xt)\n", "CONFIG['act'] = np.tanh\nprint(1)\n"], {"CONFIG['act'] = np.tanh"}),
    # a comprehension's variable is its own, not the function's
    (["x = 3\n", "def rnn_cell_forward(xt, a_prev, parameters):\n    ys = [x for x in range(2)]\n"
      "    return xt * x\n"], {"x = 3"}),
])
def test_what_a_definition_reads_from_the_notebook_beyond_its_body(cells, needed):
    """The review found three reads the scope-aware slice missed, each costing a correct
    notebook a unit: annotations, a method named like a global another method reads, and
    a comprehension variable named like a global."""
    lines = kept(*cells, roots={"Layer", "rnn_cell_forward"})
    assert needed <= set(lines), lines


def test_imports_run_ahead_are_those_of_what_the_units_call_and_few():
    """The imports inside functions run once before the units are timed: only those of the
    graded units and the functions they call (an import in a function no unit calls hung
    the grader for a cell's limit: Jupyter would never have run it), at most 32 (one
    function importing 55,200 names made a 3 MB cell: 13 s of the grader's CPU)."""
    from autograder.slicing import MAX_WARM_IMPORTS, imports_in_functions

    cells = [Cell("c1", "def helper():\n    import scipy.special\n    return 1\n"
                        "def passed(x):\n    import json\n    return x\n"
                        "def rnn_cell_forward(xt, a_prev, parameters):\n    import math\n"
                        "    return helper(), np.apply_along_axis(passed, 0, xt)\n"
                        "def plot():\n    import matplotlib.pyplot\n")]
    assert sorted(imports_in_functions(cells, {"rnn_cell_forward"})) == ["json", "math", "scipy.special"]
    many = "def rnn_cell_forward(xt, a_prev, parameters):\n" + "".join(f"    import m{i}\n" for i in range(500))
    assert len(imports_in_functions([Cell("c", many)], {"rnn_cell_forward"})) == MAX_WARM_IMPORTS
