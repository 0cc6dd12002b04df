"""The vocabulary an assignment description is written in.

A graded unit says *how it is called* as small code snippets (`setup`, `call`,
`extras`) that run unchanged against the hidden reference in the grading process and
against the student's definitions in the sandbox, so both sides are driven identically
and the engine needs no knowledge of any family.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# A tuple position private to the student, never compared: "_" (a cache) or "_<name>".
from autograder.driver import PRIVATE  # noqa: E402,F401  (one definition, shared with the sandbox side)


@dataclass(frozen=True)
class Returns:
    """How a unit's return value is read.

    kind "tuple": `names` gives each position; a name starting with PRIVATE is not compared.
    kind "dict":  `names` are the required keys; `optional` keys are allowed, not compared.
    kind "value": one value, named `names[0]`.
    kind "none":  the unit must return None (e.g. an embedding's backward).
    """

    kind: str
    names: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # tuple positions that are themselves dicts with fixed keys: their keys become
    # outputs of their own, e.g. Returns.tuple("gradients", PRIVATE, gradients=Returns.dict(...))
    nested: tuple = ()

    @classmethod
    def tuple(cls, *names: str, **nested: "Returns") -> "Returns":
        return cls("tuple", names, nested=tuple(nested.items()))

    def plain(self) -> dict:
        """The form sent to the sandbox."""
        return {"kind": self.kind, "names": list(self.names), "optional": list(self.optional),
                "nested": {name: rule.plain() for name, rule in self.nested}}

    @classmethod
    def dict(cls, *names: str, optional: tuple[str, ...] = ()) -> "Returns":
        return cls("dict", names, optional)

    @classmethod
    def value(cls, name: str) -> "Returns":
        return cls("value", (name,))

    @classmethod
    def none(cls) -> "Returns":
        return cls("none")


@dataclass(frozen=True)
class GradCheck:
    """A numerical check of a backward unit against the forward pass it belongs to.

    `forward` is an expression computing an output from the case inputs (with the same
    names in scope as the unit's snippets); the loss is sum(output * upstream) where
    `upstream` names the case input holding the upstream gradient (None: the forward
    already returns a scalar loss; a tuple: the forward returns that many outputs, each
    paired with its upstream gradient). `wrt` maps an input path such as
    "parameters['Wax']" to the name of the unit output holding its gradient.
    """

    forward: str
    wrt: dict
    upstream: str | tuple | None = None
    step: float = 1e-5


# The sizes a classic bug confuses (spec part 3, "No coincidences"): within a hidden
# case those a unit's `sizes` name are pairwise different, apart from the deliberate 1s
# (batch 1, one time step). tests/test_case_sizes.py checks every assignment.
CONFUSABLE_SIZES = frozenset({"n_x", "n_a", "n_y", "m", "T_x", "da_steps",   # column layout (A, B)
                              "N", "T", "D", "H", "V", "M"})                 # row layout (C, D)


@dataclass(frozen=True)
class Mistake:
    """A classic mistake in a unit, as an edit of the reference solution's source: when a
    student's outputs match the reference run with this edit, the hint says `words`
    ("... the reference computed {words}"). `old` must occur exactly once in the solution."""

    words: str
    old: str
    new: str


@dataclass(frozen=True)
class Case:
    label: str
    inputs: dict
    sizes: dict = field(default_factory=dict)  # the size arguments it was made from (n_a=5, ...)


@dataclass(frozen=True)
class Unit:
    name: str
    call: str
    returns: Returns
    make_inputs: Callable[..., dict]
    sizes: tuple[dict, ...]
    setup: str = ""
    extras: dict = field(default_factory=dict)
    calls: tuple[str, ...] = ()
    points: float = 1.0
    unchanged: tuple[str, ...] = ()
    gradcheck: GradCheck | None = None
    # In "reference" mode the names in `calls` are served by the reference. A unit
    # whose forward state lives on an object (family D) replaces its setup instead:
    # `reference_setup` runs with the reference's forward result in `reference_state`.
    reference_setup: str | None = None
    reference_state: Callable | None = None
    exact: bool = False  # integer/list outputs compared exactly (e.g. sampled indices)
    mistakes: tuple[Mistake, ...] = ()  # classic mistakes of this unit, for hints

    @property
    def has_reference_mode(self) -> bool:
        return bool(self.calls) or self.reference_setup is not None

    def cases(self) -> list[Case]:
        out = []
        for size in self.sizes:
            size = dict(size)
            seed = size.pop("seed")
            label = size.pop("label", None)
            rng = np.random.RandomState(seed)
            desc = ", ".join(f"{k}={v}" for k, v in size.items())
            name = f"{label}: " if label else ""
            out.append(Case(f"{name}{desc}, seed {seed}", self.make_inputs(rng, **size), size))
        return out


@dataclass(frozen=True)
class Assignment:
    id: str
    family: str
    title: str
    dtype: str
    helpers: tuple[str, ...]
    preamble: str
    units: tuple[Unit, ...]
    rtol: float = 1e-6
    atol: float = 1e-8
    notes: str = ""
    # sandbox limits for this assignment (keys of autograder.sandbox.limits.DEFAULTS, e.g.
    # {"unit_seconds": 10, "memory_mb": 768}); the command line overrides them
    limits: dict = field(default_factory=dict)
    # data files the student's code opens by name: {name in the working directory: file of
    # the assignment's folder}, placed in the student process's working directory when graded
    # (e.g. {"dinos.txt": "grading_names.txt"}: hidden data under the name the notebook uses)
    data_files: dict = field(default_factory=dict)
    # files of the assignment's folder shipped unchanged next to the notebook (source/,
    # release/, `rnngrade check`), besides the helper modules (e.g. a public data file)
    release_files: tuple[str, ...] = ()
    # the course folder it was read from (set by autograder.course, never written by hand)
    folder: Path | None = field(default=None, compare=False)

    def unit(self, name: str) -> Unit:
        for u in self.units:
            if u.name == name:
                return u
        raise KeyError(name)

    @property
    def total_points(self) -> float:
        return sum(u.points for u in self.units)

    def cache_forwards(self, unit: Unit) -> tuple[Unit, ...]:
        """The graded forward units whose result `unit`'s setup hands to it (a backward's
        cache or state) and that themselves call graded units: `rnn_forward` for
        `rnn_backward`, `TimeRNN.forward` for `TimeRNN.backward`."""
        return tuple(u for u in self.units if u is not unit and u.calls and runs_in(u.name, unit.setup))

    def depends_on(self, unit: Unit) -> tuple[Unit, ...]:
        """The graded units whose verdicts a unit's own run depends on: those it calls (by
        name, or by their class's name) and those its setup runs (a backward's forward)."""
        return tuple(u for u in self.units if u is not unit and (
            u.name in unit.calls or u.name.partition(".")[0] in unit.calls or runs_in(u.name, unit.setup)))

    def own_forward_calls(self, unit: Unit) -> tuple[str, ...]:
        """The names served by the reference in fair-credit mode "own_forward" (part 3, the
        third source of caches): the student's own forward builds the cache, in its own
        layout, with the reference versions of the units it calls, and the backward's
        other dependencies are the reference's too. () when the mode does not apply."""
        forwards = self.cache_forwards(unit)
        if not forwards:
            return ()
        own = {f.name for f in forwards} | {f.name.partition(".")[0] for f in forwards}
        names = [n for n in unit.calls if n not in own]
        for forward in forwards:
            names += [n for n in forward.calls if n not in names and n not in own]
        return tuple(names)


def runs_in(unit_name: str, snippet: str) -> bool:
    """Whether a snippet calls the unit: `rnn_forward(`, or `TimeRNN(` then `.forward(`."""
    base, _, method = unit_name.partition(".")
    called = re.search(rf"(?<![\w.]){re.escape(base)}\s*\(", snippet or "")
    return bool(called) and (not method or re.search(rf"\.{re.escape(method)}\s*\(", snippet) is not None)
