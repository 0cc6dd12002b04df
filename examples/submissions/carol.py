# carol.py: a finished rnn_step_by_step submission exported as a script.
# It has one bug: the output gate of lstm_cell_forward leaves out its bias bo.

import numpy as np
from rnn_utils import *


def rnn_cell_forward(xt, a_prev, parameters):
    """One time step of a basic (tanh) RNN cell.

    Arguments:
    xt -- input at this time step, shape (n_x, m)
    a_prev -- hidden state from the previous step, shape (n_a, m)
    parameters -- dict with
        Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1)

    Returns:
    a_next -- new hidden state, shape (n_a, m)
    yt_pred -- softmax prediction for this step, shape (n_y, m)
    cache -- (a_next, a_prev, xt, parameters), read by rnn_cell_backward
    """
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]

    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)
    yt_pred = softmax(Wya @ a_next + by)

    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters):
    """Run the basic RNN cell over a whole sequence.

    Arguments:
    x -- inputs for every time step, shape (n_x, m, T_x) (time on the last axis)
    a0 -- initial hidden state, shape (n_a, m)
    parameters -- dict with Wax, Waa, Wya, ba, by (see rnn_cell_forward)

    Returns:
    a -- hidden states of every step, shape (n_a, m, T_x)
    y_pred -- predictions of every step, shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches, x), read by rnn_backward
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape

    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))

    a_next = a0
    for t in range(T_x):
        # The hidden state is carried from one step to the next.
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)

    caches = (caches, x)
    return a, y_pred, caches


def rnn_cell_backward(da_next, cache):
    """Backward pass through one basic RNN cell (the softmax output is not included).

    Arguments:
    da_next -- gradient of the loss w.r.t. this step's hidden state a_next, shape (n_a, m)
    cache -- (a_next, a_prev, xt, parameters) as returned by rnn_cell_forward

    Returns:
    gradients -- dict with
        dxt (n_x, m), da_prev (n_a, m), dWax (n_a, n_x), dWaa (n_a, n_a), dba (n_a, 1)
    """
    a_next, a_prev, xt, parameters = cache
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]

    # tanh'(z) = 1 - tanh(z)^2, and a_next already is tanh(z).
    dz = da_next * (1 - a_next ** 2)

    dxt = Wax.T @ dz
    dWax = dz @ xt.T
    da_prev = Waa.T @ dz
    dWaa = dz @ a_prev.T
    # The bias is broadcast over the batch, so its gradient sums over it.
    dba = np.sum(dz, axis=1, keepdims=True)

    gradients = {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}
    return gradients


def rnn_backward(da, caches):
    """Backpropagation through time for the basic RNN.

    Arguments:
    da -- upstream gradient w.r.t. every hidden state, shape (n_a, m, T_x)
    caches -- (list of cell caches, x) as returned by rnn_forward

    Returns:
    gradients -- dict with
        dx (n_x, m, T_x), da0 (n_a, m), dWax (n_a, n_x), dWaa (n_a, n_a), dba (n_a, 1)
    """
    caches, x = caches
    a1, a0, x1, parameters = caches[0]

    # The number of steps comes from da, so only the steps it covers are used.
    n_a, m, T_x = da.shape
    n_x = x1.shape[0]

    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))

    for t in reversed(range(T_x)):
        # A hidden state feeds both the output at step t and the next step, so its
        # gradient is the sum of the two contributions.
        grads_t = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        dx[:, :, t] = grads_t["dxt"]
        da_prevt = grads_t["da_prev"]
        # The weights are shared by all steps: their gradients add up.
        dWax += grads_t["dWax"]
        dWaa += grads_t["dWaa"]
        dba += grads_t["dba"]

    da0 = da_prevt

    gradients = {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}
    return gradients


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    """One time step of an LSTM cell.

    Arguments:
    xt -- input at this time step, shape (n_x, m)
    a_prev -- previous hidden state, shape (n_a, m)
    c_prev -- previous memory (cell) state, shape (n_a, m)
    parameters -- dict with
        Wf, Wi, Wc, Wo each (n_a, n_a + n_x), acting on [a_prev; xt];
        bf, bi, bc, bo each (n_a, 1); Wy (n_y, n_a); by (n_y, 1)

    Returns:
    a_next -- new hidden state, shape (n_a, m)
    c_next -- new memory state, shape (n_a, m)
    yt_pred -- softmax prediction for this step, shape (n_y, m)
    cache -- (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    """
    Wf = parameters["Wf"]
    bf = parameters["bf"]
    Wi = parameters["Wi"]
    bi = parameters["bi"]
    Wc = parameters["Wc"]
    bc = parameters["bc"]
    Wo = parameters["Wo"]
    bo = parameters["bo"]
    Wy = parameters["Wy"]
    by = parameters["by"]

    # All gates read the same stacked vector, previous hidden state on top.
    concat = np.concatenate((a_prev, xt), axis=0)

    ft = sigmoid(Wf @ concat + bf)
    it = sigmoid(Wi @ concat + bi)
    cct = np.tanh(Wc @ concat + bc)
    ot = sigmoid(Wo @ concat)

    c_next = ft * c_prev + it * cct
    a_next = ot * np.tanh(c_next)

    yt_pred = softmax(Wy @ a_next + by)

    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x, a0, parameters):
    """Run the LSTM cell over a whole sequence; the memory state starts at zero.

    Arguments:
    x -- inputs for every time step, shape (n_x, m, T_x)
    a0 -- initial hidden state, shape (n_a, m)
    parameters -- dict with Wf, bf, Wi, bi, Wc, bc, Wo, bo, Wy, by (see lstm_cell_forward)

    Returns:
    a -- hidden states, shape (n_a, m, T_x)
    y -- predictions, shape (n_y, m, T_x)
    c -- memory states, shape (n_a, m, T_x)
    caches -- (list of the T_x cell caches, x), read by lstm_backward
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape

    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))

    a_next = a0
    c_next = np.zeros((n_a, m))
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)

    caches = (caches, x)
    return a, y, c, caches


