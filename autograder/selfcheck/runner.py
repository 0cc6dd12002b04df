"""The generic runner of the public self-checks (shipped to students).

This module is PUBLIC: it is copied, after the grader's own reading and comparison code
(autograder/driver.py and autograder/judge.py), into the `rnngrade_check.py` that a
release ships next to the student notebook. So it needs nothing but NumPy and the
standard library, and it knows nothing of the reference or of the hidden grading cases.
A check only uses what the specification publishes (example values with the seeds and
draw orders that produce them, shapes) and the student's own functions (a numerical
gradient check of their backward against their own forward).

One vocabulary with the grader: a unit's return value is read by the grader's rule for
that unit (`driver.read_returns` on the `Returns` of the assignment's description, so an
extra dict key or a wrong arity fails here exactly as it fails there), and published
values are compared by the grader's `judge.compare` (same sentences, same hints). Only
the cases differ: public examples here, hidden cases in the grader.

An assignment's checks are data (`reference/<id>/checks.py`): for each graded unit, a
few `Example`s. An example builds its inputs, calls the unit the way the specification
does, and lists published values as `{expression: value}` over the unit's output names
(e.g. `"a_next[4]": [...]`), with a hint per output saying what to look at when the
value differs. It may also carry a `GradCheck`.

In a notebook: `check("rnn_cell_forward")` prints one verdict per unit and never raises
(a stub prints "not implemented yet"); `check("rnn_cell_forward", strict=True)` raises
AssertionError when a check fails (what nbgrader's autograding of a check cell needs).
"""
import copy
import re
import sys
import traceback

import numpy as np

from autograder.driver import ContractError, NoIPython, _describe, _same, read_returns, unwrapped
from autograder.judge import Tolerance, compare


class Example:
    """One public example of a unit.

    inputs   -- function () -> dict of input arrays (a fresh copy at every call)
    setup    -- statements run before the call (e.g. a forward pass giving a cache)
    call     -- expression calling the unit, with the inputs and setup names in scope
    returns  -- optional extra names for the return value, on top of the unit's output
                names: ("tuple", names) names the positions, ("value", name) the value
                (a name containing "cache" is never read). The value is always read by
                the unit's own rule first (the grader's).
    extras   -- {name: expression} read after the call (e.g. "layer.grads[0]"); the
                return value itself is in scope as `result`
    expect   -- {expression: published value}; a tuple of ints read from `.shape` and
                any int / bool / list of ints is compared exactly, floats with tolerance
    hints    -- {output name: what to look at when a value read from that output differs}
    unchanged-- input names the unit must leave unchanged
    gradcheck-- a GradCheck of the unit's outputs against the student's own forward
    """

    def __init__(self, label, inputs, call, returns=None, expect=None, setup="", extras=None,
                 hints=None, unchanged=(), gradcheck=None, rtol=1e-6, atol=1e-7):
        self.label = label
        self.inputs = inputs
        self.setup = setup
        self.call = call
        self.returns = returns
        self.extras = dict(extras or {})
        self.expect = dict(expect or {})
        self.hints = dict(hints or {})
        self.unchanged = tuple(unchanged)
        self.gradcheck = gradcheck
        self.rtol, self.atol = rtol, atol


class GradCheck:
    """Compare the unit's gradients with central differences of the student's forward.

    forward  -- expression computing the forward output(s) from the inputs
    wrt      -- {input path, e.g. "parameters['Wax']": output name holding its gradient}
    upstream -- input name of the upstream gradient the loss is weighted with
                (loss = sum(forward * upstream)); a tuple pairs several forward outputs
                with several upstream gradients; None: the forward is a scalar loss
    tol      -- largest accepted relative error max|a - n| / max|a| + |n|
    """

    def __init__(self, forward, wrt, upstream=None, tol=1e-6, step=1e-5):
        self.forward, self.wrt, self.upstream = forward, dict(wrt), upstream
        self.tol, self.step = tol, step


class Unit:
    """The public checks of one graded unit. `needs` lists the units it calls.
    `returns` is the grader's reading rule (the plain form of the description's
    Returns), attached when the checks are loaded or generated."""

    def __init__(self, name, examples, needs=(), returns=None):
        self.name, self.examples, self.needs = name, list(examples), tuple(needs)
        self.returns = returns


class Failed(Exception):
    """A check did not pass; the message says what to look at."""


class Missing(Exception):
    """The unit (or a unit it calls) is not defined or not implemented yet."""


