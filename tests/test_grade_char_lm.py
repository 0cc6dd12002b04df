"""End-to-end grading of char_lm: the reference itself, seed 000, mutants, rewrites."""
import json
import subprocess
import sys

import pytest

from conftest import assert_mutant_caught, grade_text, mutate, reference_text, scores, seed_path

A = "char_lm"
UNITS = ["softmax", "rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "clip", "update_parameters", "sample", "optimize"]
FULL = {u: 1.0 for u in UNITS}


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def explanations(result) -> dict:
    return {u.name: u.explanation for u in result.units}


def seed_000_text() -> str:
    """Seed 000's code cells as a `# %%` script, for patched variants of it."""
    nb = json.loads(seed_path("000").read_text())
    return "\n".join("# %%\n" + "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_reference_scores_full_marks(grader):
    result = grade_text(grader, reference_text(A))
    assert scores(result) == FULL, [(u.name, u.explanation) for u in result.units]
    text = explanations(result)
    for unit in ("rnn_cell_backward", "rnn_backward"):
        # a backward that passes needs no numerical check: its gradients are the reference's
        assert "Numerical gradient check" not in text[unit] and "No numerical gradient check" in text[unit]
    assert "in place" not in text["update_parameters"] + text["optimize"] + text["rnn_cell_backward"]


def test_the_gradient_check_passes_the_reference_when_asked_for_every_unit(graders):
    result = grade_text(graders(A, check_all_gradients=True), reference_text(A))
    text = explanations(result)
    for unit in ("rnn_cell_backward", "rnn_backward"):
        assert "Numerical gradient check" in text[unit] and "too large" not in text[unit]


def test_seed_000_verdicts(grader):
    # Seed 000 defines softmax .. rnn_backward and nothing after them.
    result = grader.grade_file(seed_path("000"))
    assert scores(result) == {
        "softmax": 1.0, "rnn_cell_forward": 1.0,
        # Overwrites the loss at every step (only the last step's term survives) and
        # writes x[t][None] = 1, a vector of ones, when X[t] is None: right only for
        # the one-step case with an integer X[0] (1 of 5).
        "rnn_forward": 0.2,
        # Adds into gradients["db"]: the key is `dba` (KeyError), in every case.
        "rnn_cell_backward": 0.0,
        # np.zeros_like["by"] is a TypeError, in both modes.
        "rnn_backward": 0.0,
        "clip": 0.0, "update_parameters": 0.0, "sample": 0.0, "optimize": 0.0,
    }
    by_name = {u.name: u for u in result.units}
    text = explanations(result)
    assert by_name["rnn_forward"].cases_passed == 1
    assert "`loss` differs" in text["rnn_forward"] and "X[0] is None" in text["rnn_forward"]
    assert "It fails with the same kind of failure with the reference rnn_cell_forward substituted" in text["rnn_forward"]
    assert "KeyError: 'db'" in text["rnn_cell_backward"]
    assert "not subscriptable" in text["rnn_backward"] and "line 11" in text["rnn_backward"]
    for unit in ("clip", "update_parameters", "sample", "optimize"):
        assert text[unit] == f"{unit} is not defined in the submission."


def test_seed_000_with_its_typos_fixed_still_loses_da_next_but_not_rnn_backward(grader):
    # With `db` -> `dba` and zeros_like(...) fixed, the second bug of its cell backward
    # shows: da_next accumulated with += instead of replaced. Its rnn_backward is right
    # and earns full credit with the reference cell backward substituted.
    text = seed_000_text()
    text = mutate(text, 'gradients["db"] += dz', 'gradients["dba"] += dz')
    text = mutate(text, 'np.zeros_like["by"], np.zeros_like["ba"]', 'np.zeros_like(by), np.zeros_like(ba)')
    result = grade_text(grader, text)
    s, by_name = scores(result), {u.name: u for u in result.units}
    assert s["rnn_cell_backward"] == 0.0 and "`da_next` differs" in by_name["rnn_cell_backward"].explanation
    assert s["rnn_backward"] == 1.0 and by_name["rnn_backward"].mode == "reference"
    assert s["rnn_forward"] == 0.2


MUTANTS = [
    # (unit that must lose points, old, new, words the explanation should contain)
    ("softmax", "e_x = np.exp(x - np.max(x))", "e_x = np.exp(x)", "NaN"),
    ("rnn_cell_forward", "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)",
     "a_next = np.tanh(Wax @ xt + Waa.T @ a_prev + ba)", "transposed"),
    ("rnn_cell_forward", "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)",
     "a_next = np.tanh(Wax @ xt + Waa @ a_prev)", "bias"),
    ("rnn_forward", "cache = (y_hat, a, x)\n    return loss, cache",
     "cache = (y_hat, a, x)\n    return loss / len(X), cache", "`loss` differs"),
    ("rnn_forward", "        if X[t] is not None:\n            x[t][X[t]] = 1", "        x[t][X[t]] = 1",
     "Hint: your outputs match the reference computed with a None input set to all ones"),
    ("rnn_forward", "        loss -= np.log(y_hat[t][Y[t], 0])", "        loss = -np.log(y_hat[t][Y[t], 0])",
     "Hint: your outputs match the reference computed with the last step's loss only"),
    ("rnn_cell_backward", 'gradients["dWax"] += draw @ x.T', 'gradients["dWax"] = draw @ x.T', "`dWax` differs"),
    ("rnn_cell_backward", 'gradients["da_next"] = parameters["Waa"].T @ draw',
     'gradients["da_next"] += parameters["Waa"].T @ draw', "Hint: your outputs match the reference computed with `da_next` accumulated"),
    ("rnn_cell_backward", 'gradients["da_next"] = parameters["Waa"].T @ draw',
     'gradients["da_next"] = parameters["Waa"] @ draw', "`da_next` differs"),
    ("rnn_backward", "for t in reversed(range(len(X))):", "for t in range(len(X)):", "differs"),
    ("rnn_backward", "    return gradients, a\n", "    return gradients\n", "expected 2 values (gradients, a)"),
    ("clip", "np.clip(gradients[name], -maxValue, maxValue)",
     "np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])", "modified its argument `gradients`"),
    ("clip", 'for name in ("dWaa", "dWax", "dWya", "dba", "dby")}', "for name in gradients}",
     "unexpected key(s) 'da_next'"),
    ("update_parameters",
     '    parameters["Wax"] -= lr * gradients["dWax"]\n    parameters["Waa"] -= lr * gradients["dWaa"]\n'
     '    parameters["Wya"] -= lr * gradients["dWya"]\n    parameters["ba"] -= lr * gradients["dba"]\n'
     '    parameters["by"] -= lr * gradients["dby"]\n    return parameters\n',
     '    return {k: parameters[k] - lr * gradients["d" + k] for k in parameters}\n', "`parameters['Wax']` differs"),
    ("update_parameters", "    return parameters\n", "", "`return value`: expected a dict, got a NoneType"),
    ("sample", "        np.random.seed(counter + seed)\n", "", "`indices`"),
    ("sample", "a = np.tanh(Wax @ x + Waa @ a_prev + ba)", "a = np.tanh(Wax @ x + Waa @ a_prev)", "`indices`"),
    ("sample", "    if counter == 50:\n        indices.append(newline)\n", "", "50-character cap"),
    ("optimize", "gradients = clip(gradients, 5)", "gradients = clip(gradients, 10)", "`gradients["),
    ("optimize", "return loss, gradients, a[len(X) - 1]", "return loss, gradients, a[-1]", "`a_last` differs"),
]


@pytest.mark.parametrize("unit,old,new,words", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_mutant_is_caught_and_only_its_unit_pays(grader, unit, old, new, words):
    assert_mutant_caught(grader, A, unit, old, new, words)


def test_callers_relying_on_in_place_updates_keep_fair_credit(grader):
    # rnn_backward and optimize that ignore the return values of rnn_cell_backward /
    # update_parameters (both update their argument in place) still earn full credit
    # through the reference units when their own units are broken.
    text = reference_text(A)
    text = mutate(text, 'gradients["dWax"] += draw @ x.T', 'gradients["dWax"] = draw @ x.T')
    text = mutate(text, "gradients = rnn_cell_backward(dy, gradients, parameters, x[t], a[t], a[t - 1])",
                  "rnn_cell_backward(dy, gradients, parameters, x[t], a[t], a[t - 1])")
    text = mutate(text, 'parameters["Wax"] -= lr * gradients["dWax"]', 'parameters["Wax"] = parameters["Wax"] * 1')
    text = mutate(text, "parameters = update_parameters(parameters, gradients, learning_rate)",
                  "update_parameters(parameters, gradients, learning_rate)")
    result = grade_text(grader, text)
    s, by_name = scores(result), {u.name: u for u in result.units}
    assert s == FULL | {"rnn_cell_backward": 0.0, "update_parameters": 0.0}, s
    assert by_name["rnn_backward"].mode == "reference" and by_name["optimize"].mode == "reference"


def test_private_cache_layout_and_equivalent_rewrites_lose_nothing(grader):
    text = reference_text(A)
    text = mutate(text, "e_x = np.exp(x - np.max(x))\n    return e_x / e_x.sum(axis=0)",
                  "e_x = np.exp(x - np.max(x, axis=0, keepdims=True))\n"
                  "    return e_x / np.sum(e_x, axis=0, keepdims=True)")
    text = mutate(text, "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)",
                  "a_next = np.tanh(np.dot(Wax, xt) + np.einsum('ij,jk->ik', Waa, a_prev) + ba)")
    # a private cache layout of its own, used consistently by its own rnn_backward
    text = mutate(text, "cache = (y_hat, a, x)\n    return loss, cache",
                  "cache = {'y_hat': y_hat, 'a': a, 'x': x}\n    return float(loss), cache")
    text = mutate(text, "(y_hat, a, x) = cache", "y_hat, a, x = cache['y_hat'], cache['a'], cache['x']")
    # rebinding the keys of the same dict instead of +=
    text = mutate(text, 'gradients["dWya"] += dy @ a.T', 'gradients["dWya"] = gradients["dWya"] + np.dot(dy, a.T)')
    text = mutate(text, "return {name: np.clip(gradients[name], -maxValue, maxValue)\n"
                        "            for name in (\"dWaa\", \"dWax\", \"dWya\", \"dba\", \"dby\")}",
                  "out = {}\n    for name in ['dWax', 'dWaa', 'dWya', 'dba', 'dby']:\n"
                  "        out[name] = np.minimum(np.maximum(gradients[name], -maxValue), maxValue)\n    return out")
    text = mutate(text, '    parameters["Wax"] -= lr * gradients["dWax"]\n    parameters["Waa"] -= lr * gradients["dWaa"]\n'
                        '    parameters["Wya"] -= lr * gradients["dWya"]\n    parameters["ba"] -= lr * gradients["dba"]\n'
                        '    parameters["by"] -= lr * gradients["dby"]\n',
                  "    for k in ('Wax', 'Waa', 'Wya', 'ba', 'by'):\n"
                  "        np.subtract(parameters[k], lr * gradients['d' + k], out=parameters[k])\n")
    # numpy integers in the sampled list, and choice over an int instead of a range
    text = mutate(text, "idx = int(np.random.choice(range(vocab_size), p=y.ravel()))",
                  "idx = np.random.choice(vocab_size, p=y.ravel())")
    text = mutate(text, 'vocab_size = parameters["by"].shape[0]\n    loss, cache',
                  'vocab_size = len(parameters["Wya"])\n    loss, cache')
    result = grade_text(grader, text)
    assert scores(result) == FULL, [(u.name, u.explanation) for u in result.units]


def test_cli_grades_seed_000(tmp_path):
    out = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", A, str(seed_path("000")), "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert [t["name"] for t in data["tests"]] == UNITS
    assert data["score"] == pytest.approx(2.2)


def test_an_update_returned_but_not_made_in_place_says_what_is_compared(graders):
    """update_parameters returning a new dict: the comparison reads the argument after the
    call, which the student's returned dict does not show; the explanation says so."""
    text = mutate(reference_text("char_lm"), "    parameters[\"Wax\"] -= lr * gradients[\"dWax\"]\n",
                  "    parameters = dict(parameters)\n    parameters[\"Wax\"] = parameters[\"Wax\"] - lr * gradients[\"dWax\"]\n")
    unit = next(u for u in grade_text(graders("char_lm"), text).units if u.name == "update_parameters")
    assert unit.score == 0 and "it must be updated in place" in unit.explanation, unit.explanation


def test_an_update_made_in_place_but_wrong_is_not_told_to_update_in_place(graders):
    """A wrong learning rate, applied in place: the note said "it must be updated in place",
    pointing the student at the one thing done right."""
    text = mutate(reference_text("char_lm"), "    parameters[\"Wax\"] -= lr * gradients[\"dWax\"]\n",
                  "    parameters[\"Wax\"] -= 0.5 * lr * gradients[\"dWax\"]\n")
    unit = next(u for u in grade_text(graders("char_lm"), text).units if u.name == "update_parameters")
    assert unit.score == 0 and "must be updated in place" not in unit.explanation, unit.explanation