def lstm_cell_backward(da_next, dc_next, cache):
    """Backward pass through one LSTM cell (the softmax output is not included).

    Arguments:
    da_next -- gradient w.r.t. the next hidden state, shape (n_a, m)
    dc_next -- gradient w.r.t. the next memory state, shape (n_a, m)
    cache -- the 10-tuple returned by lstm_cell_forward

    Returns:
    gradients -- dict with
        dxt (n_x, m), da_prev (n_a, m), dc_prev (n_a, m),
        dWf, dWi, dWc, dWo each (n_a, n_a + n_x), dbf, dbi, dbc, dbo each (n_a, 1)
    """
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    n_a = a_next.shape[0]

    tanh_c = np.tanh(c_next)
    # Total gradient reaching c_next: directly, and through a_next = ot * tanh(c_next).
    ds = dc_next + da_next * ot * (1 - tanh_c ** 2)

    # Gradients w.r.t. the gate pre-activations (sigmoid' = s(1-s), tanh' = 1-t^2).
    dot = da_next * tanh_c * ot * (1 - ot)
    dcct = ds * it * (1 - cct ** 2)
    dit = ds * cct * it * (1 - it)
    dft = ds * c_prev * ft * (1 - ft)

    concat = np.concatenate((a_prev, xt), axis=0)
    dWf = dft @ concat.T
    dWi = dit @ concat.T
    dWc = dcct @ concat.T
    dWo = dot @ concat.T
    dbf = np.sum(dft, axis=1, keepdims=True)
    dbi = np.sum(dit, axis=1, keepdims=True)
    dbc = np.sum(dcct, axis=1, keepdims=True)
    dbo = np.sum(dot, axis=1, keepdims=True)

    # concat feeds all four gates; split its gradient back into a_prev and xt.
    dconcat = (parameters["Wf"].T @ dft + parameters["Wi"].T @ dit
               + parameters["Wc"].T @ dcct + parameters["Wo"].T @ dot)
    da_prev = dconcat[:n_a, :]
    dxt = dconcat[n_a:, :]
    dc_prev = ds * ft

    gradients = {"dxt": dxt, "da_prev": da_prev, "dc_prev": dc_prev,
                 "dWf": dWf, "dbf": dbf, "dWi": dWi, "dbi": dbi,
                 "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo}
    return gradients


def lstm_backward(da, caches):
    """Backpropagation through time for the LSTM.

    Arguments:
    da -- upstream gradient w.r.t. the hidden states, shape (n_a, m, T_x)
    caches -- (list of cell caches, x) as returned by lstm_forward

    Returns:
    gradients -- dict with
        dx (n_x, m, T_x), da0 (n_a, m),
        dWf, dWi, dWc, dWo each (n_a, n_a + n_x), dbf, dbi, dbc, dbo each (n_a, 1)
    """
    caches, x = caches
    (a1, c1, a0, c0, f1, i1, cc1, o1, x1, parameters) = caches[0]

    # The number of steps comes from da, so only the steps it covers are used.
    n_a, m, T_x = da.shape
    n_x = x1.shape[0]

    dx = np.zeros((n_x, m, T_x))
    da_prevt = np.zeros((n_a, m))
    dc_prevt = np.zeros((n_a, m))
    dWf = np.zeros((n_a, n_a + n_x))
    dWi = np.zeros((n_a, n_a + n_x))
    dWc = np.zeros((n_a, n_a + n_x))
    dWo = np.zeros((n_a, n_a + n_x))
    dbf = np.zeros((n_a, 1))
    dbi = np.zeros((n_a, 1))
    dbc = np.zeros((n_a, 1))
    dbo = np.zeros((n_a, 1))

    for t in reversed(range(T_x)):
        # The hidden state gets its own upstream gradient plus the one from step t+1;
        # the memory state only gets the one from step t+1.
        grads_t = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])
        dx[:, :, t] = grads_t["dxt"]
        da_prevt = grads_t["da_prev"]
        dc_prevt = grads_t["dc_prev"]
        # Shared weights: the per-step gradients add up.
        dWf += grads_t["dWf"]
        dWi += grads_t["dWi"]
        dWc += grads_t["dWc"]
        dWo += grads_t["dWo"]
        dbf += grads_t["dbf"]
        dbi += grads_t["dbi"]
        dbc += grads_t["dbc"]
        dbo += grads_t["dbo"]

    da0 = da_prevt

    gradients = {"dx": dx, "da0": da0, "dWf": dWf, "dbf": dbf, "dWi": dWi, "dbi": dbi,
                 "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo}
    return gradients
