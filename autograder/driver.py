"""How one case of a unit is run: the same code drives the hidden reference in the
grading process and the student's definitions inside the sandbox.

A unit is described by plain data (see `unit_spec`): snippets `setup`, `call` and
`extras` that are executed with the case inputs as local names and the definitions
(reference or student) as globals, and a `returns` rule that turns the return value
into named outputs. Contract breaks (wrong arity, missing keys, a protected input
modified) raise ContractError with a sentence a student can act on.
"""
from __future__ import annotations

import builtins
import copy
import functools
import re
import sys

import numpy as np

PRIVATE = "_"


class ContractError(Exception):
    """The unit broke the calling contract of the spec (a verdict, not a crash)."""


class SetupError(Exception):
    """Preparing a case failed before the unit itself was called (usually in the
    student's own forward pass, whose cache a backward unit needs)."""

    def __init__(self, snippet: str, cause: BaseException):
        super().__init__(snippet)
        self.snippet, self.cause = snippet, cause


def unit_spec(unit) -> dict:
    """The plain-data form of a Unit that is sent to the sandbox."""
    gc = unit.gradcheck
    return {
        "name": unit.name,
        "setup": unit.setup,
        "call": unit.call,
        "returns": unit.returns.plain(),
        "extras": dict(unit.extras),
        "unchanged": list(unit.unchanged),
        "gradcheck": None if gc is None else {
            "forward": gc.forward, "wrt": dict(gc.wrt),
            "upstream": list(gc.upstream) if isinstance(gc.upstream, tuple) else gc.upstream, "step": gc.step},
    }


def _label(name: str) -> str:
    """Private positions are named "_" (a cache) or "_<name>"."""
    return "cache" if name == PRIVATE else name.lstrip(PRIVATE)


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a {type(value).__name__}"


def read_returns(result, returns: dict, unit_name: str) -> dict:
    kind, names = returns["kind"], returns["names"]
    if kind == "tuple":
        wanted = ", ".join(_label(n) for n in names)
        if not isinstance(result, (tuple, list)):
            raise ContractError(f"{unit_name} returned {_describe(result)}; expected {len(names)} values ({wanted})")
        if len(result) != len(names):
            raise ContractError(f"{unit_name} returned {len(result)} values; expected {len(names)} ({wanted})")
        outputs = {}
        for name, value in zip(names, result):
            if name in returns.get("nested", {}):
                outputs.update(read_returns(value, returns["nested"][name], f"{unit_name}'s {name}"))
            elif not name.startswith(PRIVATE):
                outputs[name] = value
        return outputs
    if kind == "dict":
        if not isinstance(result, dict):
            raise ContractError(f"{unit_name} returned {_describe(result)}; expected a dict with keys {', '.join(names)}")
        missing = [n for n in names if n not in result]
        extra = [k for k in result if k not in names and k not in returns["optional"]]
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing key(s) " + ", ".join(map(repr, missing)))
            if extra:
                parts.append("unexpected key(s) " + ", ".join(map(repr, extra)))
            raise ContractError(f"{unit_name} returned a dict with {' and '.join(parts)}; "
                                f"the keys must be exactly {', '.join(names)}")
        return {n: result[n] for n in names}
    if kind == "value":
        return {names[0]: result}
    if kind == "none":
        if result is not None:
            raise ContractError(f"{unit_name} returned {_describe(result)}; it must return None")
        return {}
    raise ValueError(f"unknown returns kind {kind}")


def copy_data(value, memo=None):
    """copy.deepcopy for the plain data cases are made of (dicts, lists, tuples, arrays,
    scalars), several times faster; anything else still goes through deepcopy. Objects
    reached twice are copied once, as deepcopy does."""
    memo = {} if memo is None else memo
    kind = type(value)
    if kind in _ATOMS:
        return value
    done = memo.get(id(value))
    if done is not None:
        return done
    if kind is np.ndarray:
        out = value.copy()
    elif kind is dict:
        out = memo[id(value)] = {}
        for k, v in value.items():
            out[k] = copy_data(v, memo)
        return out
    elif kind is list:
        out = memo[id(value)] = []
        out.extend(copy_data(v, memo) for v in value)
        return out
    elif kind is tuple:
        out = tuple(copy_data(v, memo) for v in value)
    else:
        out = copy.deepcopy(value)
    memo[id(value)] = out
    return out