# ------------------------------------------------------------------ formatting
def _fmt_number(x):
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return np.format_float_positional(float(x), precision=8, unique=True, trim="-")


def _is_text(value):
    return isinstance(value, str) or (isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value))


def _is_exact(value):
    if isinstance(value, (bool, int, str, np.integer, np.bool_)):
        return True
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (bool, int, str)) for v in value):
        return True
    return isinstance(value, (list, tuple)) and not value


# -------------------------------------------------------------- where it failed
def _unit_codes(namespace, units):
    """code object -> unit name, for the units defined in the namespace."""
    codes = {}
    for unit in units:
        base, _, method = unit.partition(".")
        target = namespace.get(base)
        target = getattr(target, method, None) if method else target
        code = getattr(target, "__code__", None)
        if code is not None:
            codes[code] = unit
    return codes


def _unit_of_frame(frame, units, codes=None):
    """The graded unit a traceback frame belongs to ("RNN.forward" for a method)."""
    if codes and frame.f_code in codes:
        return codes[frame.f_code]
    name = frame.f_code.co_name
    owner = frame.f_locals.get("self")
    if owner is not None:
        qualified = f"{type(owner).__name__}.{name}"
        if qualified in units:
            return qualified
    return name if name in units else None


def _not_implemented_in(exc, units, default, codes=None):
    """Which unit raised NotImplementedError: the innermost graded unit in the traceback."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        unit = _unit_of_frame(tb.tb_frame, units, codes)
        if unit is not None:
            found = unit
        tb = tb.tb_next
    return found or default


def _where(exc):
    """'in rnn_forward, line 12' for the innermost frame of the student's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not f.filename.endswith("rnngrade_check.py")
            and "selfcheck" not in f.filename and f.filename != "<check>"]
    if not mine:
        return ""
    f = mine[-1]
    return f" (in {f.name}, line {f.lineno})"


# ------------------------------------------------------------------ one example
class _Run:
    def __init__(self, unit, namespace, units, rule):
        self.unit, self.namespace, self.units, self.rule = unit, namespace, units, rule

    def scope(self, inputs):
        env = dict(self.namespace)
        env.setdefault("np", np)
        env.update(inputs)
        return env

    def guarded(self, what, fn):
        """Run fn(); turn a NotImplementedError into Missing, any other error into Failed."""
        try:
            return fn()
        except (Missing, Failed):
            raise
        except NotImplementedError as exc:
            culprit = _not_implemented_in(exc, self.units, self.unit, _unit_codes(self.namespace, self.units))
            if culprit == self.unit:
                raise Missing("not implemented yet (raises NotImplementedError)") from None
            raise Missing(f"cannot be checked yet: {what} needs {culprit}, which is not implemented yet") from None
        except Exception as exc:
            message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise Failed(f"{what} raised {type(exc).__name__}: {message}{_where(exc)}") from None

    def outputs(self, example, inputs):
        env = self.scope(inputs)
        if example.setup:
            self.guarded(f"the forward pass before {self.unit}",
                         lambda: exec(compile(example.setup, "<check>", "exec"), env))
        result = self.guarded(self.unit, lambda: eval(compile(example.call, "<check>", "eval"), env))
        try:  # the grader's reading of the return value: the same contract, the same words
            named = read_returns(result, self.rule, self.unit)
        except ContractError as exc:
            raise Failed(str(exc)) from None
        named.update(_aliases(result, example.returns))
        env.update(named)
        env["result"] = result
        for name, expression in example.extras.items():
            named[name] = self.guarded(f"reading {name} after {self.unit}",
                                       lambda: eval(compile(expression, "<check>", "eval"), env))
        return named, env

    def example(self, example):
        inputs = example.inputs()
        before = {k: copy.deepcopy(inputs[k]) for k in example.unchanged}
        named, env = self.outputs(example, inputs)
        for name, original in before.items():
            if not _same(original, inputs[name]):
                raise Failed(f"it modified its argument `{name}`, which must stay unchanged"
                             + _hint(example, name))
        scope = dict(env)
        scope.update(named)
        # shapes first: a wrong shape explains a wrong value better than an index error
        ordered = sorted(example.expect.items(), key=lambda item: not item[0].endswith(".shape"))
        for expression, expected in ordered:
            _compare(example, expression, expected, scope)
        if example.gradcheck is not None:
            self.gradcheck(example, named)

    def gradcheck(self, example, named):
        gc = example.gradcheck
        inputs = example.inputs()
        env = self.scope(inputs)
        forward = compile(gc.forward, "<check>", "eval")
        upstream = gc.upstream

        def loss():
            out = eval(forward, env)
            if upstream is None:
                return float(np.sum(out))
            if isinstance(upstream, tuple):
                return float(sum(np.sum(np.asarray(o, dtype=np.float64) * env[u]) for o, u in zip(out, upstream)))
            return float(np.sum(np.asarray(out, dtype=np.float64) * env[upstream]))

        self.guarded(f"the gradient check's forward pass ({gc.forward})", loss)
        worst = []
        for path, grad_name in gc.wrt.items():
            target = eval(path, env)
            value = named.get(grad_name)
            try:
                analytic = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise Failed(f"{grad_name} is {_describe(value)}, not an array of numbers" + _hint(example, grad_name)) from None
            if value is None or analytic.shape != np.shape(target):
                got = "None" if value is None else str(analytic.shape)
                raise Failed(f"{grad_name} has shape {got}; expected {np.shape(target)} (the shape of {path})"
                             + _hint(example, grad_name))
            numeric = self.guarded(f"the gradient check's forward pass ({gc.forward})",
                                   lambda: _numeric_gradient(loss, target, gc.step))
            error = _relative_error(analytic, numeric)
            worst.append((error, grad_name, path, analytic, numeric))
        bad = [w for w in worst if not w[0] <= gc.tol]
        if bad:
            error, grad_name, path, analytic, numeric = max(bad, key=lambda w: w[0] if np.isfinite(w[0]) else np.inf)
            index = np.unravel_index(int(np.argmax(np.abs(analytic - numeric))), analytic.shape) if analytic.size else ()
            at = f"[{', '.join(map(str, index))}]" if index else ""
            raise Failed(
                f"numerical gradient check: {grad_name} disagrees with the central differences of your own "
                f"forward w.r.t. {path} (relative error {error:.1e} > {gc.tol:.0e}; at {grad_name}{at}: "
                f"yours {_fmt_number(analytic[index])}, numerical {_fmt_number(numeric[index])})"
                + _hint(example, grad_name))


