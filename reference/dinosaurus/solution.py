import numpy as np
from utils import *


def clip(gradients, maxValue):
    """Clip the five parameter gradients element-wise to [-maxValue, maxValue].

    Arguments:
    gradients -- dict with dWaa, dWax, dWya, db, dby (and possibly da_next, dropped)
    maxValue -- positive bound

    Returns:
    gradients -- a new dict with exactly dWaa, dWax, dWya, db, dby, clipped
    """
    # A copy per array: the caller's gradients are left as they were.
    return {name: np.clip(gradients[name], -maxValue, maxValue) for name in ("dWaa", "dWax", "dWya", "db", "dby")}


def sample(parameters, char_to_ix, seed):
    """Sample a sequence of character indices from the model (docs/ASSIGNMENTS.md B.5).

    Arguments:
    parameters -- dict with Waa, Wax, Wya, by, b
    char_to_ix -- dict mapping each character to its index
    seed -- step k re-seeds NumPy's generator with seed + 2k

    Returns:
    indices -- list of sampled indices, ending with the newline's; at most 50 sampled,
        plus the newline when that cap is reached
    """
    Waa, Wax, Wya, by, b = parameters["Waa"], parameters["Wax"], parameters["Wya"], parameters["by"], parameters["b"]
    vocab_size = by.shape[0]
    n_a = Waa.shape[1]
    newline = char_to_ix["\n"]

    # No character and no history before the first step.
    x = np.zeros((vocab_size, 1))
    a_prev = np.zeros((n_a, 1))
    indices = []
    idx = -1
    counter = 0
    while idx != newline and counter != 50:
        a = np.tanh(Wax @ x + Waa @ a_prev + b)
        y = softmax(Wya @ a + by)
        # Seeded at every step: the sequence is reproducible.
        np.random.seed(counter + seed)
        idx = int(np.random.choice(range(vocab_size), p=y.ravel()))
        indices.append(idx)
        # The sampled character is the next input.
        x = np.zeros((vocab_size, 1))
        x[idx] = 1
        a_prev = a
        seed += 1
        counter += 1
    if counter == 50:
        indices.append(newline)
    return indices


def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    """One training step on one name: forward, backward, clip to 5, update in place.

    Arguments:
    X -- list of input indices (X[0] is None)
    Y -- list of target indices
    a_prev -- hidden state to start from, shape (n_a, 1)
    parameters -- dict with Wax, Waa, Wya, b, by (updated in place)
    learning_rate -- float

    Returns:
    loss -- loss of the name before the update
    gradients -- the clipped gradients dWaa, dWax, dWya, db, dby
    a[len(X)-1] -- the last hidden state, shape (n_a, 1)
    """
    loss, cache = rnn_forward(X, Y, a_prev, parameters)
    gradients, a = rnn_backward(X, Y, parameters, cache)
    # Clipping keeps an exploding gradient from wrecking the update.
    gradients = clip(gradients, 5)
    parameters = update_parameters(parameters, gradients, learning_rate)
    return loss, gradients, a[len(X) - 1]


def model(data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7, vocab_size=27, verbose=False):
    """Train the character-level model on a list of names, sampling names as it goes.

    Arguments:
    data_x -- list of names (lower case, without line ends)
    ix_to_char, char_to_ix -- the index <-> character maps
    num_iterations -- number of training steps (one name each)
    n_a -- number of hidden units
    dino_names -- how many names to sample every 2000 iterations
    vocab_size -- number of characters
    verbose -- print the examples at the first and last positions of an epoch

    Returns:
    parameters -- the trained parameters
    last_dino_name -- the last name sampled
    """
    parameters = initialize_parameters(n_a, vocab_size, vocab_size)
    loss = get_initial_loss(vocab_size, dino_names)

    # Shuffled once, with a fixed seed, then visited in turn.
    examples = [name.strip() for name in data_x]
    np.random.seed(0)
    np.random.shuffle(examples)

    # The hidden state is carried from one name to the next.
    a_prev = np.zeros((n_a, 1))
    last_dino_name = "abc"
    for j in range(num_iterations):
        name = examples[j % len(examples)]
        X = [None] + [char_to_ix[ch] for ch in name]
        Y = X[1:] + [char_to_ix["\n"]]
        curr_loss, gradients, a_prev = optimize(X, Y, a_prev, parameters, learning_rate=0.01)
        if verbose and j in (0, len(examples) - 1, len(examples)):
            print("j = ", j, "idx = ", j % len(examples))
            print("X = ", X, "\n", "Y = ", Y, "\n")
        loss = smooth(loss, curr_loss)
        if j % 2000 == 0:
            print(f"Iteration: {j}, Loss: {loss:f}\n")
            for seed in range(dino_names):
                last_dino_name = get_sample(sample(parameters, char_to_ix, seed), ix_to_char)
                print(last_dino_name.replace("\n", ""))
            print("\n")
    return parameters, last_dino_name
