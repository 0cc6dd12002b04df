"""The public self-checks (autograder/selfcheck/): the reference passes them, mistakes get
messages that say what to look at, stubs are reported politely, the standalone copy a
release ships needs nothing but NumPy, and `rnngrade check` runs a notebook's cells."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.assignments import assignment_ids, get_assignment
from autograder.reference import execute_with_helpers, helper_sources, load_reference, solution_source
from autograder.selfcheck import run_unit, standalone_source, units
from autograder.selfcheck.runner import Verdict

ROOT = Path(__file__).resolve().parent.parent
SELFCHECK = ROOT / "autograder" / "selfcheck"


def no_units_yet(assignment_id):
    return pytest.mark.xfail(not get_assignment(assignment_id).units, strict=False,
                             reason=f"the description of {assignment_id} has no units yet")


ALL = [pytest.param(a, marks=no_units_yet(a)) for a in assignment_ids()]


def verdicts(assignment_id, namespace, names=None):
    checks = units(assignment_id)
    return {u.name: run_unit(checks, u.name, namespace) for u in checks if names is None or u.name in names}


def mutant_namespace(assignment_id, old, new):
    """The reference's definitions with one source change, all sharing one namespace
    (as a notebook's cells do)."""
    source = solution_source(assignment_id)
    assert source.count(old) == 1, f"mutation target {old!r} occurs {source.count(old)} times"
    helpers = helper_sources(assignment_id, get_assignment(assignment_id).helpers)
    return execute_with_helpers(source.replace(old, new), helpers, "<mutant>")


# ------------------------------------------------------------------ the reference
@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_reference_passes_every_public_check(assignment_id):
    results = verdicts(assignment_id, dict(vars(load_reference(assignment_id))))
    failing = {n: v.message for n, v in results.items() if not v.passed}
    assert not failing


@pytest.mark.parametrize("assignment_id", ALL)
def test_public_checks_cover_exactly_the_graded_units(assignment_id):
    described = [u.name for u in get_assignment(assignment_id).units]
    assert described, "no units in the description yet"
    assert [u.name for u in units(assignment_id)] == described


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_every_unit_has_a_check_and_every_backward_a_gradient_check(assignment_id):
    for unit in units(assignment_id):
        assert unit.examples, unit.name
        if "backward" in unit.name:
            assert any(e.gradcheck for e in unit.examples), unit.name


# ------------------------------------------------------------------ messages
MUTANTS = [
    # (assignment, unit, old, new, words the message must contain)
    ("rnn_step_by_step", "rnn_cell_forward", "np.tanh(Waa @ a_prev + Wax @ xt + ba)",
     "np.tanh(Waa.T @ a_prev + Wax @ xt + ba)",
     ["`a_next[4]` differs", "expected 0.59584544", "got", "check which weight multiplies which vector"]),
    ("rnn_step_by_step", "rnn_cell_backward", "dba = np.sum(dz, axis=1, keepdims=True)",
     "dba = np.sum(dz, axis=0, keepdims=True)", ["dba", "shape", "(5, 1)"]),
    ("rnn_step_by_step", "rnn_backward", 'dWaa += grads_t["dWaa"]', 'dWaa = grads_t["dWaa"]',
     ["`dWaa[1][2]` differs", "add up the per-step gradients"]),
    ("rnn_step_by_step", "lstm_forward", "return a, y, c, caches", "return a, c, y, caches",
     ["y has shape (5, 10, 7); expected (2, 10, 7)", "note y before c"]),
    ("char_lm", "rnn_cell_backward", 'gradients["dWaa"] += draw @ a_prev.T', 'gradients["dWaa"] += draw @ a.T',
     ["numerical gradient check: dWaa disagrees", "relative error"]),
    ("char_lm", "sample", "np.random.seed(counter + seed)", "np.random.seed(seed)", ["`indices`: expected [23, 16, 26"]),
    ("char_lm", "clip", "return {name: np.clip(gradients[name], -maxValue, maxValue)",
     "return {name: np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
     ["modified its argument `gradients`"]),
    ("rnn_layers", "lstm_step_forward", "i = sigmoid(a[:, 0:H])\n    f = sigmoid(a[:, H:2 * H])",
     "f = sigmoid(a[:, 0:H])\n    i = sigmoid(a[:, H:2 * H])", ["differs", "i, f, o, g"]),
    ("rnn_layers", "word_embedding_backward", "np.add.at(dW, x, dout)", "dW[x] += dout",
     ["numerical gradient check: dW", "np.add.at"]),
    ("time_layers", "RNN.backward",
     "# [...] = keeps the gradient arrays' identity (optimizers hold references).\n        self.grads[0][...] = dWx",
     "self.grads[0] = dWx", ["`kept[0]`: expected True, got False", "do not rebind"]),
    ("time_layers", "TimeSoftmaxWithLoss.forward", "loss /= mask.sum()", "loss /= N * T",
     ["`loss` differs", "not over N or N*T"]),
    ("dinosaurus", "sample", "np.random.seed(counter + seed)", "np.random.seed(seed)",
     ["`indices`: expected [23, 16, 26", "re-seed NumPy with counter + seed"]),
    ("dinosaurus", "optimize", "gradients = clip(gradients, 5)", "gradients = clip(gradients, 50)",
     ["`int(np.argmax(dWax))`: expected 93, got 1038", "clip(gradients, 5)"]),
    ("dinosaurus", "model", "    np.random.shuffle(examples)\n", "", ["differs", "shuffle the names once"]),
]


@pytest.mark.parametrize("assignment_id,unit,old,new,words", MUTANTS, ids=[f"{m[0]}-{m[1]}" for m in MUTANTS])
def test_a_mistake_fails_with_a_message_saying_what_to_look_at(assignment_id, unit, old, new, words):
    verdict = verdicts(assignment_id, mutant_namespace(assignment_id, old, new), [unit])[unit]
    assert verdict.status == "failed", verdict
    for word in words:
        assert word in verdict.message, verdict.message


def _stub(*args, **kwargs):
    raise NotImplementedError()


def test_stubs_are_todo_and_dependencies_are_named():
    ns = execute_with_helpers(solution_source("rnn_step_by_step"), helper_sources("rnn_step_by_step", ["rnn_utils"]), "x")
    ns["rnn_cell_forward"] = _stub
    del ns["lstm_backward"]
    result = verdicts("rnn_step_by_step", ns)
    assert result["rnn_cell_forward"].status == "missing"
    assert "not implemented yet (raises NotImplementedError)" in result["rnn_cell_forward"].message
    # rnn_forward calls the student's (stubbed) cell: named, not blamed on rnn_forward
    assert result["rnn_forward"].status == "missing"
    assert "needs rnn_cell_forward, which is not implemented yet" in result["rnn_forward"].message
    assert "lstm_backward is not defined" in result["lstm_backward"].message
    assert result["lstm_cell_forward"].passed


def test_class_method_stub_is_named_with_its_class():
    ns = mutant_namespace("time_layers", "h_next = np.tanh(h_prev @ Wh + x @ Wx + b)\n        self.cache",
                          "raise NotImplementedError()\n        self.cache")
    result = verdicts("time_layers", ns, ["RNN.forward", "TimeRNN.forward"])
    assert result["RNN.forward"].message.startswith("not implemented yet")
    assert "needs RNN.forward" in result["TimeRNN.forward"].message


def test_wrong_arity_is_a_contract_message():
    ns = mutant_namespace("rnn_step_by_step", "return a_next, c_next, yt_pred, cache", "return a_next, c_next, cache")
    v = verdicts("rnn_step_by_step", ns, ["lstm_cell_forward"])["lstm_cell_forward"]
    assert "returned 3 values; expected 4 (a_next, c_next, yt_pred, cache)" in v.message


def test_check_prints_one_line_per_unit_and_strict_raises(capsys):
    from autograder.selfcheck import checker

    check = checker("rnn_step_by_step")
    ns = dict(vars(load_reference("rnn_step_by_step")))
    ns["rnn_cell_backward"] = _stub
    assert check("rnn_cell_forward", "rnn_cell_backward", namespace=ns) is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and " ok " in lines[0] and " TODO " in lines[1]
    with pytest.raises(AssertionError, match="rnn_cell_backward"):
        check("rnn_cell_backward", namespace=ns, strict=True, quiet=True)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="no public checks"):
        check("no_such_unit", namespace=ns)