def _aliases(result, names):
    """The example's own names for an already validated return value."""
    if not names:
        return {}
    kind, names = names[0], tuple(names[1:])
    if kind == "tuple":
        return {n: v for n, v in zip(names, result) if "cache" not in n}
    if kind == "value":
        return {names[0]: result}
    return {}


def _hint(example, expression):
    """The hint for the expression itself, else for the first output name it reads."""
    hint = example.hints.get(expression)
    if hint is None:
        names = [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression) if n in example.hints]
        hint = example.hints[names[0]] if names else None
    return f"; {hint}" if hint else ""


def _compare(example, expression, expected, scope):
    try:
        actual = eval(compile(expression, "<check>", "eval"), {"np": np}, scope)
    except Exception as exc:
        raise Failed(f"could not read {expression} ({type(exc).__name__}: {exc})" + _hint(example, expression)) from None
    if expression.endswith(".shape"):
        if tuple(actual) != tuple(expected):
            raise Failed(f"{expression[:-6]} has shape {tuple(actual)}; expected {tuple(expected)}"
                         + _hint(example, expression))
        return
    if _is_text(expected):  # a name such as a dtype's: plain equality
        if actual != expected:
            raise Failed(f"`{expression}`: expected {expected!r}, got {actual!r}" + _hint(example, expression))
        return
    # the grader's comparison (judge.compare): its sentences and its hints
    exact = _is_exact(expected)
    want = expected if exact else np.asarray(expected, dtype=np.float64)
    problem = compare(want, actual, Tolerance(example.rtol, example.atol), expression, exact=exact)
    if problem:
        raise Failed(problem.rstrip(".") + _hint(example, expression))


