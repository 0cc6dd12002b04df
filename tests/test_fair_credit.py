"""Fair credit with private cache layouts (spec part 3, the third source of caches): a
sequence backward that is right keeps its credit when only the step forward it depends
on is wrong or missing, even though its cache layout is its own (so the reference
forward's cache does not fit it either)."""
import re

import pytest

from conftest import grade_text, mutate, reference_text


def in_block(text: str, name: str, old: str, new: str) -> str:
    """Replace exactly one occurrence of `old` inside the top-level `def`/`class` `name`."""
    match = re.search(rf"^(def|class) {re.escape(name)}\b.*?(?=^(?:def|class) |\Z)", text, re.S | re.M)
    assert match, name
    block = match.group(0)
    assert block.count(old) == 1, f"{old!r} occurs {block.count(old)} times in {name}"
    return text[:match.start()] + block.replace(old, new) + text[match.end():]


def break_block(text: str, name: str) -> str:
    """A syntax error in the first line of `name`'s body: the definition is missing."""
    return re.sub(rf"^((?:def|class) {re.escape(name)}\b[^\n]*\n)", r"\1    )(\n", text, count=1, flags=re.M)


# --- rnn_step_by_step: the sequence cache is a dict instead of (caches, x) -------------------

def step_by_step_private(text: str) -> str:
    for forward, backward in (("rnn_forward", "rnn_backward"), ("lstm_forward", "lstm_backward")):
        text = in_block(text, forward, "caches = (caches, x)", "caches = {'steps': caches, 'inputs': x}")
        text = in_block(text, backward, "caches, x = caches", "caches, x = caches['steps'], caches['inputs']")
    return text


STEP_BY_STEP_BROKEN = {
    "missing bias": ("rnn_backward", lambda t: in_block(
        t, "rnn_cell_forward", "np.tanh(Waa @ a_prev + Wax @ xt + ba)", "np.tanh(Waa @ a_prev + Wax @ xt)")),
    "swapped gates": ("lstm_backward", lambda t: in_block(
        t, "lstm_cell_forward", "ft = sigmoid(Wf @ concat + bf)\n    it = sigmoid(Wi @ concat + bi)",
        "ft = sigmoid(Wi @ concat + bi)\n    it = sigmoid(Wf @ concat + bf)")),
    "syntax error": ("rnn_backward", lambda t: break_block(t, "rnn_cell_forward")),
    "lstm syntax error": ("lstm_backward", lambda t: break_block(t, "lstm_cell_forward")),
}


@pytest.mark.parametrize("broken", sorted(STEP_BY_STEP_BROKEN))
def test_step_by_step_sequence_backward_keeps_its_credit(graders, broken):
    unit, breaking = STEP_BY_STEP_BROKEN[broken]
    result = grade_text(graders("rnn_step_by_step"), breaking(step_by_step_private(reference_text("rnn_step_by_step"))))
    by_name = {u.name: u for u in result.units}
    step = unit.replace("_backward", "_cell_forward")
    assert by_name[step].score == 0, by_name[step].explanation
    assert by_name[unit].score == 1.0, by_name[unit].explanation
    assert by_name[unit].mode == "own_forward"
    cell = unit.replace("_backward", "_cell")
    assert (f"Full credit with your own {unit.replace('backward', 'forward')} running on the reference "
            f"{cell}_forward, and the reference {cell}_backward") in by_name[unit].explanation


def test_private_layout_alone_still_needs_no_fair_credit(graders):
    result = grade_text(graders("rnn_step_by_step"), step_by_step_private(reference_text("rnn_step_by_step")))
    assert all(u.score == u.max_score and u.mode == "own" for u in result.units), \
        [(u.name, u.explanation) for u in result.units if u.score < u.max_score]


# --- rnn_layers: the sequence cache is (x, list of step caches) instead of the list ----------

def layers_private(text: str) -> str:
    text = in_block(text, "rnn_forward", "    return h, cache", "    return h, (x, cache)")
    text = in_block(text, "rnn_backward", "    _, _, Wx, Wh, _ = cache[0]", "    x_all, cache = cache\n    _, _, Wx, Wh, _ = cache[0]")
    text = in_block(text, "lstm_forward", "    return h, cache", "    return h, {'cells': cache}")
    text = in_block(text, "lstm_backward", "    Wx, Wh = cache[0][3], cache[0][4]",
                    "    cache = cache['cells']\n    Wx, Wh = cache[0][3], cache[0][4]")
    return text