_ATOMS = frozenset({int, float, bool, str, bytes, complex, type(None)})


@functools.lru_cache(maxsize=512)
def compiled(source: str, filename: str, mode: str):
    """A snippet's code object, compiled once per process (every case runs the same snippets)."""
    return compile(source, filename, mode)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype):
            return False
        # identical bytes are equal values (the common case: nothing was touched);
        # otherwise numpy decides (-0.0 == 0.0, NaN == NaN)
        return a.tobytes() == b.tobytes() or bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return False


# a cell magic that only wraps its cell (on the cell's first line that is not blank, as
# IPython reads it): in Jupyter the cell's code runs as the cell's own
WRAPPING_MAGIC = re.compile(r"\A((?:[ \t]*\n)*)[ \t]*%%(?:time|capture)\b[^\n]*")


def unwrapped(source: str) -> str:
    """A `%%time` or `%%capture` cell as the plain cell it wraps, its magic's line emptied
    (lines keep their numbers): read so by the grader (the slice sees its statements, a
    failing one costs only itself, a stopped cell keeps its leading definitions) and by
    the student checks alike."""
    return WRAPPING_MAGIC.sub(r"\1", source, count=1)


class NoIPython:
    """What `get_ipython()` returns to a notebook run outside Jupyter (the sandbox, the
    student checks): magics and shell escapes do nothing, except `%%writefile`, which
    writes its file (and defines nothing), and `%pylab`, which fills the notebook's names.
    (`%%time` and `%%capture` cells never get here: see `unwrapped`.)"""
    # `%pylab` (old notebooks): IPython's star-imports, numpy's last, so that `tanh`,
    # `zeros` and `sum(x, axis=0)` are numpy's in the notebook as in Jupyter
    PYLAB = ("import numpy\nimport numpy as np\n"
             "try:\n    import matplotlib\n    from matplotlib import pyplot as plt\n"
             "    from matplotlib.pylab import *\nexcept ImportError:\n    pass\n"
             "from numpy import *\n")

    def run_cell_magic(self, name, line, cell):
        if name == "writefile":  # the file is written (a module the notebook imports next), nothing defined
            import importlib
            import os

            words = line.split()
            target = [w for w in words if not w.startswith("-")]
            if target:
                with open(os.path.expanduser(target[-1]), "a" if {"-a", "--append"} & set(words) else "w",
                          encoding="utf-8") as handle:
                    handle.write(cell)
                importlib.invalidate_caches()
            return

    def run_line_magic(self, name, line, *args):
        if name == "pylab":
            exec(compile(self.PYLAB, "<%pylab>", "exec"), sys._getframe(1).f_globals)

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _snippet_builtins(spec: dict) -> dict:
    """The built-ins the spec's own snippets name (at their top level), as local names of
    the case: a notebook that rebinds one (`list = [1, 2]`; `from numpy import *` brings
    numpy's `sum` and `abs`) must not break the grader's code that runs beside it."""
    return _builtins_named(spec["setup"], spec["call"], tuple(spec["extras"].values()), spec["name"])


@functools.lru_cache(maxsize=1024)
def _builtins_named(setup: str, call: str, extras: tuple, name: str) -> dict:
    codes = [compiled(call, "<call>", "eval")] + [compiled(e, "<extra>", "eval") for e in extras]
    if setup:
        codes.append(compiled(setup, "<setup>", "exec"))
    own = name.partition(".")[0]  # (a unit named like a built-in stays the student's)
    return {n: getattr(builtins, n) for c in codes for n in c.co_names if hasattr(builtins, n) and n != own}


