"""Helper functions shipped with the `rnn_step_by_step` assignment.

Students import them with `from rnn_utils import *`; they are not graded.
"""
import numpy as np


def softmax(x):
    """Softmax over axis 0 (the class axis in column layout).

    Arguments:
    x -- array of scores, classes on axis 0, e.g. shape (n_y, m)

    Returns:
    array of the same shape whose columns are probability distributions
    """
    # One shift by the max of the whole array keeps exp() from overflowing; any
    # constant shift leaves the normalised result unchanged.
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum(axis=0)


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), applied element-wise.

    Arguments:
    x -- scalar or numpy array of any shape

    Returns:
    sigmoid of x, same shape as x
    """
    return 1 / (1 + np.exp(-x))