def test_rnn_layers_sequence_backward_keeps_its_credit(graders):
    text = layers_private(reference_text("rnn_layers"))
    text = in_block(text, "rnn_step_forward", "+ b)", ")")  # the bias left out
    text = break_block(text, "lstm_step_forward")            # missing
    by_name = {u.name: u for u in grade_text(graders("rnn_layers"), text).units}
    assert by_name["rnn_step_forward"].score == 0 and by_name["lstm_step_forward"].score == 0
    for unit in ("rnn_backward", "lstm_backward"):
        assert by_name[unit].score == 1.0 and by_name[unit].mode == "own_forward", by_name[unit].explanation


# --- time_layers: TimeRNN / TimeLSTM keep their cells in `self.cells`, not `self.layers` -----

def time_layers_private(text: str) -> str:
    for cls in ("TimeRNN", "TimeLSTM"):
        match = re.search(rf"^class {cls}\b.*?(?=^class |\Z)", text, re.S | re.M)
        text = text[:match.start()] + match.group(0).replace("self.layers", "self.cells") + text[match.end():]
    return text


def test_time_layers_sequence_backward_keeps_its_credit(graders):
    text = time_layers_private(reference_text("time_layers"))
    text = in_block(text, "RNN", "np.tanh(h_prev @ Wh + x @ Wx + b)", "np.tanh(h_prev @ Wh + x @ Wx)")
    text = break_block(text, "LSTM")
    by_name = {u.name: u for u in grade_text(graders("time_layers"), text).units}
    assert by_name["RNN.forward"].score == 0 and by_name["LSTM.forward"].score == 0
    for unit in ("TimeRNN.backward", "TimeLSTM.backward"):
        assert by_name[unit].score == 1.0 and by_name[unit].mode == "own_forward", by_name[unit].explanation
    assert "your own TimeRNN.forward running on the reference RNN" in by_name["TimeRNN.backward"].explanation


# --- char_lm: rnn_forward's cache is a dict instead of (y_hat, a, x) -------------------------

def test_char_lm_rnn_backward_keeps_its_credit(graders):
    text = reference_text("char_lm")
    text = in_block(text, "rnn_forward", "    cache = (y_hat, a, x)", "    cache = {'y_hat': y_hat, 'a': a, 'x': x}")
    text = in_block(text, "rnn_backward", "    (y_hat, a, x) = cache", "    y_hat, a, x = cache['y_hat'], cache['a'], cache['x']")
    text = in_block(text, "rnn_cell_forward", "np.tanh(Wax @ xt + Waa @ a_prev + ba)", "np.tanh(Wax @ xt + Waa @ a_prev)")
    by_name = {u.name: u for u in grade_text(graders("char_lm"), text).units}
    assert by_name["rnn_cell_forward"].score == 0
    assert by_name["rnn_backward"].score == 1.0 and by_name["rnn_backward"].mode == "own_forward", \
        by_name["rnn_backward"].explanation


def test_the_same_mistake_gets_the_same_verdict_from_replies_known_by_their_bytes(graders, monkeypatch):
    """grader.ServedReplies: the next students with the same loop ask the same calls;
    from the fourth on they are answered from the bytes of their frames, and every verdict
    and word stays as it was."""
    from autograder import grader as grading

    grader = graders("rnn_step_by_step")
    monkeypatch.setattr(grader, "_served_replies", grading.ServedReplies())
    fresh, known = [], []
    serve, answer = grading.ReferenceServer.__call__, grading.ReferenceServer.answer_frame
    monkeypatch.setattr(grading.ReferenceServer, "__call__",
                        lambda self, message, frame=None: fresh.append(1) or serve(self, message, frame))
    monkeypatch.setattr(grading.ReferenceServer, "answer_frame",
                        lambda self, frame: (lambda reply: known.append(reply is not None) or reply)(answer(self, frame)))
    text = STEP_BY_STEP_BROKEN["missing bias"][1](reference_text("rnn_step_by_step"))
    runs = []
    for _ in range(4):
        fresh.clear(), known.clear()
        result = grade_text(grader, text)
        runs.append(([(u.name, u.score, u.status, u.mode, u.explanation) for u in result.units], len(fresh), sum(known)))
    assert runs[0][0] == runs[1][0] == runs[2][0] == runs[3][0]
    assert {u: (score, mode) for u, score, _, mode, _ in runs[0][0]}["rnn_forward"] == (1.0, "reference")
    assert runs[0][1] > 10 and runs[0][2] == runs[1][2] == runs[2][2] == 0  # the first three: every call served afresh
    assert runs[3][1] == 0 and runs[3][2] == runs[0][1]  # the fourth: every call answered from its frame


# --- a loop in a unit that others call costs only that unit ---------------------------------

