import numpy as np
from utils import *


def softmax(x):
    """Softmax over axis 0 (the vocabulary axis in column layout).

    Arguments:
    x -- array of scores, classes on axis 0, e.g. shape (vocab_size, 1)

    Returns:
    array of the same shape whose columns are probability distributions
    """
    # Shifting by the global max avoids overflow in exp() and does not change the result.
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum(axis=0)


def rnn_cell_forward(xt, a_prev, parameters):
    """One time step of the character-level RNN.

    Arguments:
    xt -- one-hot input (or zero vector), shape (vocab_size, 1)
    a_prev -- previous hidden state, shape (n_a, 1)
    parameters -- dict with
        Wax (n_a, vocab_size), Waa (n_a, n_a), Wya (vocab_size, n_a),
        ba (n_a, 1), by (vocab_size, 1)

    Returns:
    a_next -- new hidden state, shape (n_a, 1)
    y_pred -- probabilities of the next character, shape (vocab_size, 1)
    """
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]

    a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)
    y_pred = softmax(Wya @ a_next + by)
    return a_next, y_pred


def rnn_forward(X, Y, a0, parameters, vocab_size):
    """Run the RNN over one training sequence and compute its cross-entropy loss.

    Arguments:
    X -- list of input character indices; X[t] None means a zero input vector
    Y -- list of target character indices, same length as X
    a0 -- initial hidden state, shape (n_a, 1)
    parameters -- dict with Wax, Waa, Wya, ba, by (see rnn_cell_forward)
    vocab_size -- size of the one-hot input vectors, int

    Returns:
    loss -- sum over time steps of -log(probability given to the target), float
    cache -- (y_hat, a, x): dicts keyed by time step holding the predictions
        (vocab_size, 1), hidden states (n_a, 1) and inputs (vocab_size, 1);
        a[-1] is a copy of a0
    """
    x, a, y_hat = {}, {}, {}
    # Key -1 lets step 0 read its previous state like any other step.
    a[-1] = np.copy(a0)
    loss = 0

    for t in range(len(X)):
        x[t] = np.zeros((vocab_size, 1))
        if X[t] is not None:
            x[t][X[t]] = 1
        a[t], y_hat[t] = rnn_cell_forward(x[t], a[t - 1], parameters)
        loss -= np.log(y_hat[t][Y[t], 0])

    cache = (y_hat, a, x)
    return loss, cache


def rnn_cell_backward(dy, gradients, parameters, x, a, a_prev):
    """Backward pass through one time step, accumulating into `gradients`.

    Arguments:
    dy -- gradient of the loss w.r.t. this step's softmax scores, shape (vocab_size, 1)
    gradients -- dict of running gradients dWax, dWaa, dWya, dba, dby, and da_next
        (gradient w.r.t. this step's hidden state coming from the following step)
    parameters -- dict with Wax, Waa, Wya, ba, by
    x -- this step's input, shape (vocab_size, 1)
    a -- this step's hidden state, shape (n_a, 1)
    a_prev -- previous hidden state, shape (n_a, 1)

    Returns:
    gradients -- the same dict: parameter gradients increased by this step's share,
        da_next replaced by the gradient w.r.t. a_prev
    """
    gradients["dWya"] += dy @ a.T
    gradients["dby"] += dy
    # The hidden state feeds the output and the next step.
    da = parameters["Wya"].T @ dy + gradients["da_next"]
    # Back through tanh: tanh' = 1 - a^2.
    draw = (1 - a ** 2) * da
    gradients["dba"] += draw
    gradients["dWax"] += draw @ x.T
    gradients["dWaa"] += draw @ a_prev.T
    # Replaced, not accumulated: it is what the previous step receives.
    gradients["da_next"] = parameters["Waa"].T @ draw
    return gradients


def rnn_backward(X, Y, parameters, cache):
    """Backpropagation through time for one sequence.

    Arguments:
    X -- list of input character indices (only its length is used)
    Y -- list of target character indices
    parameters -- dict with Wax, Waa, Wya, ba, by
    cache -- (y_hat, a, x) as returned by rnn_forward

    Returns:
    gradients -- dict with dWax, dWaa, dWya, dba, dby (parameter shapes) and
        da_next (n_a, 1), the gradient w.r.t. the initial hidden state
    a -- the dict of hidden states from the cache
    """
    (y_hat, a, x) = cache

    gradients = {
        "dWax": np.zeros_like(parameters["Wax"]),
        "dWaa": np.zeros_like(parameters["Waa"]),
        "dWya": np.zeros_like(parameters["Wya"]),
        "dba": np.zeros_like(parameters["ba"]),
        "dby": np.zeros_like(parameters["by"]),
        "da_next": np.zeros_like(a[0]),
    }

    for t in reversed(range(len(X))):
        # Softmax + cross-entropy: the score gradient is the prediction minus the one-hot target.
        dy = np.copy(y_hat[t])
        dy[Y[t]] -= 1
        gradients = rnn_cell_backward(dy, gradients, parameters, x[t], a[t], a[t - 1])

    return gradients, a