def test_check_reads_the_callers_globals(capsys):
    from autograder.selfcheck import checker

    check = checker("char_lm")
    code = "import numpy as np\ndef softmax(x):\n    e = np.exp(x - x.max())\n    return e / e.sum(axis=0)\ncheck('softmax')\n"
    exec(compile(code, "<cell>", "exec"), {"check": check})
    assert " ok " in capsys.readouterr().out


def test_the_global_random_state_is_left_alone():
    import numpy as np

    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    verdicts("rnn_step_by_step", dict(vars(load_reference("rnn_step_by_step"))))
    assert np.random.rand() == expected


# ------------------------------------------------------------------ standalone copy
STDLIB = {"copy", "re", "sys", "traceback", "ast", "builtins", "io", "signal", "json", "dataclasses",
          "functools", "__future__", "pathlib", "os", "math", "importlib"}


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_standalone_module_needs_only_numpy(assignment_id, tmp_path):
    text = standalone_source(assignment_id)
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= STDLIB | {"numpy"}, imported
    assert "autograder" not in imported and "reference" not in imported
    # the concatenated modules never define one top-level name twice (one would shadow the other)
    defined = [t.id if isinstance(t, ast.Name) else n.name
               for n in ast.parse(text).body
               for t in ([n] if isinstance(n, (ast.FunctionDef, ast.ClassDef)) else getattr(n, "targets", []))
               if isinstance(t, (ast.Name, ast.FunctionDef, ast.ClassDef))]
    twice = {name for name in defined if defined.count(name) > 1 and name not in ("_unit",)}
    assert not twice, twice
    # it imports and runs in a bare folder, without rnngrade installed
    (tmp_path / "rnngrade_check.py").write_text(text)
    import subprocess

    out = subprocess.run([sys.executable, "-I", "-c",
                          f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import rnngrade_check as m; "
                          "print(len(m.UNITS), callable(m.check))"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(units(assignment_id))), "True"]


