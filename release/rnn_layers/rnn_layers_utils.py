"""Helper functions shipped with the `rnn_layers` assignment (CS231n style).

Students import them with `from rnn_layers_utils import *`; they are not graded.
Row layout throughout: a sequence is (N, T, D), time on axis 1, weights are (in, out).
"""
import numpy as np


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), computed without overflow.

    Arguments:
    x -- scalar or numpy array of any shape

    Returns:
    sigmoid of x, same shape (and floating dtype) as x
    """
    # exp() is only ever taken of a non-positive number, so it cannot overflow:
    # for x >= 0 use 1 / (1 + e^-x), for x < 0 the equal form e^x / (1 + e^x).
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def temporal_affine_forward(x, w, b):
    """Affine layer applied independently at every time step.

    Arguments:
    x -- inputs, shape (N, T, D)
    w -- weights, shape (D, M)
    b -- biases, shape (M,)

    Returns:
    out -- outputs, shape (N, T, M)
    cache -- (x, w, b, out), for temporal_affine_backward
    """
    N, T, D = x.shape
    M = b.shape[0]
    # Folding time into the batch turns the T affine maps into one matrix product.
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, M)
    cache = (x, w, b, out)
    return out, cache


def temporal_affine_backward(dout, cache):
    """Backward pass of temporal_affine_forward.

    Arguments:
    dout -- upstream gradient, shape (N, T, M)
    cache -- the cache returned by temporal_affine_forward

    Returns:
    dx -- gradient w.r.t. x, shape (N, T, D)
    dw -- gradient w.r.t. w, shape (D, M)
    db -- gradient w.r.t. b, shape (M,)
    """
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dout2 = dout.reshape(N * T, M)
    dx = (dout2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ dout2
    # The bias is shared by every sample and every time step.
    db = dout2.sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy summed over the unmasked time steps, divided by N.

    Arguments:
    x -- scores, shape (N, T, V)
    y -- integer targets in [0, V), shape (N, T)
    mask -- boolean array, shape (N, T); False positions add nothing to the loss
    verbose -- if True, print the shape of dx

    Returns:
    loss -- scalar loss (divided by N only, not by T nor by the mask count)
    dx -- gradient of the loss w.r.t. x, shape (N, T, V)
    """
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    # Shift each row by its max so that exp() cannot overflow; work with the
    # log-probabilities directly, which stays accurate for very small probabilities.
    shifted = x_flat - np.max(x_flat, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    rows = np.arange(N * T)
    loss = -np.sum(mask_flat * log_probs[rows, y_flat]) / N

    dx_flat = probs.copy()
    dx_flat[rows, y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    dx = dx_flat.reshape(N, T, V)
    return loss, dx


def rel_error(x, y):
    """Largest element-wise relative error between two arrays.

    Arguments:
    x, y -- arrays (or scalars) of the same shape

    Returns:
    max |x - y| / max(1e-8, |x| + |y|), a float
    """
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function by centred differences.

    Arguments:
    f -- function taking one array argument and returning a scalar
    x -- the point (numpy array) at which to evaluate the gradient; it is perturbed
         in place one element at a time and restored afterwards
    verbose -- if True, print each index with its gradient value
    h -- step size

    Returns:
    grad -- array with the same shape as x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        # Restore the element before moving on: callers may hold x by reference.
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of sum(f(x) * df) by centred differences.

    Arguments:
    f -- function taking one array argument and returning an array
    x -- the point (numpy array) at which to evaluate the gradient; it is perturbed
         in place one element at a time and restored afterwards
    df -- upstream gradient, same shape as f(x)
    h -- step size

    Returns:
    grad -- array with the same shape as x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        # Copy: f may hand back an array that a later call overwrites.
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad
