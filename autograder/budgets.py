"""Time limits that follow the work: a unit may take a multiple of what the reference
takes on the same hidden cases, never less than a floor and never more than the
configured limit; a notebook cell gets a short limit when all it does is define things.

Every honest unit of these assignments runs in milliseconds, so a fixed limit of
seconds is what a looping unit costs, not what an honest one needs. The rule (also in
docs/SANDBOX.md):

    unit limit = max(unit_factor x reference CPU on the unit's cases, unit_floor_seconds),
                 in CPU seconds of the unit child
                 in reference mode: the unit's own share of the reference's CPU in that mode
                 (what the calls to the substituted units cost is left out), if larger;
                 and for each call the unit makes to a substituted unit, 10 ms (the unit
                 child's share of the round trip) plus 10 x what such a call cost the reference (encoding
                 both ways, the reference unit: the grader's code, not a student's), for
                 at most as many calls as the reference makes
                 at most unit_seconds
    cell limit = cell_floor_seconds  if every statement of the cell only defines (def or
                                     class with plain decorators and defaults, a constant)
                 cell_seconds        otherwise (imports, calls, loops: work whose cost
                                     nothing measures beforehand)

A unit earns its calls' time as it makes them: one stuck in its own loop before it calls
anything is stopped at the base limit, not at the limit of one that made every call.

The reference's cost is its CPU time (process_time, the least of a few repeats, so
that load on the machine does not inflate it), with the numerical gradient check on
the cases where the student side runs it too. A unit's limit is CPU time too: the holder
reads the unit child's CPU clock (zygote.py), so a busy machine neither stops an honest
unit early nor lets a loop run longer. The floor leaves room for fixed costs that the
factor does not scale (a first call into numpy, plain-Python loops on tiny cases).
A unit that waits without computing (sleep, a blocking read) burns no CPU: a wall-clock
backstop stops it:

    unit wall limit = max(unit_wall_factor x its CPU limit (the most its calls can earn),
                          unit_wall_floor_seconds), at most max(unit_seconds, its CPU limit)
"""
from __future__ import annotations

import ast
import functools
import time
from dataclasses import dataclass

from autograder.sandbox.limits import DEFAULTS
from autograder.submission import parse_tree

UNIT_FACTOR = DEFAULTS["unit_factor"]                # x the reference's CPU on the same cases
UNIT_FLOOR_SECONDS = DEFAULTS["unit_floor_seconds"]  # never less CPU: fixed costs the factor does not scale
WALL_FACTOR = DEFAULTS["unit_wall_factor"]  # the wall-clock backstop: this many times the CPU limit ...
WALL_FLOOR_SECONDS = DEFAULTS["unit_wall_floor_seconds"]  # ... and never less (a loaded machine)
# with the reference's units substituted, every call to one is a round trip to the grading
# process: its CPU (encoding both ways, the reference unit) is measured, the unit child's
# share of a round trip (its proxy, encoding and decoding, waking up) is not: this much per call
TRIP_SECONDS = 0.010
# the CPU of such a call (encoding both ways, the reference unit) is the grader's code, not
# a student's: this many times what it cost the reference, for a loaded machine
SERVED_FACTOR = 10.0
CELL_FLOOR_SECONDS = DEFAULTS["cell_floor_seconds"]  # a cell that only defines (it cannot loop)
REPEATS = 3                # the reference's cost: the least of this many runs


@dataclass(frozen=True)
class Budget:
    seconds: float
    why: str  # how it was set, said when a unit is stopped at it
    per_call: float = 0.0  # more seconds for each call the unit makes to a substituted unit ...
    most: float = 0.0      # ... up to this limit in all (0: seconds)


@dataclass(frozen=True)
class ServedCost:
    """The reference's cost on a unit's cases in reference mode (grader._reference_mode_cost)."""
    cpu: float     # all of it
    calls: int     # calls to the substituted units: round trips to the grading process
    served: float  # the CPU of those calls (encoding both ways, the reference units)


