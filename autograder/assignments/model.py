"""The vocabulary an assignment description is written in.

A graded unit says *how it is called* as small code snippets (`setup`, `call`,
`extras`) that run unchanged against the hidden reference in the grading process and
against the student's definitions in the sandbox, so both sides are driven identically
and the engine needs no knowledge of any family.
"""
from __future__ import annotations

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


@dataclass(frozen=True)
class Case:
    label: str
    inputs: dict


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
            out.append(Case(f"{name}{desc}, seed {seed}", self.make_inputs(rng, **size)))
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
