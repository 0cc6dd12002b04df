import numpy as np
from rnn_layers_utils import *


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One time step of a vanilla RNN with tanh activation.

    Arguments:
    x -- input at this step, shape (N, D)
    prev_h -- hidden state of the previous step, shape (N, H)
    Wx -- input-to-hidden weights, shape (D, H)
    Wh -- hidden-to-hidden weights, shape (H, H)
    b -- bias, shape (H,)

    Returns:
    next_h -- new hidden state, shape (N, H)
    cache -- values needed by rnn_step_backward
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    # next_h is kept because tanh'(z) = 1 - tanh(z)^2 is cheapest from the output.
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """Backward pass of one vanilla RNN step.

    Arguments:
    dnext_h -- gradient of the loss w.r.t. next_h, shape (N, H)
    cache -- the cache returned by rnn_step_forward

    Returns:
    dx -- gradient w.r.t. x, shape (N, D)
    dprev_h -- gradient w.r.t. prev_h, shape (N, H)
    dWx -- gradient w.r.t. Wx, shape (D, H)
    dWh -- gradient w.r.t. Wh, shape (H, H)
    db -- gradient w.r.t. b, shape (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache
    # Gradient w.r.t. the pre-activation, through the tanh.
    dz = dnext_h * (1 - next_h ** 2)
    dx = dz @ Wx.T
    dprev_h = dz @ Wh.T
    dWx = x.T @ dz
    dWh = prev_h.T @ dz
    # b is broadcast over the batch, so its gradient sums over it.
    db = dz.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Vanilla RNN over a whole sequence, built from rnn_step_forward.

    Arguments:
    x -- input sequence, shape (N, T, D)
    h0 -- initial hidden state, shape (N, H)
    Wx -- input-to-hidden weights, shape (D, H)
    Wh -- hidden-to-hidden weights, shape (H, H)
    b -- bias, shape (H,)

    Returns:
    h -- hidden states of all time steps, shape (N, T, H)
    cache -- values needed by rnn_backward (the list of per-step caches)
    """
    N, T, D = x.shape
    prev_h = h0
    hs = []
    cache = []
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    # Time goes on axis 1 of the result.
    h = np.stack(hs, axis=1)
    return h, cache