def run_case(definitions: dict, spec: dict, inputs: dict, gradcheck: bool = False) -> dict:
    """Run one case; return its named outputs (plus `__mutated__`, `__gradcheck__`)."""
    before = copy_data(inputs)
    local_names = {**_snippet_builtins(spec), **inputs}
    if spec["setup"]:
        try:
            exec(compiled(spec["setup"], "<setup>", "exec"), definitions, local_names)
        except BaseException as exc:
            raise SetupError(spec["setup"], exc) from exc
    result = eval(compiled(spec["call"], "<call>", "eval"), definitions, local_names)
    outputs = read_returns(result, spec["returns"], spec["name"])
    for name, expression in spec["extras"].items():
        outputs[name] = eval(compiled(expression, "<extra>", "eval"), definitions, local_names)
    for name in spec["unchanged"]:
        if not _same(inputs[name], before[name]):
            raise ContractError(f"{spec['name']} modified its argument `{name}`, which must stay unchanged")
    protected = set(spec["extras"]) | set(spec["unchanged"])
    mutated = [n for n in inputs if n not in protected and not _same(inputs[n], before[n])]
    if mutated:
        outputs["__mutated__"] = mutated
    if gradcheck and spec["gradcheck"]:
        try:
            outputs["__gradcheck__"] = directional_gradcheck(definitions, spec, before, outputs)
        except Exception as exc:  # reported, never a reason to fail the case
            outputs["__gradcheck__"] = {"*": f"skipped: the forward raised {type(exc).__name__}"}
    return outputs


def _loss(definitions, check, inputs) -> float:
    local_names = copy_data(inputs)
    out = eval(compiled(check["forward"], "<forward>", "eval"), definitions, local_names)
    upstream = check["upstream"]
    if upstream is None:
        return float(np.sum(np.asarray(out, dtype=np.float64)))
    if isinstance(upstream, str):  # one output, one upstream gradient
        out, upstream = (out,), (upstream,)
    return float(sum(np.sum(np.asarray(o, dtype=np.float64) * np.asarray(inputs[u], dtype=np.float64))
                     for o, u in zip(out, upstream)))


JOINT = "all gradients together"


def _directional(definitions, check, inputs, directions: dict, outputs: dict, grads: dict) -> list:
    """[numerical, analytical] derivative of the loss along `directions` (path -> array)."""
    h = check["step"]
    values = []
    for sign in (1.0, -1.0):
        shifted = copy_data(inputs)
        for path, direction in directions.items():
            target = eval(compiled(path, "<path>", "eval"), {}, shifted)
            target += (sign * h * direction).astype(target.dtype)
        values.append(_loss(definitions, check, shifted))
    numerical = (values[0] - values[1]) / (2 * h)
    analytical = sum(float(np.sum(np.asarray(outputs[grads[p]], dtype=np.float64) * d))
                     for p, d in directions.items())
    return [numerical, analytical]


def relative_error(numerical: float, analytical: float) -> float:
    return abs(numerical - analytical) / max(1e-8, abs(numerical) + abs(analytical))


def directional_gradcheck(definitions: dict, spec: dict, inputs: dict, outputs: dict) -> dict:
    """Central differences of the forward used along random directions: first one
    direction over all inputs at once (two forward passes in all); only when that
    disagrees, one direction per input (two passes each) to name the wrong gradient.
    Returns name -> [numerical, analytical], or a reason a gradient was skipped."""
    check = spec["gradcheck"]
    rng = np.random.RandomState(12345)
    report, directions = {}, {}
    for path, grad_name in check["wrt"].items():
        grad = outputs.get(grad_name)
        probe = eval(compiled(path, "<path>", "eval"), {}, dict(inputs))
        if not isinstance(grad, np.ndarray) or np.shape(grad) != np.shape(probe):
            report[grad_name] = "skipped: the gradient is missing or has the wrong shape"
            continue
        directions[path] = rng.standard_normal(np.shape(probe))
    if not directions:
        return report
    joint = _directional(definitions, check, inputs, directions, outputs, check["wrt"])
    if relative_error(*joint) <= check.get("threshold", 1e-6):
        report[JOINT] = joint
        return report
    for path, direction in directions.items():
        report[check["wrt"][path]] = _directional(definitions, check, inputs, {path: direction}, outputs, check["wrt"])
    return report
