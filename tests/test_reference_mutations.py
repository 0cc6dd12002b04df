"""The reference checks can fail: each small mutation of a reference (a transposed
weight, a dropped bias, a wrong sum axis, a swapped gate, a wrong normalisation) makes
the published-value, gradient and oracle tests fail. Each mutant is a copy of
reference/ with one edit, checked by running those test files against it in a
subprocess (RNNGRADE_COURSE points the loader at a course holding the copy)."""
import os
import shutil
from pathlib import Path

import pytest
from fork_server import ForkServer

from autograder.course import reference_root

TESTS = Path(__file__).parent
FAMILY_TESTS = {
    "rnn_step_by_step": ["test_reference_step_by_step.py", "test_reference_oracle.py"],
    "char_lm": ["test_reference_char_lm.py"],
    "rnn_layers": ["test_reference_rnn_layers.py", "test_reference_oracle.py"],
    "time_layers": ["test_reference_time_layers.py", "test_reference_oracle.py"],
    "dinosaurus": ["test_reference_dinosaurus.py"],
}

MUTANTS = [
    ("rnn_step_by_step", "transposed weight", "np.tanh(Waa @ a_prev + Wax @ xt + ba)", "np.tanh(Waa.T @ a_prev + Wax @ xt + ba)"),
    ("rnn_step_by_step", "dropped bias", "ot = sigmoid(Wo @ concat + bo)", "ot = sigmoid(Wo @ concat)"),
    ("rnn_step_by_step", "wrong sum axis", "dbf = np.sum(dft, axis=1, keepdims=True)", "dbf = np.sum(dft, axis=0, keepdims=True)"),
    ("rnn_step_by_step", "swapped gates", "ft = sigmoid(Wf @ concat + bf)\n    it = sigmoid(Wi @ concat + bi)",
     "ft = sigmoid(Wi @ concat + bi)\n    it = sigmoid(Wf @ concat + bf)"),
    ("char_lm", "transposed weight", "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)", "a_next = np.tanh(Wax @ xt + Waa.T @ a_prev + ba)"),
    ("char_lm", "wrong softmax axis", "e_x / e_x.sum(axis=0)", "e_x / e_x.sum(axis=1, keepdims=True)"),
    ("char_lm", "loss not summed", "loss -= np.log(y_hat[t][Y[t], 0])", "loss = -np.log(y_hat[t][Y[t], 0])"),
    ("rnn_layers", "transposed weight", "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)", "next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)"),
    ("rnn_layers", "swapped gates", "i = sigmoid(a[:, 0:H])\n    f = sigmoid(a[:, H:2 * H])",
     "i = sigmoid(a[:, H:2 * H])\n    f = sigmoid(a[:, 0:H])"),
    ("rnn_layers", "wrong sum axis", "db = da.sum(axis=0)", "db = da.sum(axis=0) * 0 + da.mean(axis=0)"),
    ("time_layers", "swapped gates", "f = sigmoid(A[:, :H])\n        g = np.tanh(A[:, H:2 * H])",
     "f = sigmoid(A[:, H:2 * H])\n        g = np.tanh(A[:, :H])"),
    ("time_layers", "wrong normalisation", "loss /= mask.sum()", "loss /= mask.size"),
    ("time_layers", "wrong sum axis", "db = np.sum(dt, axis=0)", "db = np.sum(dt, axis=0) / dt.shape[0]"),
    ("dinosaurus", "no re-seeding per step", "np.random.seed(counter + seed)", "np.random.seed(seed)"),
    ("dinosaurus", "wrong clipping bound", "np.clip(gradients[name], -maxValue, maxValue)",
     "np.clip(gradients[name], -maxValue, 2 * maxValue)"),
    ("dinosaurus", "hidden state not carried", "curr_loss, gradients, a_prev = optimize(",
     "curr_loss, gradients, _ = optimize("),
]


@pytest.fixture(scope="module")
def pytest_server():
    # pytest and numpy imported once (about half of a child pytest's start-up); nothing of
    # the engine before the fork: each mutant's child loads its own copy of the reference
    server = ForkServer("import numpy, pytest", cwd=TESTS.parent)
    yield server
    server.close()


RUN_PYTEST = "import sys, pytest\nsys.exit(int(pytest.main(sys.argv[1:])))\n"


@pytest.mark.parametrize("assignment,what,old,new", MUTANTS, ids=[f"{m[0]}-{m[1]}" for m in MUTANTS])
def test_reference_mutant_is_caught(tmp_path, assignment, what, old, new, pytest_server):
    root = tmp_path / "reference"
    shutil.copytree(reference_root(), root)
    solution = root / assignment / "solution.py"
    text = solution.read_text()
    assert text.count(old) == 1, f"mutation target not found once in {assignment}: {old!r}"
    solution.write_text(text.replace(old, new))
    # no third-party pytest plugins in the child (hypothesis alone takes ~1 s to import),
    # and none of the parent's options (parallel workers)
    env = dict(os.environ, RNNGRADE_COURSE=str(tmp_path), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTEST_ADDOPTS="")
    args = ["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *[str(TESTS / f) for f in FAMILY_TESTS[assignment]]]
    done = pytest_server.run(RUN_PYTEST, args, timeout=300, env=env)
    assert done.returncode == 1, f"{what} in {assignment} was not caught:\n{(done.stdout + done.stderr)[-2000:]}"
