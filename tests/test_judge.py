"""judge.compare's fast closeness test agrees with numpy's, and compare's sentences."""
import numpy as np
import pytest

from autograder import judge
from autograder.judge import Tolerance, compare


def _cases():
    rng = np.random.default_rng(0)
    for shape in [(), (1,), (5,), (3, 4), (2, 3, 4)]:
        e = rng.standard_normal(shape)
        yield e, e.copy()
        yield e, e + 1e-9
        yield e, e * (1 + 2e-5)
        yield e, -e
        yield e, rng.standard_normal(shape)
        yield np.zeros(shape), np.full(shape, 1e-8)
        if shape:
            a = e.copy()
            a.flat[-1] = np.nan
            yield e, a
            a.flat[0] = np.inf
            yield e, a
            b = e.copy()
            b.flat[0] = np.inf
            yield b, b.copy()  # an infinite expected value goes to np.isclose itself
            b.flat[-1] = np.nan
            yield b, a


@pytest.mark.parametrize("rtol,atol", [(1e-5, 1e-8), (0.0, 0.0), (1e-3, 0.0), (0.0, 1e-6)])
def test_isclose_is_numpys(rtol, atol):
    for expected, actual in _cases():
        mine = judge._isclose(actual, expected, rtol, atol)
        theirs = np.isclose(actual, expected, rtol=rtol, atol=atol)
        assert np.array_equal(mine, theirs) and np.shape(mine) == np.shape(theirs)
        assert judge._allclose(actual, expected, rtol, atol) == np.allclose(actual, expected, rtol, atol)
    assert judge._allclose(np.array([1e-9, -1e-9]), 0) == np.allclose(np.array([1e-9, -1e-9]), 0)


def test_compare_sentences():
    tol = Tolerance(1e-5, 1e-8)
    e = np.arange(1.0, 7.0).reshape(2, 3)
    assert compare(e, e + 1e-12, tol, "a") == ""
    assert compare(e, -e, tol, "a") == ("`a` differs at index [0, 0] (expected 1, got -1); 6 of 6 values differ, "
                                        "max relative error 1.00e+00. It is the expected value with the opposite sign.")
    assert compare(e, e * 2, tol, "a").endswith("It is the expected value times 2: an extra or missing scale factor "
                                                "(e.g. averaging)?")
    assert compare(e, e + np.array([1.0, 2.0, 3.0]), tol, "a").endswith("The error is the same along an axis: "
                                                                        "a missing or wrong bias?")
    assert compare(e, e.T, tol, "a") == ("`a` has shape (3, 2); expected (2, 3). Its transpose has the right values: "
                                         "a transposed weight or swapped axes?")
    nan = e.copy()
    nan[1, 2] = np.nan
    assert compare(e, nan, tol, "a").endswith("1 of 6 values differ, max relative error nan. The output contains NaN.")


def test_matches_agrees_with_compare():
    from autograder.judge import Tolerance, compare, matches

    tol = Tolerance(1e-5, 1e-8)
    rng = np.random.default_rng(3)
    base = rng.standard_normal((4, 3))
    pairs = [(base, base.copy()), (base, base + 1e-3), (base, base.T), (base, base.astype(np.float32)),
             (base, base[:, :2]), ({"a": base}, {"a": base + 1}), (np.arange(3), np.arange(3)),
             (base, np.where(base > 0, base, np.nan)), (1.5, 1.5), (base, "text")]
    for expected, actual in pairs:
        assert matches(expected, actual, tol) == (not compare(expected, actual, tol, "x")), (expected, actual)


@pytest.mark.parametrize("rtol,atol", [(1e-5, 1e-8), (0.0, 0.0)])
def test_the_same_bits_pass_exactly_when_numpy_says_close(rtol, atol):
    """compare's shortcut for identical bytes gives numpy's verdict: NaN is never close
    to itself, infinities are, and a value in another float type is compared as before."""
    tol = Tolerance(rtol, atol)
    for expected, _ in _cases():
        expected = np.asarray(expected, dtype=np.float64)
        for actual in (expected.copy(), expected.astype(np.float32)):
            same = bool(np.isclose(actual.astype(np.float64), expected, rtol=rtol, atol=atol).all())
            assert (compare(expected, actual, tol, "a") == "") == same, (expected, actual)
    nan = np.array([1.0, np.nan])
    assert "1 of 2 values differ" in compare(nan, nan.copy(), tol, "a")
    # a tolerance below zero (an assignment's own, unchecked) is numpy's business too:
    # numpy 2 calls equal values close whatever the tolerance, numpy 1 (also supported)
    # does not, so compare leaves such a tolerance to numpy (this can fail only on numpy 1)
    same = np.array([1.0, 2.0])
    assert (compare(same, same.copy(), Tolerance(-1.0, 0.0), "a") == "") == bool(
        np.isclose(same, same, rtol=-1.0, atol=0.0).all())