def _numeric_gradient(loss, x, step):
    """Central differences of loss() w.r.t. every element of x (perturbed in place, restored)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + step
        plus = loss()
        x[index] = old - step
        minus = loss()
        x[index] = old
        grad[index] = (plus - minus) / (2 * step)
    return grad


def _relative_error(analytic, numeric):
    if analytic.size == 0:
        return 0.0
    scale = max(1e-8, float(np.max(np.abs(analytic) + np.abs(numeric))))
    return float(np.max(np.abs(analytic - numeric)) / scale)


# ------------------------------------------------------------------ verdicts
class Verdict:
    """The outcome of one unit's public checks: status passed / failed / missing."""

    def __init__(self, unit, status, message, labels=()):
        self.unit, self.status, self.message, self.labels = unit, status, message, tuple(labels)

    @property
    def passed(self):
        return self.status == "passed"

    def line(self, width=0):
        word = {"passed": "ok", "failed": "FAILED", "missing": "TODO"}.get(self.status, self.status)
        return f"{self.unit:<{width}}  {word:<6}  {self.message}"

    def __repr__(self):
        return f"Verdict({self.unit!r}, {self.status!r}, {self.message!r})"


def _defined(namespace, unit):
    base, _, method = unit.partition(".")
    value = namespace.get(base)
    if value is None:
        return False
    return callable(getattr(value, method, None)) if method else callable(value)


def run_unit(units, name, namespace, _seen=None):
    """The Verdict of one unit, run against the definitions in `namespace`. A failing
    unit also names the units it calls that fail their own checks (fix those first)."""
    verdict = _run_unit(units, name, namespace)
    if verdict.status == "failed":
        seen = {} if _seen is None else _seen
        unit = {u.name: u for u in units}[name]
        broken = []
        for need in unit.needs:
            if need not in seen:
                seen[need] = None  # guards against cycles
                seen[need] = run_unit(units, need, namespace, seen)
            if seen[need] is not None and not seen[need].passed:
                broken.append(need)
        if broken:
            which = "which does not pass its" if len(broken) == 1 else "which do not pass their"
            verdict.message += f" (it uses your {', '.join(broken)}, {which} own checks yet: fix that first)"
    return verdict


def _run_unit(units, name, namespace):
    by_name = {u.name: u for u in units}
    unit = by_name[name]
    if not _defined(namespace, name):
        base = name.partition(".")[0]
        what = f"class {base} has no method {name.partition('.')[2]}" if base in namespace else f"{base} is not defined"
        return Verdict(name, "missing", f"{what} (in Jupyter: run the cell that defines it first)")
    run = _Run(name, namespace, set(by_name), unit.returns)
    labels = []
    state = np.random.get_state()
    try:
        for example in unit.examples:
            try:
                run.example(example)
            except Failed as exc:
                return Verdict(name, "failed", f"{example.label}: {exc}", labels)
            labels.append(example.label)
    except Missing as exc:
        return Verdict(name, "missing", str(exc), labels)
    finally:
        np.random.set_state(state)
    plural = "s" if len(labels) > 1 else ""
    return Verdict(name, "passed", f"passed {len(labels)} public check{plural}: {'; '.join(labels)}", labels)


def make_check(units):
    """The `check` function a notebook imports, bound to one assignment's checks."""
    names = [u.name for u in units]

    def check(*unit_names, strict=False, namespace=None, quiet=False):
        """Run the public checks of the named units (all units when none is named)
        against the definitions of the calling notebook, and print one verdict each.

        The checks use only published example values, shapes, and a numerical gradient
        check of your backward against your own forward: passing them does not mean
        the hidden grading cases pass. With strict=True, raise AssertionError if any
        check fails; with quiet=True, print nothing. Returns None.
        """
        if namespace is None:
            namespace = sys._getframe(1).f_globals
        unknown = [u for u in unit_names if u not in names]
        if unknown:
            raise ValueError(f"no public checks for {', '.join(unknown)}; known units: {', '.join(names)}")
        verdicts = [run_unit(units, u, namespace) for u in (unit_names or names)]
        if not quiet:
            width = max(len(v.unit) for v in verdicts)
            for v in verdicts:
                print(v.line(width))
        if strict and not all(v.passed for v in verdicts):
            raise AssertionError("; ".join(f"{v.unit}: {v.message}" for v in verdicts if not v.passed))

    check.units = tuple(names)
    return check


# ------------------------------------------------ `rnngrade check` (a subprocess)
class _CellTimeout(BaseException):
    pass


