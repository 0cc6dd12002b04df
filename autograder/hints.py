"""Hints for classic mistakes, found by re-running the reference on a changed input.

A student's wrong output often equals the reference's output on inputs changed the
way the mistake changes them: a bias left out is the reference with that bias zeroed,
a transposed square weight is the reference with that weight transposed, a gate-order
mix-up is the reference with two gates' parameters (or two blocks of a stacked weight)
swapped. Every variant is generic: it is derived from the shapes and names of the case
inputs, not from any family. Runs in the grading process, for one failing case only.
"""
from __future__ import annotations

import itertools
import re

import numpy as np

MAX_VARIANTS = 40


def _float_arrays(value, path=()):
    """(path, array) for every float array in nested dicts/lists of the case inputs."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _float_arrays(v, path + (k,))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _float_arrays(v, path + (i,))
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        yield path, value


def _name(path) -> str:
    return str(path[0]) + "".join(f"[{p!r}]" for p in path[1:])


def _replace(inputs, changes: dict):
    """A deep copy of inputs with arrays at the given paths replaced."""
    def rebuild(value, path):
        if path in changes:
            return changes[path]
        if isinstance(value, dict):
            return {k: rebuild(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [rebuild(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return tuple(rebuild(v, path + (i,)) for i, v in enumerate(value))
        return value.copy() if isinstance(value, np.ndarray) else value
    return rebuild(inputs, ())


def variants(inputs: dict):
    """(words, changed inputs) for each classic mistake that fits these inputs."""
    arrays = list(_float_arrays(inputs))
    by_path = dict(arrays)
    for path, a in arrays:  # a missing bias: the reference with that bias zeroed
        if a.ndim == 1 or (a.ndim == 2 and 1 in a.shape):
            what = "bias" if str(path[-1]).startswith("b") else "term"
            yield f"with `{_name(path)}` set to zero: is that {what} missing?", {path: np.zeros_like(a)}
    for path, a in arrays:  # a transposed square weight
        if a.ndim == 2 and a.shape[0] == a.shape[1] > 1:
            yield f"with `{_name(path)}` transposed: is that weight used transposed?", {path: a.T.copy()}
    # separate gate parameters (W<g>, b<g> in one dict): swap two gates' W and b together
    gates = {}
    for path, a in arrays:
        match = re.fullmatch(r"W([a-z])", str(path[-1]))
        if match:
            gates.setdefault(path[:-1], []).append(match.group(1))
    for parent, names in gates.items():
        for g1, g2 in itertools.combinations(sorted(names), 2):
            w1, w2 = parent + (f"W{g1}",), parent + (f"W{g2}",)
            if by_path[w1].shape != by_path[w2].shape:
                continue
            change = {w1: by_path[w2], w2: by_path[w1]}
            b1, b2 = parent + (f"b{g1}",), parent + (f"b{g2}",)
            if b1 in by_path and b2 in by_path:
                change.update({b1: by_path[b2], b2: by_path[b1]})
            yield f"with gates {g1} and {g2} swapped: check the gate order", change
    # stacked gate weights: arrays sharing a last axis of 4 blocks, blocks permuted jointly
    widths = {}
    for path, a in arrays:
        if a.ndim >= 1 and a.shape[-1] % 4 == 0 and a.shape[-1] >= 8:
            widths.setdefault(a.shape[-1], []).append(path)
    for width, paths in widths.items():
        if len(paths) < 2:
            continue
        h = width // 4
        for order in itertools.permutations(range(4)):
            if order == (0, 1, 2, 3):
                continue
            change = {p: np.concatenate([by_path[p][..., k * h:(k + 1) * h] for k in order], axis=-1)
                      for p in paths}
            yield f"with the four gate blocks taken in the order {list(order)}: check the gate order", change


_FAILED = object()


def _compared(expected: dict) -> list[str]:
    return [name for name in expected if not name.startswith("__")]


def order_hint(expected: dict, actual: dict, matches, returns: dict) -> str:
    """Right values under the wrong names: tuple positions in the wrong order (lstm_forward
    returning a, c, y) or dict keys mixed up. `matches(expected, actual)` as below."""
    names = _compared(expected)
    wrong = [n for n in names if n in actual and not matches({n: expected[n]}, {n: actual[n]})]
    if not wrong:
        return ""
    holds = {}  # student's name -> the expected output it holds
    for n in wrong:
        source = [m for m in names if m != n and m in actual and matches({n: expected[n]}, {n: actual[m]})]
        if len(source) != 1:
            return ""
        holds[source[0]] = n
    if set(holds) != set(wrong):
        return ""
    if returns.get("kind") == "tuple":
        order = [holds.get(n, n) for n in returns["names"]]
        label = lambda n: "cache" if n == "_" else n.lstrip("_")  # noqa: E731
        return ("The values are right but returned in the wrong order: yours are "
                f"({', '.join(map(label, order))}); the order is ({', '.join(map(label, returns['names']))}).")
    swaps = ", ".join(f"`{m}` holds what `{n}` should" for m, n in holds.items())
    return f"The values are right but under the wrong names: {swaps}."


def tanh_hint(expected: dict, actual: dict, matches) -> str:
    """A tanh left out: the tanh of the student's values is right."""
    for name in _compared(expected):
        value = actual.get(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not matches({name: expected[name]}, {name: value}):
            if (np.abs(value) > 1).any() and matches({name: expected[name]}, {name: np.tanh(value)}):
                return (f" Hint: `{name}` has values outside [-1, 1] and np.tanh of it is right: "
                        "is a tanh missing?")
    return ""


def classic_mistake_hint(run_reference, inputs: dict, actual: dict, matches, cache: dict | None = None,
                         mistakes=()) -> str:
    """`run_reference(inputs)` gives the reference outputs; `matches(expected, actual)`
    says whether a student's outputs equal them. `cache` (words -> reference outputs)
    may be kept per case by the caller: the variants of a hidden case are the same for
    every submission, so the reference runs on each of them once. `mistakes` are
    (words, run) pairs, `run()` giving the outputs of the reference with that mistake
    in its code (model.Mistake); they are tried first."""
    cache = {} if cache is None else cache
    candidates = [(words, run) for words, run in mistakes]
    for count, (words, change) in enumerate(variants(inputs)):
        if count >= MAX_VARIANTS:
            break
        candidates.append((words, lambda change=change: run_reference(_replace(inputs, change))))
    for words, run in candidates:
        expected = cache.get(words)
        if expected is None:
            try:
                expected = run()
            except Exception:
                expected = _FAILED
            cache[words] = expected
        if expected is _FAILED:
            continue
        if matches(expected, actual):
            return f" Hint: your outputs match the reference computed {words}"
    return ""
