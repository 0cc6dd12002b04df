import numpy as np
from time_layers_common import *


class RNN:
    """One time step of a vanilla tanh RNN (row layout).

    Arguments of the constructor:
    Wx -- input-to-hidden weights, shape (D, H)
    Wh -- hidden-to-hidden weights, shape (H, H)
    b -- bias, shape (H,)

    Attributes: params = [Wx, Wh, b], grads = [dWx, dWh, db] (same shapes, written in
    place by backward), cache = (x, h_prev, h_next) after forward.
    """

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev):
        """x -- input, shape (N, D); h_prev -- previous hidden state, shape (N, H).
        Returns h_next, shape (N, H)."""
        Wx, Wh, b = self.params
        h_next = np.tanh(h_prev @ Wh + x @ Wx + b)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        """dh_next -- gradient w.r.t. h_next, shape (N, H).
        Fills self.grads in place; returns (dx (N, D), dh_prev (N, H))."""
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        # Through the tanh: its derivative is 1 - tanh^2, read off the output.
        dt = dh_next * (1 - h_next ** 2)
        db = np.sum(dt, axis=0)
        dWh = h_prev.T @ dt
        dh_prev = dt @ Wh.T
        dWx = x.T @ dt
        dx = dt @ Wx.T
        # [...] = keeps the gradient arrays' identity (optimizers hold references).
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        return dx, dh_prev


class TimeRNN:
    """T steps of the vanilla RNN, one RNN object per step, sharing the parameters.

    Arguments of the constructor:
    Wx (D, H), Wh (H, H), b (H,) -- the shared parameters
    stateful -- if True, the last hidden state of one forward call is the initial
                state of the next (truncated BPTT); if False every call starts at zeros

    Attributes: params, grads (written in place), layers (the RNN objects of the last
    forward), h (last hidden state), dh (gradient w.r.t. the initial hidden state,
    after backward), stateful.
    """

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.layers = None
        self.h, self.dh = None, None
        self.stateful = stateful

    def forward(self, xs):
        """xs -- input sequence, shape (N, T, D). Returns hs, shape (N, T, H), float32."""
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        D, H = Wx.shape
        self.layers = []
        hs = np.empty((N, T, H), dtype='f')
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, H), dtype='f')
        for t in range(T):
            layer = RNN(*self.params)
            self.h = layer.forward(xs[:, t, :], self.h)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        """dhs -- upstream gradients of the hidden states, shape (N, T, H).
        Fills self.grads in place, sets self.dh; returns dxs, shape (N, T, D), float32."""
        Wx, Wh, b = self.params
        N, T, H = dhs.shape
        D, H = Wx.shape
        dxs = np.empty((N, T, D), dtype='f')
        # The carried gradient from the future starts at nothing.
        dh = 0
        grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        for t in reversed(range(T)):
            layer = self.layers[t]
            # h_t is used by the output at t and by step t + 1: the gradients add.
            dx, dh = layer.backward(dhs[:, t, :] + dh)
            dxs[:, t, :] = dx
            # The steps share their parameters, so the per-step gradients are summed.
            for k, grad in enumerate(layer.grads):
                grads[k] += grad
        for k, grad in enumerate(grads):
            self.grads[k][...] = grad
        self.dh = dh
        return dxs

    def set_state(self, h):
        """h -- hidden state (N, H) to start the next forward from (when stateful)."""
        self.h = h

    def reset_state(self):
        """Forget the carried hidden state: the next forward starts at zeros."""
        self.h = None


class TimeEmbedding:
    """Embedding lookup for a whole sequence, one Embedding object per time step.

    Arguments of the constructor:
    W -- embedding matrix, shape (V, D)

    Attributes: params = [W], grads = [dW] (written in place), layers, W.
    """

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.layers = None
        self.W = W

    def forward(self, xs):
        """xs -- integer word indices, shape (N, T). Returns the vectors, shape (N, T, D), float32."""
        N, T = xs.shape
        V, D = self.W.shape
        out = np.empty((N, T, D), dtype='f')
        self.layers = []
        for t in range(T):
            layer = Embedding(self.W)
            out[:, t, :] = layer.forward(xs[:, t])
            self.layers.append(layer)
        return out

    def backward(self, dout):
        """dout -- gradient of the output, shape (N, T, D).
        Fills self.grads[0] in place and returns None (indices have no gradient)."""
        N, T, D = dout.shape
        grad = np.zeros_like(self.W)
        for t in range(T):
            layer = self.layers[t]
            layer.backward(dout[:, t, :])
            # Every step looks up the same matrix: the gradients add.
            grad += layer.grads[0]
        self.grads[0][...] = grad
        return None


class TimeAffine:
    """Affine map applied at every time step (x @ W + b).

    Arguments of the constructor:
    W -- weights, shape (D, M)
    b -- bias, shape (M,)

    Attributes: params = [W, b], grads = [dW, db] (written in place), x (last input).
    """

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        """x -- inputs, shape (N, T, D). Returns outputs, shape (N, T, M), dtype of the computation."""
        N, T, D = x.shape
        W, b = self.params
        # Folding time into the batch makes it a single matrix product.
        rx = x.reshape(N * T, -1)
        out = rx @ W + b
        self.x = x
        return out.reshape(N, T, -1)

    def backward(self, dout):
        """dout -- upstream gradient, shape (N, T, M).
        Fills self.grads in place; returns dx, shape (N, T, D)."""
        x = self.x
        N, T, D = x.shape
        W, b = self.params
        dout = dout.reshape(N * T, -1)
        rx = x.reshape(N * T, -1)
        db = np.sum(dout, axis=0)
        dW = rx.T @ dout
        dx = (dout @ W.T).reshape(*x.shape)
        self.grads[0][...] = dW
        self.grads[1][...] = db
        return dx