def test_selfcheck_package_never_loads_the_reference():
    for path in [*SELFCHECK.glob("*.py"), *ROOT.glob("reference/*/checks.py")]:
        text = path.read_text()
        assert "load_reference" not in text and "solution_source" not in text, path
        assert "autograder.assignments" not in text or path.name == "notebook.py", path


# ------------------------------------------------------------------ rnngrade check
def _run_cli(*args):
    from autograder.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_rnngrade_check_on_the_source_and_release_notebooks():
    source = ROOT / "source" / "rnn_step_by_step" / "rnn_step_by_step.ipynb"
    release = ROOT / "release" / "rnn_step_by_step" / "rnn_step_by_step.ipynb"
    ok = _run_cli("check", "rnn_step_by_step", str(source))
    assert ok.exit_code == 0, ok.output
    lines = ok.output.splitlines()
    assert len(lines) == 8 and all(" ok " in line for line in lines), ok.output
    todo = _run_cli("check", "rnn_step_by_step", str(release))
    assert todo.exit_code == 1
    assert len(todo.output.splitlines()) == 8
    assert todo.output.count("TODO") == 8 and "not implemented yet" in todo.output


def test_rnngrade_check_runs_no_submission_unsandboxed_unless_told(tmp_path):
    """`rnngrade check` runs a notebook's code as the instructor, outside the sandbox (it
    is the student's own check): a submission's top-level cell copied the reference
    solution to a file. A notebook outside the course's source/ and release/ is refused
    (pointing at `rnngrade grade`) unless --trusted is given."""
    import nbformat

    marker = tmp_path / "ran.txt"
    path = tmp_path / "submission.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"open({str(marker)!r}, 'w').write('ran')")]), path)
    refused = _run_cli("check", "rnn_step_by_step", str(path))
    assert refused.exit_code == 2 and "rnngrade grade rnn_step_by_step" in refused.output, refused.output
    assert not marker.exists()
    run = _run_cli("check", "rnn_step_by_step", str(path), "--trusted")
    assert run.exit_code == 1 and marker.exists(), run.output