def clip(gradients, maxValue):
    """Clip every parameter gradient element-wise to [-maxValue, maxValue].

    Arguments:
    gradients -- dict containing dWaa, dWax, dWya, dba, dby (other keys are ignored)
    maxValue -- positive bound, float

    Returns:
    a new dict with exactly dWaa, dWax, dWya, dba, dby, clipped; the input dict and
    its arrays are left unchanged
    """
    # np.clip without out= returns new arrays, so the caller's gradients stay intact.
    return {name: np.clip(gradients[name], -maxValue, maxValue)
            for name in ("dWaa", "dWax", "dWya", "dba", "dby")}


def update_parameters(parameters, gradients, lr):
    """One gradient-descent step, applied in place.

    Arguments:
    parameters -- dict with Wax, Waa, Wya, ba, by (modified in place)
    gradients -- dict with dWax, dWaa, dWya, dba, dby
    lr -- learning rate, float

    Returns:
    parameters -- the same dict, updated
    """
    # In-place subtraction, so every holder of these arrays sees the new values.
    parameters["Wax"] -= lr * gradients["dWax"]
    parameters["Waa"] -= lr * gradients["dWaa"]
    parameters["Wya"] -= lr * gradients["dWya"]
    parameters["ba"] -= lr * gradients["dba"]
    parameters["by"] -= lr * gradients["dby"]
    return parameters


def sample(parameters, char_to_ix, seed):
    """Generate one sequence of character indices from the model.

    Arguments:
    parameters -- dict with Wax, Waa, Wya, ba, by
    char_to_ix -- dict mapping each character to its index (must contain '\\n')
    seed -- int; step k re-seeds NumPy's global generator with seed + 2k

    Returns:
    indices -- list of sampled indices, ending with the newline index; at most
        50 sampled characters, plus a newline appended if that cap is reached
    """
    Waa = parameters["Waa"]
    Wax = parameters["Wax"]
    Wya = parameters["Wya"]
    by = parameters["by"]
    ba = parameters["ba"]
    vocab_size = by.shape[0]
    n_a = Waa.shape[1]

    # The first step sees no character and no history.
    x = np.zeros((vocab_size, 1))
    a_prev = np.zeros((n_a, 1))

    indices = []
    idx = -1
    counter = 0
    newline = char_to_ix["\n"]

    while idx != newline and counter != 50:
        a = np.tanh(Wax @ x + Waa @ a_prev + ba)
        y = softmax(Wya @ a + by)

        # Re-seeding at every step makes the sampled sequence reproducible.
        np.random.seed(counter + seed)
        idx = int(np.random.choice(range(vocab_size), p=y.ravel()))
        indices.append(idx)

        # The sampled character becomes the next input.
        x = np.zeros((vocab_size, 1))
        x[idx] = 1
        a_prev = a

        seed += 1
        counter += 1

    if counter == 50:
        indices.append(newline)

    return indices


def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    """One training step on one sequence: forward, backward, clip to 5, update.

    Arguments:
    X -- list of input character indices (X[t] None means a zero input)
    Y -- list of target character indices
    a_prev -- hidden state to start from, shape (n_a, 1)
    parameters -- dict with Wax, Waa, Wya, ba, by (updated in place)
    learning_rate -- float

    Returns:
    loss -- loss of the sequence before the update, float
    gradients -- the clipped gradients dWaa, dWax, dWya, dba, dby
    a_last -- hidden state after the last step, shape (n_a, 1)
    """
    vocab_size = parameters["by"].shape[0]
    loss, cache = rnn_forward(X, Y, a_prev, parameters, vocab_size)
    gradients, a = rnn_backward(X, Y, parameters, cache)
    # Clipping keeps exploding gradients from wrecking the update.
    gradients = clip(gradients, 5)
    parameters = update_parameters(parameters, gradients, learning_rate)
    return loss, gradients, a[len(X) - 1]
