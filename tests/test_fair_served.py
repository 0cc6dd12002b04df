"""The grader's side of a served call (grader.ReferenceServer): only the arguments the
reference changed go back to the student side, whatever the reference does to them."""
import types

import numpy as np

from autograder.codec import decode, encode
from autograder.grader import ReferenceServer, ServedReplies, ServeLimits
from autograder.sandbox import runtime


def pure(x, parameters):
    return {"y": x @ parameters["W"], "cache": (x, parameters)}


def rebinds(x, parameters):
    parameters["W"] = parameters["W"] * 2  # a new array under the same key
    return x.sum()


def writes(x, gradients):
    gradients["dW"] += x  # into the argument's array
    x *= 2
    return gradients


def raises(x, parameters):
    raise ValueError("shapes do not fit")


def step(parameters, state):
    """Rebinds a dict item, then writes into an argument array (the reviewer's case)."""
    state["t"] += 1
    parameters["W"] -= 0.1 * state["t"]
    return state["t"]


RUNS = []


def counts_then_fails(x, parameters):
    RUNS.append(1)
    parameters["seen"] = len(RUNS)
    raise KeyError("not a write into a read-only array")


def server(limits=None):
    reference = types.SimpleNamespace(pure=pure, rebinds=rebinds, writes=writes, raises=raises, step=step,
                                      counts_then_fails=counts_then_fails)
    return ReferenceServer(reference, ("pure", "rebinds", "writes", "raises", "step", "counts_then_fails"), limits)


def call(srv, name, *args, **kwargs):
    """The message as the grader decodes it, and the decoded reply."""
    message = decode(encode({"op": "call", "name": name, "args": list(args), "kwargs": kwargs}))
    reply = srv(message)
    return message, decode(reply) if isinstance(reply, bytes) else reply


def arguments():
    return np.arange(4.0).reshape(2, 2), {"W": np.eye(2), "b": np.zeros(2)}


def test_a_call_that_changes_nothing_sends_no_argument_back():
    message, reply = call(server(), "pure", *arguments())
    assert reply["changed"] == {}
    np.testing.assert_array_equal(reply["value"]["y"], arguments()[0])
    # the arguments were read-only during the call only
    assert all(a.flags.writeable for a in (message["args"][0], *message["args"][1].values()))


def test_a_rebound_dict_item_sends_that_argument_back():
    _, reply = call(server(), "rebinds", *arguments())
    assert sorted(reply["changed"]) == [1]
    np.testing.assert_array_equal(reply["changed"][1]["W"], 2 * np.eye(2))


def test_a_write_into_an_argument_array_runs_again_on_writable_arrays():
    ReferenceServer.writes_arrays.discard(writes)
    x, gradients = np.ones((2, 2)), {"dW": np.zeros((2, 2))}
    srv = server()
    _, reply = call(srv, "writes", x, gradients)
    assert "error" not in reply, reply
    assert sorted(reply["changed"]) == [0, 1]
    # once, as if it had run once: the first attempt's writes were refused, not applied
    np.testing.assert_array_equal(reply["changed"][1]["dW"], np.ones((2, 2)))
    np.testing.assert_array_equal(reply["changed"][0], 2 * np.ones((2, 2)))
    assert writes in ReferenceServer.writes_arrays  # from now on at once, writable
    _, again = call(srv, "writes", x, gradients)
    np.testing.assert_array_equal(again["changed"][1]["dW"], np.ones((2, 2)))


def test_a_reference_that_raises_anyway_is_an_error_and_is_not_remembered():
    _, reply = call(server(), "raises", *arguments())
    assert "raised ValueError: shapes do not fit" in reply["error"]
    assert raises not in ReferenceServer.writes_arrays


def test_keyword_arguments_are_changed_once():
    # not held read-only nor restored: a second run would count twice and step twice
    ReferenceServer.writes_arrays.discard(step)
    _, reply = call(server(), "step", {"W": np.zeros(2)}, state={"t": 0})
    assert reply["value"] == 1, reply
    np.testing.assert_allclose(reply["changed"][0]["W"], [-0.1, -0.1])


def test_a_failure_that_is_not_a_refused_write_runs_once():
    RUNS.clear()
    _, reply = call(server(), "counts_then_fails", *arguments())
    assert "raised KeyError" in reply["error"]
    assert len(RUNS) == 1
    assert counts_then_fails not in ReferenceServer.writes_arrays


def test_a_refused_call_leaves_the_arguments_writable():
    limits = ServeLimits(array_items=3, call_bytes=1 << 20, total_bytes=1 << 20, reply_bytes=1 << 20)
    message, reply = call(server(limits), "pure", *arguments())
    assert "an array over the limit (at most 3 for this unit" in reply["error"]
    assert all(a.flags.writeable for a in (message["args"][0], *message["args"][1].values()))


