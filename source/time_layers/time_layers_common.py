"""Helper layers and functions shipped with the `time_layers` assignment
(Deep Learning from Scratch 2 style).

Students import them with `from time_layers_common import *`; they are not graded.
Every layer keeps `params` and `grads` as lists of arrays of matching shapes; a
backward pass writes into the existing gradient arrays instead of replacing them.
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


def softmax(x):
    """Softmax of each row of a 2-D array, or of a whole 1-D array.

    Arguments:
    x -- scores, shape (N, C) or (C,)

    Returns:
    probabilities of the same shape; each row (or the vector) sums to 1
    """
    # Subtracting the max of each row leaves the result unchanged and keeps exp()
    # from overflowing. The subtraction makes a new array: x itself is not touched.
    if x.ndim == 2:
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def cross_entropy_error(y, t):
    """Mean cross-entropy of predicted probabilities against targets.

    Arguments:
    y -- probabilities, shape (N, C) or (C,)
    t -- targets: integer labels of shape (N,) (or a scalar for 1-D y),
         or one-hot arrays of the same shape as y

    Returns:
    -sum_i log(y[i, t_i] + 1e-7) / N, a scalar
    """
    if y.ndim == 1:
        # A single sample is treated as a batch of one.
        y = y.reshape(1, y.size)
        t = np.reshape(t, (1, -1)) if np.size(t) == y.size else np.reshape(t, (1,))
    # One-hot targets are turned into label indices.
    if np.size(t) == y.size:
        t = np.argmax(t, axis=1)
    batch_size = y.shape[0]
    # The 1e-7 keeps log() finite when a probability underflows to zero.
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class Embedding:
    """Embedding lookup layer: forward(idx) returns the rows W[idx].

    Arguments of the constructor:
    W -- embedding matrix, shape (V, D)

    Attributes: params = [W], grads = [dW] (dW of shape (V, D)), idx (the last indices).
    """

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        """idx -- integer indices of any shape S; returns the word vectors, shape S + (D,)."""
        W, = self.params
        self.idx = idx
        return W[idx]

    def backward(self, dout):
        """dout -- gradient of the output, shape S + (D,); fills grads[0] in place, returns None."""
        dW, = self.grads
        # Clear in place (the array is shared with optimizers), then scatter-add so
        # that repeated indices accumulate.
        dW[...] = 0
        np.add.at(dW, self.idx, dout)
        return None


class SoftmaxWithLoss:
    """Softmax followed by the mean cross-entropy loss over a batch.

    Attributes: params = [], grads = [], y (softmax output), t (integer labels).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None
        self.t = None

    def forward(self, x, t):
        """x -- scores, shape (N, C); t -- labels (N,) or one-hot (N, C). Returns the scalar loss."""
        self.y = softmax(x)
        # One-hot targets are stored as label indices.
        self.t = t.argmax(axis=1) if t.size == self.y.size else t
        return cross_entropy_error(self.y, self.t)

    def backward(self, dout=1):
        """dout -- upstream scalar gradient. Returns dx, shape (N, C)."""
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1
        # The loss is a mean over the batch.
        dx = dx * dout / batch_size
        return dx
