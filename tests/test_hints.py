"""Hints for the mistakes students really make (issue 13, point 3): each is found the way
every hint is, by the reference run with the mistake applied matching the student's
outputs, and names the cause, at least as plainly as the public check's hint does."""
import pytest

from conftest import assert_mutant_caught

A = "rnn_step_by_step"
LSTM_STEP = "        grads_t = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])\n"
LOOP_START = ("    for t in reversed(range(T_x)):\n        # The hidden state gets its own upstream gradient plus "
              "the one from step t+1;\n")


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


CARRY_MUTANTS = {
    "da_prevt never added": ("lstm_backward", LSTM_STEP,
                             LSTM_STEP.replace("da[:, :, t] + da_prevt", "da[:, :, t]"), "(`da_prevt`) dropped"),
    "dc_prevt never carried": ("lstm_backward", '        dc_prevt = grads_t["dc_prev"]\n', "", "(`dc_prevt`) dropped"),
    "da_prevt reset each step": ("lstm_backward", LOOP_START,
                                 LOOP_START.replace(":\n", ":\n        da_prevt = np.zeros((n_a, m))\n", 1),
                                 "(`da_prevt`) dropped"),
    "both reset each step": ("lstm_backward", LOOP_START, LOOP_START.replace(
        ":\n", ":\n        da_prevt = np.zeros((n_a, m))\n        dc_prevt = np.zeros((n_a, m))\n", 1),
        "both carried gradients (`da_prevt` and `dc_prevt`) dropped"),
    "rnn da_prevt never added": ("rnn_backward", "rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])",
                                 "rnn_cell_backward(da[:, :, t], caches[t])", "(`da_prevt`) dropped"),
}


@pytest.mark.parametrize("mutant", sorted(CARRY_MUTANTS))
def test_a_dropped_or_reset_carry_is_named(grader, mutant):
    unit, old, new, words = CARRY_MUTANTS[mutant]
    result = assert_mutant_caught(grader, A, unit, old, new, words)
    text = next(u.explanation for u in result.units if u.name == unit)
    assert "Hint:" in text and "carried back from step t+1" in text, text


def test_outputs_in_the_wrong_order_are_named(grader):
    # the public check says "note y before c"; the grader says which order it got
    result = assert_mutant_caught(grader, A, "lstm_forward", "    return a, y, c, caches", "    return a, c, y, caches",
                         "returned in the wrong order: yours are (a, c, y, cache); the order is (a, y, c, cache)")
    text = next(u.explanation for u in result.units if u.name == "lstm_forward")
    assert "has shape" not in text, text  # no shape sentence about values that are right


def test_a_missing_tanh_is_named(grader):
    assert_mutant_caught(grader, A, "rnn_cell_forward", "a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)",
                         "a_next = Waa @ a_prev + Wax @ xt + ba", "values outside [-1, 1] and np.tanh of it is right")
    assert_mutant_caught(grader, A, "lstm_cell_forward", "a_next = ot * np.tanh(c_next)", "a_next = ot * c_next",
                         "without the tanh in a_next = ot * tanh(c_next)")


def test_a_time_axis_sized_by_n_a_is_named(grader):
    result = assert_mutant_caught(grader, A, "rnn_forward", "y_pred = np.zeros((n_y, m, T_x))",
                                  "y_pred = np.zeros((n_y, m, n_a))",
                                  "which is n_a, where T_x = 4 belongs: is that axis sized by n_a instead of T_x")
    text = next(u.explanation for u in result.units if u.name == "rnn_forward")
    assert "missing sum" not in text, text
    assert result.units[1].score == 0  # no case where T_x == n_a lets it through


def test_every_declared_mistake_applies_to_the_solution():
    from autograder.assignments import all_assignments
    from autograder.grader import prepare

    for assignment in all_assignments():
        prepare(assignment.id)  # raises when a mistake's edit no longer applies


@pytest.mark.parametrize("assignment,unit,old,new,words", [
    ("rnn_layers", "lstm_backward", "            dh[:, t, :] + dprev_h, dprev_c, cache[t])",
     "            dh[:, t, :] + dprev_h, np.zeros_like(dprev_c), cache[t])", "(`dprev_c`) dropped"),
    ("time_layers", "TimeLSTM.backward", "dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)",
     "dx, dh, dc = layer.backward(dhs[:, t, :], dc)", "(`dh`) dropped"),
])
def test_dropped_carries_in_the_other_families(graders, assignment, unit, old, new, words):
    assert_mutant_caught(graders(assignment), assignment, unit, old, new, words)


@pytest.mark.parametrize("assignment,unit,old,new", [
    ("rnn_layers", "lstm_step_forward", "next_h = o * np.tanh(next_c)", "next_h = o * next_c"),
    ("time_layers", "LSTM.forward", "g = np.tanh(A[:, H:2 * H])", "g = A[:, H:2 * H]"),
])
def test_a_missing_lstm_tanh_in_the_other_families(graders, assignment, unit, old, new):
    assert_mutant_caught(graders(assignment), assignment, unit, old, new, "Hint: your outputs match the reference "
                         "computed without the tanh")