class Channel:
    """The student side's proxy talking to a server in this process."""

    def __init__(self, srv):
        self.srv = srv

    def ask(self, message, full=False):
        reply = self.srv(decode(encode(message)))
        reply = decode(reply) if isinstance(reply, bytes) else reply
        return reply if full else reply.get("value")


def test_the_student_side_mirrors_exactly_what_changed():
    srv = server()
    x, parameters = arguments()
    kept = (1, 2)
    parameters["kept"] = kept  # not plain data the student side gets back when nothing changed
    runtime.make_function_proxy("pure", Channel(srv))(x, parameters)
    assert parameters["kept"] is kept
    runtime.make_function_proxy("rebinds", Channel(srv))(x, parameters)
    np.testing.assert_array_equal(parameters["W"], 2 * np.eye(2))
    x, gradients = np.ones((2, 2)), {"dW": np.zeros((2, 2))}
    runtime.make_function_proxy("writes", Channel(srv))(x, gradients)
    np.testing.assert_array_equal(gradients["dW"], np.ones((2, 2)))
    np.testing.assert_array_equal(x, 2 * np.ones((2, 2)))


def test_held_arguments_are_sized_as_the_codec_sizes_them():
    # the served-call limits read _HeldArguments.size: it must be codec.plain_size's figure
    from autograder.codec import plain_size
    from autograder.grader import _HeldArguments

    args = [np.ones((3, 4)), {"W": np.eye(2), "name": "x", "n": 3, "t": (1, 2.0, b"ab")}, [np.zeros(5), None]]
    held = _HeldArguments(args)
    held.release()
    assert held.size == plain_size(args, 1 << 30)


# --- replies answered from the bytes of a call seen before (grader.ServedReplies) -----

def drifts(x, parameters):
    """Hidden state: the same call gives another reply each time."""
    RUNS.append(1)
    return x * len(RUNS)


def draws(x, parameters):
    return x + np.random.rand()  # the global generator, unseeded


def helper_seeds_and_draws(x):
    np.random.seed(1)
    return x + np.random.rand()


def calls_a_helper_that_draws(x, parameters):
    return helper_seeds_and_draws(x)  # the same reply every time; the generator moved


def seeds_and_draws(x, parameters):
    np.random.seed(0)
    return x + np.random.rand()  # the same reply every time, but the generator moved


SERVED = ("pure", "rebinds", "drifts", "draws", "seeds_and_draws", "calls_a_helper_that_draws")
LIMITS = ServeLimits(array_items=1 << 10, call_bytes=1 << 20, total_bytes=1 << 20, reply_bytes=1 << 20)


def replying_server(replies, limits=LIMITS, allowed=SERVED):
    reference = types.SimpleNamespace(pure=pure, rebinds=rebinds, drifts=drifts, draws=draws,
                                      seeds_and_draws=seeds_and_draws,
                                      calls_a_helper_that_draws=calls_a_helper_that_draws)
    return ReferenceServer(reference, allowed, limits, replies)


def frame_of(name, *args):
    return encode({"op": "call", "name": name, "args": list(args), "kwargs": {}})


def ask(srv, frame):
    """What the client does with a call that came alone: the frame first, then the message."""
    known = srv.answer_frame(frame)
    return ("known", known) if known is not None else ("served", srv(decode(frame), frame))


def test_a_reply_is_answered_from_the_frame_once_a_third_call_gave_the_same_bytes():
    replies = ServedReplies()
    frame = frame_of("pure", *arguments())
    asked = [ask(replying_server(replies), frame)]
    assert frame not in replies.known  # a first call is only counted: a wrong loop's calls seldom come again
    asked += [ask(replying_server(replies), frame) for _ in range(3)]
    assert [kind for kind, _ in asked] == ["served", "served", "served", "known"]
    assert len({reply for _, reply in asked}) == 1
    # another call's bytes are another call
    assert ask(replying_server(replies), frame_of("pure", np.ones((2, 2)), arguments()[1]))[0] == "served"


def test_what_is_kept_stays_within_its_bytes():
    replies = ServedReplies()
    replies.MAX_BYTES = 20_000
    for k in range(200):  # calls that come twice each: all kept or refused, none ever forgotten uncounted
        frame = frame_of("rebinds" if k % 2 else "pure", np.full((2, 2), float(k)), arguments()[1])
        for _ in range(2):
            ask(replying_server(replies), frame)
        assert replies.size <= replies.MAX_BYTES
        assert replies.size >= sum(len(f) for f in replies.known)


def test_calls_that_may_not_give_the_same_reply_again_are_always_served_afresh():
    replies = ServedReplies()
    for name in ("drifts", "draws", "seeds_and_draws", "calls_a_helper_that_draws", "rebinds"):
        frame = frame_of(name, *arguments())
        kinds = [ask(replying_server(replies), frame)[0] for _ in range(5)]
        assert kinds == ["served"] * 5, name
    RUNS.clear()
    # a reply that changes from one call to the next is never used
    frame = frame_of("drifts", *arguments())
    replies = ServedReplies()
    assert [decode(ask(replying_server(replies), frame)[1])["value"][0, 1] for _ in range(4)] == [1, 2, 3, 4]