def measure(run, repeats: int = REPEATS) -> float:
    """The least CPU time of `repeats` calls of run()."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def unit_budget(reference_cpu: float | None, config: dict, reference_mode: ServedCost | None = None) -> Budget:
    """The CPU limit of one unit in one fair-credit mode. `reference_mode`: the
    reference's cost in that mode, for the limit in that mode: the unit's own share of it,
    and for each call to the grading process its latency and the grader's work."""
    cap = float(config.get("unit_seconds", DEFAULTS["unit_seconds"]))
    if reference_cpu is None or config.get("fixed_limits"):
        return Budget(cap, "the configured limit")
    factor = float(config.get("unit_factor", UNIT_FACTOR))
    floor = min(float(config.get("unit_floor_seconds", UNIT_FLOOR_SECONDS)), cap)
    own = max(factor * reference_cpu, floor)
    basis = f"{factor:g}x the reference's {reference_cpu * 1000:.1f} ms of CPU on these cases"
    if own == floor:
        basis += f", raised to the floor of {floor:g} s"
    per_call = 0.0
    if reference_mode is not None and reference_mode.calls:
        unit_share = max(reference_mode.cpu - reference_mode.served, 0.0)
        if factor * unit_share > own:
            own = factor * unit_share
            basis = (f"{factor:g}x the reference's {unit_share * 1000:.1f} ms of CPU on these cases with the units "
                     "it calls substituted (their calls left out)")
        per_call = TRIP_SECONDS + SERVED_FACTOR * reference_mode.served / reference_mode.calls
        most = min(own + reference_mode.calls * per_call, cap)
        basis += (f", plus {per_call * 1000:.1f} ms for each call it makes to the grading process (the reference "
                  f"makes {reference_mode.calls}: at most {most:.3g} s)")
    if own >= cap:
        return Budget(cap, f"{basis}, capped at the configured {cap:g} s")
    if per_call:
        return Budget(round(own, 3), basis, per_call, round(most, 3))
    return Budget(round(own, 3), basis)


def wall_limit(cpu_seconds: float, config: dict) -> float:
    """The wall-clock backstop of a unit whose CPU limit is `cpu_seconds` (with calls to
    the grading process: the most they can earn). Generous: it is only for a unit that
    waits without computing, and an honest unit on a loaded machine gets less than a core."""
    cap = float(config.get("unit_seconds", DEFAULTS["unit_seconds"]))
    factor = float(config.get("unit_wall_factor", WALL_FACTOR))
    floor = float(config.get("unit_wall_floor_seconds", WALL_FLOOR_SECONDS))
    return round(min(max(factor * cpu_seconds, floor), max(cap, cpu_seconds)), 3)


def wall_why(cpu_seconds: float, config: dict) -> str:
    """How the wall-clock backstop of wall_limit(cpu_seconds) was set, in words."""
    factor = float(config.get("unit_wall_factor", WALL_FACTOR))
    floor = float(config.get("unit_wall_floor_seconds", WALL_FLOOR_SECONDS))
    return (f"the backstop for a unit that waits without computing: max({floor:g} s, {factor:g}x its CPU limit "
            f"of {cpu_seconds:.3g} s), at most the configured "
            f"{float(config.get('unit_seconds', DEFAULTS['unit_seconds'])):g} s")


_DEFINING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)


def _only_defines(node: ast.stmt) -> bool:
    if isinstance(node, _DEFINING):
        # decorators and default values run at definition time: plain names and constants only
        decorations = list(getattr(node, "decorator_list", []))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorations += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
        if isinstance(node, ast.ClassDef):
            decorations += node.bases + [k.value for k in node.keywords]
            # a class body runs when the class is defined
            return all(_cheap(d) for d in decorations) and all(_only_defines(n) for n in node.body)
        return all(_cheap(d) for d in decorations)
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        return _cheap(node.value)
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)  # a docstring
    return False


def _cheap(expr: ast.expr) -> bool:
    """No call, loop or comprehension anywhere in it: evaluating it takes microseconds."""
    return not any(isinstance(n, (ast.Call, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                  ast.GeneratorExp, ast.Await, ast.Yield, ast.YieldFrom, ast.BinOp))
                   for n in ast.walk(expr))


@functools.lru_cache(maxsize=256)  # cells repeat across a class (test cells, imports)
def _defines_only(source: str) -> bool:
    try:
        tree = parse_tree(source)  # the slice parsed most cells already (this submission's or another's)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return all(_only_defines(node) for node in tree.body)


def cell_budget(source: str, config: dict) -> Budget:
    """The wall-clock limit of one notebook cell, from what it does."""
    cap = float(config.get("cell_seconds", DEFAULTS["cell_seconds"]))
    floor = min(float(config.get("cell_floor_seconds", CELL_FLOOR_SECONDS)), cap)
    if config.get("fixed_limits"):
        return Budget(cap, "the configured limit")
    if _defines_only(source):
        return Budget(floor, f"the cell only defines functions, classes or constants: {floor:g} s")
    return Budget(cap, f"the configured limit for a cell that runs code ({cap:g} s)")
