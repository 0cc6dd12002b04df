"""Helper functions shipped with the `dinosaurus` assignment (`from utils import *`).

The same public API as the course's own `utils.py` (docs/ASSIGNMENTS.md B.3): parameter
keys Wax, Waa, Wya, b, by; gradient keys dWax, dWaa, dWya, db, dby (plus the running
da_next); `rnn_step_forward` takes the parameters first. Not graded.
"""
import numpy as np


def softmax(x):
    """Softmax over axis 0 (the vocabulary axis), shifted by the global maximum.

    Arguments:
    x -- array of scores, classes on axis 0, e.g. shape (vocab_size, 1)

    Returns:
    array of the same shape whose columns are probability distributions
    """
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum(axis=0)


def smooth(loss, cur_loss):
    """Exponential moving average of the training loss: 0.999 * loss + 0.001 * cur_loss."""
    return loss * 0.999 + cur_loss * 0.001


def print_sample(sample_ix, ix_to_char):
    """Print the sampled characters as text, the first one upper-cased (no extra line end)."""
    print(get_sample(sample_ix, ix_to_char), end="")


def get_sample(sample_ix, ix_to_char):
    """The sampled characters as text, the first one upper-cased (the newline is kept)."""
    text = "".join(ix_to_char[ix] for ix in sample_ix)
    return text[:1].upper() + text[1:]


def get_initial_loss(vocab_size, seq_length):
    """Loss of a model predicting the uniform distribution over seq_length characters."""
    return -np.log(1.0 / vocab_size) * seq_length


def initialize_parameters(n_a, n_x, n_y):
    """Small random weights (seed 1; drawn in the order Wax, Waa, Wya) and zero biases.

    Returns:
    parameters -- dict with Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), b (n_a, 1), by (n_y, 1)
    """
    np.random.seed(1)
    Wax = np.random.randn(n_a, n_x) * 0.01
    Waa = np.random.randn(n_a, n_a) * 0.01
    Wya = np.random.randn(n_y, n_a) * 0.01
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": np.zeros((n_a, 1)), "by": np.zeros((n_y, 1))}


def rnn_step_forward(parameters, a_prev, x):
    """One time step: the new hidden state and the probabilities of the next character.

    Arguments:
    parameters -- dict with Wax, Waa, Wya, b, by
    a_prev -- previous hidden state, shape (n_a, 1)
    x -- one-hot input (or zero vector), shape (vocab_size, 1)

    Returns:
    a_next -- shape (n_a, 1); p_t -- shape (vocab_size, 1)
    """
    Waa, Wax, Wya, by, b = parameters["Waa"], parameters["Wax"], parameters["Wya"], parameters["by"], parameters["b"]
    a_next = np.tanh(Wax @ x + Waa @ a_prev + b)
    p_t = softmax(Wya @ a_next + by)
    return a_next, p_t


def rnn_step_backward(dy, gradients, parameters, x, a, a_prev):
    """Backward through one time step: adds this step's share into `gradients` (in place)
    and replaces gradients['da_next'] by the gradient w.r.t. a_prev. Returns the dict."""
    gradients["dWya"] += dy @ a.T
    gradients["dby"] += dy
    da = parameters["Wya"].T @ dy + gradients["da_next"]
    dtanh = (1 - a * a) * da  # tanh' = 1 - tanh^2
    gradients["db"] += dtanh
    gradients["dWax"] += dtanh @ x.T
    gradients["dWaa"] += dtanh @ a_prev.T
    gradients["da_next"] = parameters["Waa"].T @ dtanh
    return gradients


def update_parameters(parameters, gradients, lr):
    """One gradient-descent step on the five parameters, in place. Returns the dict."""
    for name in ("Wax", "Waa", "Wya", "b", "by"):
        parameters[name] += -lr * gradients["d" + name]
    return parameters


def rnn_forward(X, Y, a0, parameters, vocab_size=27):
    """Forward pass over one sequence and its cross-entropy loss, summed over time steps.

    Arguments:
    X -- list of input indices; X[t] None means a zero input vector
    Y -- list of target indices, same length as X
    a0 -- initial hidden state, shape (n_a, 1)
    parameters -- dict with Wax, Waa, Wya, b, by
    vocab_size -- size of the one-hot vectors

    Returns:
    loss -- float
    cache -- (y_hat, a, x): dicts keyed by time step; a[-1] is a copy of a0
    """
    x, a, y_hat = {}, {}, {}
    a[-1] = np.copy(a0)
    loss = 0
    for t in range(len(X)):
        x[t] = np.zeros((vocab_size, 1))
        if X[t] is not None:
            x[t][X[t]] = 1
        a[t], y_hat[t] = rnn_step_forward(parameters, a[t - 1], x[t])
        loss -= np.log(y_hat[t][Y[t], 0])
    return loss, (y_hat, a, x)


def rnn_backward(X, Y, parameters, cache):
    """Backpropagation through time over one sequence.

    Returns:
    gradients -- dict with dWax, dWaa, dWya, db, dby and da_next
    a -- the dict of hidden states of the cache (key -1 included)
    """
    y_hat, a, x = cache
    gradients = {"d" + name: np.zeros_like(parameters[name]) for name in ("Wax", "Waa", "Wya", "b", "by")}
    gradients["da_next"] = np.zeros_like(a[0])
    for t in reversed(range(len(X))):
        dy = np.copy(y_hat[t])
        dy[Y[t]] -= 1  # softmax and cross-entropy together: prediction minus one-hot target
        gradients = rnn_step_backward(dy, gradients, parameters, x[t], a[t], a[t - 1])
    return gradients, a