@pytest.mark.parametrize("rtol,atol", [(1e-5, 1e-8), (0.0, 0.0), (1e-3, 0.0), (0.0, 1e-6)])
def test_matches_is_numpys_allclose_with_its_first_element_shortcut(rtol, atol):
    """judge.matches rejects on the first element alone when that one is finite and far
    off: the verdict is numpy's on every pair, whichever element differs (infinities and
    NaN first included)."""
    from autograder.judge import matches

    tol = Tolerance(rtol, atol)
    for expected, actual in _cases():
        expected, actual = np.atleast_1d(expected), np.atleast_1d(actual)
        for e, a in ((expected, actual), (actual, expected), (expected[::-1], actual[::-1])):
            numpy_says = bool(np.isclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol).all())
            assert matches(e, a, tol) == numpy_says, (e, a)


def test_an_empty_output_of_a_huge_shape_is_explained_without_building_its_sums():
    """A (0, 2**26) output: numpy sums it over axis 0 into 2**26 zeros (512 MiB; with
    2**31 - 1 the grader was killed by the machine's out-of-memory killer). The shape
    message needs none of it."""
    import tracemalloc

    tracemalloc.start()
    try:
        message = compare(np.ones((5, 1)), np.zeros((0, 2**26)), Tolerance(1e-6, 1e-8), "a_next")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "has shape (0, 67108864); expected (5, 1)" in message, message
    assert peak < 8 << 20, peak
    # a hint still comes for an output of a plausible size
    assert "Summed over axis 1" in compare(np.ones((5, 1)), np.ones((5, 3)) / 3, Tolerance(1e-6, 1e-8), "a")


def test_a_value_right_but_where_it_should_be_zero_says_so():
    expected = np.array([[0.2, 0.0, -0.1], [0.0, 0.3, 0.0]])
    actual = expected + np.array([[0, 0.13, 0], [0.05, 0, 0.02]])
    message = compare(expected, actual, Tolerance(1e-6, 1e-8), "dxs")
    assert "not 0 where it is" in message and "times 1" not in message, message


def test_an_array_returned_in_a_one_item_tuple_is_named_so():
    # `return dW,` (a trailing comma): numpy makes it shape (1, 4, 3), and the hint spoke of a sum
    message = compare(np.ones((4, 3)), (np.ones((4, 3)),), Tolerance(1e-6, 1e-8), "dW")
    assert "is a tuple holding one array of shape (4, 3)" in message and "Summed" not in message, message
    # a list of one row where one row is expected is the same numbers: not refused here
    assert compare(np.ones((1, 3)), [np.ones(3)], Tolerance(1e-6, 1e-8), "y") == ""


def test_a_hidden_cases_expected_values_are_shown_too_coarse_to_copy():
    """A hidden case's first differing value was shown to 8 digits: copied into the next
    submission (a table keyed by the case's inputs, which the student's own code may
    print), it passed; a sampled sequence was shown whole. Now 4 significant digits, and
    a sequence's first difference only."""
    tol = Tolerance(1e-6, 1e-8)
    expected = np.array([[0.29403199, -1.2345678]])
    message = compare(expected, np.zeros((1, 2)), tol, "a", hidden=True)
    assert "(expected 0.2940, got 0.000)" in message and "max relative error about 1e+00" in message, message
    # nor with its relative error: given exactly, it gave the value back in two more tries
    close = compare(np.array([12.3456789]), np.array([12.35]), tol, "x", hidden=True)
    assert "about 1e-04" in close and "1.75e-04" not in close, close
    assert "(expected 12.35, got 12.35 (the same to 4 significant digits, outside the tolerance))" in close, close
    assert "expected 1.235e+05" in compare(np.array([123456.7]), np.array([0.0]), tol, "x", hidden=True)
    assert compare(np.array([[0.294]]), np.array([[0.29403199]]), tol, "a") != ""  # the shown value does not pass
    assert "(expected 0.29403199, got 0)" in compare(expected, np.zeros((1, 2)), tol, "a")  # public cases: whole
    sampled = compare([3, 1, 4, 1, 5, 9, 2, 6], [3, 1, 4, 2, 5, 9, 2, 6], tol, "indices", exact=True, hidden=True)
    assert "first difference at position 3: expected 1, got 2" in sampled and "[3, 1, 4, 1" not in sampled, sampled


def test_sampled_indices_are_shown_as_numbers():
    """np.random.choice gives np.int64, which crosses back as 0-d arrays: a list of them
    read `[array(2), array(2), ...]`."""
    from autograder.judge import Tolerance, compare

    got = [np.array(2), np.array(5), np.int64(4)]
    text = compare([2, 5, 3], got, Tolerance(1e-6, 1e-8), "indices", exact=True, hidden=True)
    assert "got [2, 5, 4]" in text and "array(" not in text, text