@pytest.mark.parametrize("assignment,block,old,looping", [
    ("char_lm", "softmax", "    e_x = np.exp(x - np.max(x))\n", "softmax"),
    ("time_layers", "RNN", "        Wx, Wh, b = self.params\n        h_next", "RNN.forward"),
])
def test_a_unit_that_loops_costs_only_itself(graders, assignment, block, old, looping):
    """A unit stopped at its limit was not run again with the reference's units when every
    unit it calls had passed: but softmax "passed" only with the reference's own softmax
    behind it, and RNN.backward calls nothing (its fair-credit mode sets up the reference
    forward's state), so rnn_forward, rnn_backward, model and RNN.backward lost their points
    to softmax's or RNN.forward's loop, with an explanation that blamed their own code."""
    indent = old[:len(old) - len(old.lstrip())]
    text = in_block(reference_text(assignment), block, old, f"{indent}while True:\n{indent}    pass\n" + old)
    result = grade_text(graders(assignment), text)
    lost = {u.name: u.explanation for u in result.units if u.score < u.max_score}
    assert list(lost) == [looping], lost
    assert "CPU time limit" in lost[looping], lost


@pytest.mark.parametrize("call", ["        a, y = rnn_cell_forward(x, a_prev, parameters)\n",
                                  "        step = rnn_cell_forward\n        a, y = step(x, a_prev, parameters)\n"],
                         ids=["direct", "alias"])
def test_a_unit_keeps_its_credit_through_a_graded_unit_the_reference_does_not_call(graders, call):
    """The reference's `sample` computes its step inline (it calls `softmax` only); a
    student's calls `rnn_cell_forward`, which misses its bias: with the reference softmax
    alone substituted, sample lost its point (part 3: the reference versions of the units
    it calls are substituted)."""
    text = reference_text("char_lm")
    text = mutate(text, "        a = np.tanh(Wax @ x + Waa @ a_prev + ba)\n        y = softmax(Wya @ a + by)\n",
                  call)
    text = mutate(text, "    a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)\n", "    a_next = np.tanh(Wax @ xt + Waa @ a_prev)\n")
    result = {u.name: u for u in grade_text(graders("char_lm"), text).units}
    assert result["rnn_cell_forward"].score == 0, result["rnn_cell_forward"].explanation
    assert result["sample"].score == 1 and result["sample"].mode == "reference", result["sample"].explanation
    assert "the reference softmax, rnn_cell_forward substituted" in result["sample"].explanation


PRIVATE_CACHES = {  # (how the forward builds it, how the backward reads it)
    "dict": ("    cache = {'h': next_h, 'x': x, 'p': prev_h, 'W': (Wx, Wh)}\n",
             "    next_h, x, prev_h, (Wx, Wh) = cache['h'], cache['x'], cache['p'], cache['W']\n"),
    "namedtuple": ("    import collections\n    cache = collections.namedtuple('C', 'h x p W')(next_h, x, prev_h, (Wx, Wh))\n",
                   "    next_h, x, prev_h, (Wx, Wh) = cache.h, cache.x, cache.p, cache.W\n"),
    "object": ("    import types\n    cache = types.SimpleNamespace(h=next_h, x=x, p=prev_h, W=(Wx, Wh))\n",
               "    next_h, x, prev_h, (Wx, Wh) = cache.h, cache.x, cache.p, cache.W\n"),
}


def _private_step_cache(text: str, kind: str = "dict") -> str:
    """rnn_layers' reference with a private step cache that both step functions agree on."""
    build, read = PRIVATE_CACHES[kind]
    text = in_block(text, "rnn_step_forward", "    cache = (x, prev_h, Wx, Wh, next_h)\n", build)
    return in_block(text, "rnn_step_backward", "    x, prev_h, Wx, Wh, next_h = cache\n", read)


@pytest.mark.parametrize("kind", list(PRIVATE_CACHES))
def test_a_step_backward_keeps_its_credit_with_its_own_layout_when_its_forward_is_wrong(graders, kind):
    """Caches are private (part 3): with a wrong rnn_step_forward (no bias), a right
    rnn_step_backward reading its own cache layout lost its point in every mode (its own
    cache had wrong values, the reference's the wrong layout). Its own forward's layout
    with the reference's values gives it back; a wrong backward still fails."""
    text = _private_step_cache(reference_text("rnn_layers"), kind)
    text = in_block(text, "rnn_step_forward", "    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n",
                    "    next_h = np.tanh(x @ Wx + prev_h @ Wh)\n")
    result = {u.name: u for u in grade_text(graders("rnn_layers"), text).units}
    assert result["rnn_step_forward"].score == 0
    assert result["rnn_step_backward"].score == 1 and result["rnn_step_backward"].mode == "own_layout", \
        result["rnn_step_backward"].explanation
    wrong = in_block(text, "rnn_step_backward", "    db = dz.sum(axis=0)\n", "    db = dz.sum(axis=1)\n")
    result = {u.name: u for u in grade_text(graders("rnn_layers"), wrong).units}
    assert result["rnn_step_backward"].score == 0, result["rnn_step_backward"].explanation