def test_a_known_reply_passes_the_units_limits_as_a_fresh_call_would():
    replies = ServedReplies()
    frame = frame_of("pure", *arguments())
    for _ in range(3):
        ask(replying_server(replies), frame)
    assert ask(replying_server(replies), frame)[0] == "known"
    # a unit that may not call it, or not with such arrays, or not this often, is refused in the grader's words
    kind, reply = ask(replying_server(replies, allowed=("rebinds",)), frame)
    assert kind == "served" and "pure is not served" in reply["error"]
    small = ServeLimits(array_items=3, call_bytes=1 << 20, total_bytes=1 << 20, reply_bytes=1 << 20)
    kind, reply = ask(replying_server(replies, small), frame)
    assert kind == "served" and "an array over the limit (at most 3 for this unit" in reply["error"]
    size = replies.known[frame].call_size
    few = ServeLimits(array_items=1 << 10, call_bytes=1 << 20, total_bytes=2 * size + 1, reply_bytes=1 << 20)
    srv = replying_server(replies, few)
    assert [ask(srv, frame)[0] for _ in range(2)] == ["known", "known"]
    kind, reply = ask(srv, frame)
    assert kind == "served" and "in all for this unit" in reply["error"]
    short = ServeLimits(array_items=1 << 10, call_bytes=1 << 20, total_bytes=1 << 20,
                        reply_bytes=replies.known[frame].reply_size - 1)
    kind, reply = ask(replying_server(replies, short), frame)
    assert kind == "served" and "its replies would pass" in reply["error"]


def test_a_call_with_more_than_its_name_and_arguments_is_never_kept():
    # what ServeLimits counts of a "value" field would not be in the kept reply's record
    replies = ServedReplies()
    frame = encode({"op": "call", "name": "pure", "args": list(arguments()), "kwargs": {}, "value": np.ones(500)})
    assert [ask(replying_server(replies), frame)[0] for _ in range(4)] == ["served"] * 4
    small = ServeLimits(array_items=100, call_bytes=1 << 20, total_bytes=1 << 20, reply_bytes=1 << 20)
    kind, reply = ask(replying_server(replies, small), frame)
    assert kind == "served" and "an array over the limit (at most 100 for this unit" in reply["error"]


def _wrapped_draw(x):
    return x * np.random.rand()


def _cached(function):
    import functools

    return functools.lru_cache(maxsize=None)(function)


class _Stepper:
    def step(self, x):
        return x + np.random.standard_normal()


helpers = types.ModuleType("helpers")  # an assignment's helper module
helpers.noisy_step = _wrapped_draw
helpers.step = pure


def test_what_a_function_reaches_is_read_for_random_draws():
    import functools

    from autograder.grader import _draws_randomness

    def through_a_closure(x):
        return inner(x)

    inner = _wrapped_draw

    @functools.wraps(_wrapped_draw)
    def wrapper(x):
        return _wrapped_draw(x)

    def through_a_class(x):
        return _Stepper().step(x)

    def through_a_module(x):
        return helpers.noisy_step(x)

    def through_a_module_too(x, parameters):
        return helpers.step(x, parameters)

    def plain(x, parameters):
        return np.tanh(parameters["W"] @ x)

    assert _draws_randomness(through_a_closure) and _draws_randomness(wrapper)
    assert _draws_randomness(through_a_class) and _draws_randomness(_cached(pure))  # (a C wrapper: unreadable)
    assert _draws_randomness(through_a_module)
    assert not any(_draws_randomness(f) for f in (plain, pure, through_a_module_too))


def test_an_empty_argument_counts_as_large_as_it_would_be_full():
    """Arrays of shape (1, 0) and (0, 2**27) carry no bytes, and the reference made
    (1, 2**27) arrays of them: the grader grew to 5.3 GB. An empty array counts for the
    elements it would have full (codec.array_items), in the call's limits too."""
    from autograder.codec import plain_size
    from autograder.grader import _HeldArguments

    args = [np.zeros((0, 2**27)), {"W": np.zeros((1, 0))}]
    held = _HeldArguments(args)
    held.release()
    assert held.size == plain_size(args, 1 << 40) > 2**30
    limits = ServeLimits(array_items=1 << 10, call_bytes=1 << 20, total_bytes=1 << 20, reply_bytes=1 << 20)
    _, reply = call(server(limits), "pure", np.zeros((0, 2**20)), {"W": np.zeros((2**20, 0))})
    assert "an array over the limit (at most 1024 for this unit" in reply["error"], reply
