"""Helper functions shipped with the `char_lm` assignment.

Students import them with `from utils import *`; they are not graded. The softmax is a
graded unit of this assignment, so it is deliberately not provided here.
"""
import numpy as np


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), applied element-wise.

    Arguments:
    x -- scalar or numpy array of any shape

    Returns:
    sigmoid of x, same shape as x
    """
    return 1 / (1 + np.exp(-x))


def smooth(loss, cur_loss):
    """Exponential moving average of the training loss.

    Arguments:
    loss -- running (smoothed) loss, float
    cur_loss -- loss of the latest iteration, float

    Returns:
    the new smoothed loss, float
    """
    return loss * 0.999 + cur_loss * 0.001


def get_initial_loss(vocab_size, seq_length):
    """Loss of a model that predicts the uniform distribution, used to start smoothing.

    Arguments:
    vocab_size -- number of distinct characters, int
    seq_length -- number of predictions the loss is summed over, int

    Returns:
    seq_length * log(vocab_size), float
    """
    return -np.log(1.0 / vocab_size) * seq_length


def initialize_parameters(n_a, n_x, n_y):
    """Small random weights and zero biases for the character-level RNN.

    Seeds NumPy's global generator with 1 so that every run starts the same way.

    Arguments:
    n_a -- number of hidden units, int
    n_x -- input size (vocabulary size), int
    n_y -- output size (vocabulary size), int

    Returns:
    parameters -- dict with
        Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1)
    """
    np.random.seed(1)
    # Draw order Wax, Waa, Wya fixes which random numbers each matrix gets.
    Wax = np.random.randn(n_a, n_x) * 0.01
    Waa = np.random.randn(n_a, n_a) * 0.01
    Wya = np.random.randn(n_y, n_a) * 0.01
    ba = np.zeros((n_a, 1))
    by = np.zeros((n_y, 1))
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "ba": ba, "by": by}


def print_sample(sample_ix, ix_to_char):
    """Print a sampled sequence of character indices as text, first letter upper-cased.

    Arguments:
    sample_ix -- list of character indices (as returned by sample)
    ix_to_char -- dict mapping an index to its character

    Returns:
    None (the text is printed without an extra line end; a sampled name already
    ends with its newline character)
    """
    txt = "".join(ix_to_char[ix] for ix in sample_ix)
    txt = txt[:1].upper() + txt[1:]
    print(txt, end="")
