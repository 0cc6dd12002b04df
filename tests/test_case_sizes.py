"""No coincidences (spec part 3): within a hidden case the sizes a classic bug confuses
are pairwise different, so a tensor allocated with the wrong size cannot pass because
two sizes happen to agree. Data-driven over every assignment's description."""
import itertools

import pytest

from autograder.assignments import all_assignments
from autograder.assignments.model import CONFUSABLE_SIZES

# 1 is the deliberate batch-1 / single-step size; a vocabulary of 27 is fixed by the
# course's own helpers (dinosaurus: rnn_forward's default vocab_size, spec 2b).
EXEMPT = {1}
VOCABULARY = {"V"}
FIXED_VOCABULARY = 27


def sizes_of(size: dict) -> dict:
    """The confusable sizes of a case description (not its seed, label, flags or indices)."""
    return {k: v for k, v in size.items() if k in CONFUSABLE_SIZES}


def coincidences(size: dict) -> list:
    found = []
    for (k1, v1), (k2, v2) in itertools.combinations(sorted(sizes_of(size).items()), 2):
        if v1 != v2 or v1 in EXEMPT:
            continue
        if v1 == FIXED_VOCABULARY and ({k1, k2} & VOCABULARY):
            continue
        found.append(f"{k1} == {k2} == {v1}")
    return found


CASES = [(a.id, u.name, size) for a in all_assignments() for u in a.units for size in u.sizes]


def test_every_assignment_has_hidden_cases_to_check():
    assert {a.id for a in all_assignments()} <= {c[0] for c in CASES}
    assert all(any(sizes_of(size) for a, _, size in CASES if a == assignment.id) for assignment in all_assignments())


@pytest.mark.parametrize("assignment", sorted({c[0] for c in CASES}))
def test_no_two_confusable_sizes_agree_within_a_hidden_case(assignment):
    bad = [f"{unit} case seed {size['seed']}: {', '.join(coincidences(size))}"
           for a, unit, size in CASES if a == assignment and coincidences(size)]
    assert not bad, "\n".join(bad)


def test_the_rule_catches_the_coincidence_that_gave_a_real_bug_credit():
    # y_pred allocated with n_a time steps passed where T_x == n_a
    assert coincidences(dict(n_x=3, n_a=5, n_y=2, m=4, T_x=5, seed=1)) == ["T_x == n_a == 5"]
    assert coincidences(dict(N=1, T=1, D=3, H=4, seed=1)) == []