def test_rnngrade_check_tolerates_failing_cells_and_never_reads_the_reference(tmp_path, monkeypatch):
    import nbformat

    import autograder.reference as reference

    def boom(*args, **kwargs):
        raise AssertionError("the self-check must not load the reference")

    monkeypatch.setattr(reference, "load_reference", boom)
    monkeypatch.setattr(reference, "solution_source", boom)
    ns_source = solution_source("char_lm").replace("import numpy as np\nfrom utils import *\n", "")
    tree = ast.parse(ns_source)
    defs = {n.name: ast.get_source_segment(ns_source, n) for n in tree.body}
    cells = [
        "import numpy as np\nfrom utils import *\nimport no_such_course_module",
        defs["softmax"],
        "def rnn_cell_forward(xt, a_prev, parameters):\n    return 1 +",  # does not parse
        "raise RuntimeError('a failing cell costs only itself')",
        defs["clip"] + "\nprint('noise that must not reach the report')",
        "%matplotlib inline\n" + defs["update_parameters"],
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "student.ipynb"
    nbformat.write(nb, path)
    result = _run_cli("check", "char_lm", str(path), "--trusted")
    assert result.exit_code == 1
    verdict = {line.split()[0]: line.split()[1] for line in result.output.splitlines() if not line.startswith("note")}
    assert verdict["softmax"] == "ok" and verdict["clip"] == "ok" and verdict["update_parameters"] == "ok"
    assert verdict["rnn_cell_forward"] == "TODO" and verdict["optimize"] == "TODO"
    assert "noise" not in result.output
    assert "does not parse" in result.output and "RuntimeError" in result.output
    only = _run_cli("check", "char_lm", str(path), "--unit", "clip", "--trusted")
    assert only.exit_code == 0 and len(only.output.splitlines()) == 4  # clip + three notes
    assert _run_cli("check", "char_lm", str(path), "--unit", "no_such_unit", "--trusted").exit_code == 2


def test_verdict_line_format():
    assert Verdict("clip", "failed", "x").line(6).startswith("clip    FAILED  x")


def test_a_failing_unit_names_the_failing_units_it_uses():
    ns = mutant_namespace("rnn_step_by_step", "np.tanh(Waa @ a_prev + Wax @ xt + ba)", "np.tanh(Waa @ a_prev + Wax @ xt)")
    result = verdicts("rnn_step_by_step", ns, ["rnn_forward", "rnn_backward", "lstm_forward"])
    assert "it uses your rnn_cell_forward, which does not pass its own checks yet" in result["rnn_forward"].message
    assert "rnn_forward, rnn_cell_backward, which do not pass their own checks yet" in result["rnn_backward"].message
    assert result["lstm_forward"].passed


# ------------------------------------------------ one vocabulary with the grader
EXTRA_KEY = ('gradients = {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}',
             'gradients = {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba, "dWya": 0}')


def test_an_extra_key_fails_the_public_check_as_it_fails_the_grader(graders, tmp_path):
    """Issue 13, point 4: the public check reads a return value with the grader's rule."""
    import nbformat

    from conftest import grade_text

    mutant = solution_source("rnn_step_by_step").replace(*EXTRA_KEY)
    assert mutant.count('"dWya": 0') == 1
    graded = {u.name: u for u in grade_text(graders("rnn_step_by_step"), mutant).units}["rnn_cell_backward"]
    assert graded.score == 0 and "unexpected key(s) 'dWya'" in graded.explanation
    # in process (Jupyter's `check(...)`)
    verdict = verdicts("rnn_step_by_step", mutant_namespace("rnn_step_by_step", *EXTRA_KEY),
                       ["rnn_cell_backward"])["rnn_cell_backward"]
    assert verdict.status == "failed" and "unexpected key(s) 'dWya'" in verdict.message, verdict
    # and the generated rnngrade_check.py, under `rnngrade check`
    path = tmp_path / "student.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(mutant)]), path)
    run = _run_cli("check", "rnn_step_by_step", str(path), "--unit", "rnn_cell_backward", "--trusted")
    assert run.exit_code == 1 and "FAILED" in run.output and "unexpected key(s) 'dWya'" in run.output, run.output


def test_a_student_checks_from_a_shell_with_the_release_folder_alone(tmp_path):
    """No install: `python rnngrade_check.py NOTEBOOK` in the release folder runs the
    notebook's code cells and the public checks, with the grader's reading of returns."""
    import shutil
    import subprocess

    import nbformat

    folder = tmp_path / "rnn_step_by_step"
    shutil.copytree(ROOT / "release" / "rnn_step_by_step", folder)
    shutil.copy(ROOT / "source" / "rnn_step_by_step" / "rnn_step_by_step.ipynb", folder / "mine.ipynb")
    nb = nbformat.read(folder / "mine.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace(*EXTRA_KEY)
    nbformat.write(nb, folder / "extra.ipynb")

    def run(*args):
        return subprocess.run([sys.executable, "-I", "rnngrade_check.py", *args], cwd=folder,
                              capture_output=True, text=True, timeout=300)

    ok = run("mine.ipynb")
    assert ok.returncode == 0 and ok.stdout.count(" ok ") == 8, ok.stdout + ok.stderr
    extra = run("extra.ipynb", "rnn_cell_backward")
    assert extra.returncode == 1 and "unexpected key(s) 'dWya'" in extra.stdout, extra.stdout + extra.stderr
    assert run("mine.ipynb", "no_such_unit").returncode == 2
    # a name mistyped, or a file that is no notebook: one line, no traceback
    for name, text in (("nothere.ipynb", None), ("broken.ipynb", '{"cells": 5}')):
        if text is not None:
            (folder / name).write_text(text)
        said = run(name)
        assert said.returncode == 2 and said.stdout.startswith(f"cannot read {name}") and not said.stderr, said


@pytest.mark.parametrize("assignment_id,unit,old,new,words", MUTANTS, ids=[f"{m[0]}-{m[1]}" for m in MUTANTS])
def test_the_grader_agrees_with_the_public_check_on_each_mutant(graders, assignment_id, unit, old, new, words):
    """Issue 13, point 4: what a public check fails, the grader fails too."""
    from conftest import grade_text

    source = solution_source(assignment_id)
    assert source.count(old) == 1
    graded = {u.name: u for u in grade_text(graders(assignment_id), source.replace(old, new)).units}[unit]
    assert graded.score < graded.max_score, graded.explanation


def test_the_checks_run_a_notebooks_magics_and_imports_as_the_grader_does(tmp_path, graders):
    """`%%time` around a definition (the grader and Jupyter define it; `rnngrade check` said
    TODO), `%%writefile` around one (Jupyter writes a file and defines nothing: the grader
    keeps the stub before it, the shell check ran the cell's code and said ok), and no
    import cell (the grader runs the assignment's imports first: the shell check failed
    every unit on NameError np)."""
    import shutil
    import subprocess

    import nbformat

    source = nbformat.read(ROOT / "source" / "rnn_step_by_step" / "rnn_step_by_step.ipynb", as_version=4)
    code = [c for c in source.cells if c.cell_type == "code"]
    imports = next(c for c in code if "import numpy as np" in c.source)
    forward = next(c for c in code if c.source.lstrip().startswith("def rnn_forward("))
    backward = next(c for c in code if c.source.lstrip().startswith("def lstm_cell_backward("))
    forward.source = "%%time\n" + forward.source
    stub = "def lstm_cell_backward(da_next, dc_next, cache):\n    raise NotImplementedError\n"
    source.cells.insert(source.cells.index(backward), nbformat.v4.new_code_cell(stub))
    backward.source = "%%writefile lstm_cell_backward.py\nimport numpy as np\nfrom rnn_utils import *\n" + backward.source
    source.cells.remove(imports)
    folder = tmp_path / "rnn_step_by_step"
    shutil.copytree(ROOT / "release" / "rnn_step_by_step", folder)
    nbformat.write(source, folder / "mine.ipynb")

    graded = {u.name: u.score for u in graders("rnn_step_by_step").grade_file(folder / "mine.ipynb").units}
    assert graded["rnn_forward"] == 1 and graded["lstm_cell_backward"] == 0, graded
    shell = subprocess.run([sys.executable, "-I", "rnngrade_check.py", "mine.ipynb"], cwd=folder,
                           capture_output=True, text=True, timeout=300)
    cli = _run_cli("check", "rnn_step_by_step", str(folder / "mine.ipynb"), "--trusted")
    for output in (shell.stdout, cli.output):
        verdict = {line.split()[0]: line.split()[1] for line in output.splitlines() if not line.startswith("note")}
        assert verdict["rnn_forward"] == "ok" and verdict["lstm_cell_backward"] == "TODO", output
        assert verdict["rnn_cell_forward"] == "ok", output
    # the file %%writefile wrote, and a module the notebook then imports from it, as the grader
    # and Jupyter do (the shell check dropped the cell: ModuleNotFoundError)
    assert (folder / "lstm_cell_backward.py").is_file()
    source.cells.append(nbformat.v4.new_code_cell("from lstm_cell_backward import lstm_cell_backward"))
    (folder / "lstm_cell_backward.py").unlink()
    nbformat.write(source, folder / "mine.ipynb")
    assert graders("rnn_step_by_step").grade_file(folder / "mine.ipynb").units[6].score == 1
    shell = subprocess.run([sys.executable, "-I", "rnngrade_check.py", "mine.ipynb"], cwd=folder,
                           capture_output=True, text=True, timeout=300)
    verdict = {line.split()[0]: line.split()[1] for line in shell.stdout.splitlines() if not line.startswith("note")}
    assert verdict["lstm_cell_backward"] == "ok", shell.stdout + shell.stderr