class TimeSoftmaxWithLoss:
    """Softmax cross-entropy at every time step, averaged over the non-ignored positions.

    Targets equal to `ignore_label` (-1, a fixed attribute) contribute neither to the
    loss nor to the count it is divided by.

    Attributes: params = [], grads = [], ignore_label = -1,
    cache = (ts, ys, mask, (N, T, V)) after forward.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.ignore_label = -1

    def forward(self, xs, ts):
        """xs -- scores, shape (N, T, V); ts -- integer targets (N, T) or one-hot (N, T, V).
        Returns the scalar loss (mean over valid positions)."""
        N, T, V = xs.shape
        if ts.ndim == 3:
            # One-hot targets become label indices.
            ts = ts.argmax(axis=2)
        mask = (ts != self.ignore_label)

        # Fold time into the batch.
        xs = xs.reshape(N * T, V)
        ts = ts.reshape(N * T)
        mask = mask.reshape(N * T)

        ys = softmax(xs)
        # Ignored rows pick an arbitrary column (-1 is the last one) and are zeroed out.
        ls = np.log(ys[np.arange(N * T), ts])
        ls *= mask
        loss = -np.sum(ls)
        loss /= mask.sum()

        self.cache = (ts, ys, mask, (N, T, V))
        return loss

    def backward(self, dout=1):
        """dout -- upstream scalar gradient. Returns dxs, shape (N, T, V)."""
        ts, ys, mask, (N, T, V) = self.cache
        # Work on a copy so that the cache stays valid for another backward call.
        dx = ys.copy()
        dx[np.arange(N * T), ts] -= 1
        dx *= dout
        dx /= mask.sum()
        dx *= mask[:, np.newaxis]
        return dx.reshape((N, T, V))


class LSTM:
    """One time step of an LSTM; gate blocks of the 4H axis are ordered f, g, i, o.

    Arguments of the constructor:
    Wx -- input-to-gates weights, shape (D, 4H)
    Wh -- hidden-to-gates weights, shape (H, 4H)
    b -- gate biases, shape (4H,)

    Attributes: params = [Wx, Wh, b], grads = [dWx, dWh, db] (written in place),
    cache = (x, h_prev, c_prev, i, f, g, o, c_next) after forward.
    """

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        """x (N, D), h_prev (N, H), c_prev (N, H). Returns (h_next, c_next), each (N, H)."""
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        A = x @ Wx + h_prev @ Wh + b
        f = sigmoid(A[:, :H])
        g = np.tanh(A[:, H:2 * H])
        i = sigmoid(A[:, 2 * H:3 * H])
        o = sigmoid(A[:, 3 * H:])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        """dh_next (N, H), dc_next (N, H) -- gradients w.r.t. h_next and c_next.
        Fills self.grads in place; returns (dx (N, D), dh_prev (N, H), dc_prev (N, H))."""
        Wx, Wh, b = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c = np.tanh(c_next)
        # c_next reaches the loss directly and through h_next = o * tanh(c_next).
        ds = dc_next + (dh_next * o) * (1 - tanh_c ** 2)
        dc_prev = ds * f
        # Gradients w.r.t. the pre-activations, through sigmoid / tanh.
        df = ds * c_prev * f * (1 - f)
        dg = ds * i * (1 - g ** 2)
        di = ds * g * i * (1 - i)
        do = dh_next * tanh_c * o * (1 - o)
        dA = np.hstack((df, dg, di, do))
        dWh = h_prev.T @ dA
        dWx = x.T @ dA
        db = dA.sum(axis=0)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        dx = dA @ Wx.T
        dh_prev = dA @ Wh.T
        return dx, dh_prev, dc_prev


class TimeLSTM:
    """T steps of the LSTM, one LSTM object per step, sharing the parameters.

    Arguments of the constructor:
    Wx (D, 4H), Wh (H, 4H), b (4H,) -- the shared parameters
    stateful -- if True, h and c carry over from one forward call to the next

    Attributes: params, grads (written in place), layers, h and c (last states),
    dh (gradient w.r.t. the initial hidden state, after backward), stateful.
    """

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.layers = None
        self.h, self.c = None, None
        self.dh = None
        self.stateful = stateful

    def forward(self, xs):
        """xs -- input sequence, shape (N, T, D). Returns hs, shape (N, T, H), float32."""
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        self.layers = []
        hs = np.empty((N, T, H), dtype='f')
        # Either state may be missing (set_state(h) leaves c unset): start it at zero.
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, H), dtype='f')
        if not self.stateful or self.c is None:
            self.c = np.zeros((N, H), dtype='f')
        for t in range(T):
            layer = LSTM(*self.params)
            self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        """dhs -- upstream gradients of the hidden states, shape (N, T, H).
        Fills self.grads in place, sets self.dh; returns dxs, shape (N, T, D), float32."""
        Wx, Wh, b = self.params
        N, T, H = dhs.shape
        D = Wx.shape[0]
        dxs = np.empty((N, T, D), dtype='f')
        dh, dc = 0, 0
        grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for k, grad in enumerate(layer.grads):
                grads[k] += grad
        for k, grad in enumerate(grads):
            self.grads[k][...] = grad
        self.dh = dh
        return dxs

    def set_state(self, h, c=None):
        """h (N, H), c (N, H) or None -- states to start the next forward from (when stateful)."""
        self.h, self.c = h, c

    def reset_state(self):
        """Forget the carried states: the next forward starts at zeros."""
        self.h, self.c = None, None