def rnn_backward(dh, cache):
    """Backpropagation through time for rnn_forward.

    Arguments:
    dh -- upstream gradients of the hidden states, shape (N, T, H); only the
          direct contribution of each step, not the one flowing back from later steps
    cache -- the cache returned by rnn_forward

    Returns:
    dx -- gradient w.r.t. x, shape (N, T, D)
    dh0 -- gradient w.r.t. h0, shape (N, H)
    dWx -- gradient w.r.t. Wx, shape (D, H)
    dWh -- gradient w.r.t. Wh, shape (H, H)
    db -- gradient w.r.t. b, shape (H,)
    """
    N, T, H = dh.shape
    _, _, Wx, Wh, _ = cache[0]
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros(H, dtype=dWx.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    dxs = [None] * T
    for t in reversed(range(T)):
        # Each hidden state feeds both the loss at step t and the next step.
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dxs[t] = dx_t
        # The weights are shared across time: their gradients add up.
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    dx = np.stack(dxs, axis=1)
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    """Look up the word vectors of integer word indices.

    Arguments:
    x -- integer indices in [0, V), shape (N, T)
    W -- embedding matrix, one row per word, shape (V, D)

    Returns:
    out -- word vectors, shape (N, T, D)
    cache -- values needed by word_embedding_backward
    """
    # Fancy indexing copies the rows, so out does not alias W.
    out = W[x]
    cache = (x, W)
    return out, cache


def word_embedding_backward(dout, cache):
    """Backward pass of word_embedding_forward (gradient of the embedding matrix only).

    Arguments:
    dout -- upstream gradient, shape (N, T, D)
    cache -- the cache returned by word_embedding_forward

    Returns:
    dW -- gradient w.r.t. W, shape (V, D) (a single array, not a tuple)
    """
    x, W = cache
    dW = np.zeros_like(W)
    # np.add.at accumulates over repeated indices; dW[x] += dout would keep only one.
    np.add.at(dW, x, dout)
    return dW


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One time step of an LSTM; gate blocks are ordered i, f, o, g.

    Arguments:
    x -- input at this step, shape (N, D)
    prev_h -- previous hidden state, shape (N, H)
    prev_c -- previous cell state, shape (N, H)
    Wx -- input-to-gates weights, shape (D, 4H)
    Wh -- hidden-to-gates weights, shape (H, 4H)
    b -- gate biases, shape (4H,)

    Returns:
    next_h -- new hidden state, shape (N, H)
    next_c -- new cell state, shape (N, H)
    cache -- values needed by lstm_step_backward
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, 0:H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:4 * H])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM step.

    Arguments:
    dnext_h -- gradient w.r.t. next_h, shape (N, H)
    dnext_c -- gradient w.r.t. next_c, shape (N, H); not modified
    cache -- the cache returned by lstm_step_forward

    Returns:
    dx -- gradient w.r.t. x, shape (N, D)
    dprev_h -- gradient w.r.t. prev_h, shape (N, H)
    dprev_c -- gradient w.r.t. prev_c, shape (N, H)
    dWx -- gradient w.r.t. Wx, shape (D, 4H)
    dWh -- gradient w.r.t. Wh, shape (H, 4H)
    db -- gradient w.r.t. b, shape (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    # next_c reaches the loss directly and through next_h; build a new array
    # rather than adding into dnext_c, which belongs to the caller.
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    dprev_c = dc * f
    # Gradients w.r.t. the pre-activations of the four gate blocks.
    da_i = dc * g * i * (1 - i)
    da_f = dc * prev_c * f * (1 - f)
    da_o = dnext_h * tanh_c * o * (1 - o)
    da_g = dc * i * (1 - g ** 2)
    da = np.concatenate((da_i, da_f, da_o, da_g), axis=1)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """LSTM over a whole sequence, built from lstm_step_forward.

    Arguments:
    x -- input sequence, shape (N, T, D)
    h0 -- initial hidden state, shape (N, H); the cell state starts at zeros
    Wx -- input-to-gates weights, shape (D, 4H)
    Wh -- hidden-to-gates weights, shape (H, 4H)
    b -- gate biases, shape (4H,)

    Returns:
    h -- hidden states of all time steps, shape (N, T, H)
    cache -- values needed by lstm_backward (the list of per-step caches)
    """
    N, T, D = x.shape
    prev_h = h0
    prev_c = np.zeros_like(h0)
    hs = []
    cache = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    h = np.stack(hs, axis=1)
    return h, cache


def lstm_backward(dh, cache):
    """Backpropagation through time for lstm_forward.

    Arguments:
    dh -- upstream gradients of the hidden states, shape (N, T, H)
    cache -- the cache returned by lstm_forward

    Returns:
    dx -- gradient w.r.t. x, shape (N, T, D)
    dh0 -- gradient w.r.t. h0, shape (N, H)
    dWx -- gradient w.r.t. Wx, shape (D, 4H)
    dWh -- gradient w.r.t. Wh, shape (H, 4H)
    db -- gradient w.r.t. b, shape (4H,)
    """
    N, T, H = dh.shape
    Wx, Wh = cache[0][3], cache[0][4]
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros(4 * H, dtype=dWx.dtype)
    # Nothing flows into the last step from the future: both carries start at zero.
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    dprev_c = np.zeros((N, H), dtype=dh.dtype)
    dxs = [None] * T
    for t in reversed(range(T)):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dprev_h, dprev_c, cache[t])
        dxs[t] = dx_t
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    dx = np.stack(dxs, axis=1)
    # The initial cell state is a constant zero, so only dh0 is returned.
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