def run_payload(units, payload, out=None):
    """Run a notebook's cells (given as JSON by `rnngrade check`), tolerating failing
    cells, then print one verdict line per unit. Returns the process exit status."""
    import ast
    import builtins
    import io
    import signal

    out = out or sys.stdout

    def on_alarm(signum, frame):
        raise _CellTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    namespace = {"__name__": "__main__", "__builtins__": builtins,
                 "get_ipython": lambda: NoIPython()}
    module = sys.modules.get("rnngrade_check")
    real_check = getattr(module, "check", None)
    if module is not None:
        module.check = lambda *a, **k: None  # the notebook's own check cells stay quiet
    notes = []
    saved = sys.stdout, sys.stderr
    try:
        for label, source in [("preamble", payload.get("preamble", ""))] + [tuple(c) for c in payload["cells"]]:
            if not source.strip():
                continue
            sys.stdout = sys.stderr = io.StringIO()
            try:
                tree = ast.parse(source)
            except SyntaxError as exc:
                notes.append(f"{label} does not parse ({exc.msg}, line {exc.lineno})")
                continue
            for node in tree.body:
                signal.setitimer(signal.ITIMER_REAL, float(payload.get("cell_seconds", 30)))
                try:
                    exec(compile(ast.Module(body=[node], type_ignores=[]), f"<{label}>", "exec"), namespace)
                except _CellTimeout:
                    notes.append(f"{label} was stopped after {payload.get('cell_seconds', 30)} s")
                except BaseException as exc:  # a failing cell costs only what it defines
                    if label != "preamble":
                        notes.append(f"{label} raised {type(exc).__name__}: {str(exc)[:120]}")
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        sys.stdout, sys.stderr = saved
        if module is not None and real_check is not None:
            module.check = real_check
    wanted = payload.get("units") or [u.name for u in units]
    width = max(len(u) for u in wanted)
    verdicts = []
    for name in wanted:
        sys.stdout = sys.stderr = io.StringIO()
        signal.setitimer(signal.ITIMER_REAL, float(payload.get("unit_seconds", 60)))
        try:
            verdict = run_unit(units, name, namespace)
        except _CellTimeout:
            verdict = Verdict(name, "failed", f"its checks did not finish within {payload.get('unit_seconds', 60)} s")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = saved
        verdicts.append(verdict)
        print(verdict.line(width), file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    return 0 if all(v.passed for v in verdicts) else 1


def _outside_jupyter(text: str) -> str:
    """A cell as it runs outside Jupyter, without IPython's transformer, as the grader runs
    it: a cell magic that only wraps its cell (`%%time`, `%%capture`) is the cell
    (driver.unwrapped), `%%writefile` writes its file (driver.NoIPython), any other
    (`%%bash`) defines nothing; `%pylab` fills the names; other line magics and shell
    escapes (`%matplotlib`, `!pip`) go."""
    text = unwrapped(text)
    first, _, body = text.lstrip().partition("\n")
    first = first.strip()
    if first.startswith("%%"):
        name, _, line = first[2:].partition(" ")
        if name == "writefile":
            return f"get_ipython().run_cell_magic('writefile', {line!r}, {body!r})"
        return ""
    return "\n".join("get_ipython().run_line_magic('pylab', '')" if line.strip().startswith("%pylab") else line
                     for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))
                     or line.strip().startswith("%pylab"))


# ---------------------------------------- `python rnngrade_check.py NOTEBOOK` (no install)
def main(units, argv=None):
    """Run a notebook's code cells, then the public checks, from a shell, with nothing
    installed but NumPy: `python rnngrade_check.py NOTEBOOK.ipynb [UNIT ...]`."""
    import json

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python rnngrade_check.py NOTEBOOK.ipynb [UNIT ...]\n"
              f"units: {', '.join(u.name for u in units)}")
        return 2
    unknown = [u for u in argv[1:] if u not in {unit.name for unit in units}]
    if unknown:
        print(f"no public checks for {', '.join(unknown)}; known units: {', '.join(u.name for u in units)}")
        return 2
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))  # the helper modules beside it
    try:
        with open(argv[0], encoding="utf-8") as handle:
            if argv[0].endswith(".ipynb"):
                sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                           for c in json.load(handle)["cells"] if c.get("cell_type") == "code"]
            else:
                sources = [handle.read()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # said in a line, no traceback
        print(f"cannot read {argv[0]}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
              + (" (is it a notebook saved by Jupyter?)" if argv[0].endswith(".ipynb") and not isinstance(exc, OSError)
                 else ""))
        return 2
    cells = [[f"code cell {i + 1}", _outside_jupyter(text)] for i, text in enumerate(sources)]
    # the lines the grader runs before the notebook's cells (its imports), as `rnngrade check` does
    return run_payload(units, {"cells": cells, "units": argv[1:], "preamble": PREAMBLE})
