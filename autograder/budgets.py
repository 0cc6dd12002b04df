"""Time limits that follow the work: a unit may take a multiple of what the reference
takes on the same hidden cases, never less than a floor and never more than the
configured limit; a notebook cell gets a short limit when all it does is define things.

Every honest unit of these assignments runs in milliseconds, so a fixed limit of
seconds is what a looping unit costs, not what an honest one needs. The rule (also in
docs/SANDBOX.md):

    unit limit = max(unit_factor x reference CPU on the unit's cases, unit_floor_seconds)
                 in reference mode: the reference's CPU is that of its run in that mode
                 (the units it calls substituted, their arguments and results encoded
                 both ways), if larger, plus 10 ms per call to a substituted unit
                 at most unit_seconds
    cell limit = cell_floor_seconds  if every statement of the cell only defines (def or
                                     class with plain decorators and defaults, a constant)
                 cell_seconds        otherwise (imports, calls, loops: work whose cost
                                     nothing measures beforehand)

The reference's cost is its CPU time (process_time, the least of a few repeats, so
that load on the machine does not inflate it), with the numerical gradient check on
the cases where the student side runs it too. The floor leaves room for loops written
in plain Python and for a busy machine (limits are wall-clock time).
"""
from __future__ import annotations

import ast
import functools
import time
from dataclasses import dataclass

from autograder.sandbox.limits import DEFAULTS
from autograder.submission import parse_tree

UNIT_FACTOR = DEFAULTS["unit_factor"]                # x the reference's CPU on the same cases
UNIT_FLOOR_SECONDS = DEFAULTS["unit_floor_seconds"]  # never less: plain-Python loops, a loaded machine
# with the reference's units substituted, every call to one is a round trip to the grading
# process: its CPU (encoding both ways, the reference unit) is measured, its latency (two
# processes waking each other, on a loaded machine) is not: this much per call
TRIP_SECONDS = 0.010
CELL_FLOOR_SECONDS = DEFAULTS["cell_floor_seconds"]  # a cell that only defines (it cannot loop)
REPEATS = 3                # the reference's cost: the least of this many runs


@dataclass(frozen=True)
class Budget:
    seconds: float
    why: str  # how it was set, said when a unit is stopped at it


def measure(run, repeats: int = REPEATS) -> float:
    """The least CPU time of `repeats` calls of run()."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def unit_budget(reference_cpu: float | None, config: dict, reference_mode: tuple | None = None) -> Budget:
    """The wall-clock limit of one unit in one fair-credit mode. `reference_mode`:
    (CPU, round trips) of the reference's run with its units substituted, for the limit
    in that mode: the calls to the grading process come on top of the unit's own work."""
    cap = float(config.get("unit_seconds", DEFAULTS["unit_seconds"]))
    if reference_cpu is None or config.get("fixed_limits"):
        return Budget(cap, "the configured limit")
    factor = float(config.get("unit_factor", UNIT_FACTOR))
    floor = min(float(config.get("unit_floor_seconds", UNIT_FLOOR_SECONDS)), cap)
    own = max(factor * reference_cpu, floor)
    basis = f"{factor:g}x the reference's {reference_cpu * 1000:.1f} ms of CPU on these cases"
    if own == floor:
        basis += f", raised to the floor of {floor:g} s"
    if reference_mode is not None and reference_mode[1]:
        cpu, trips = reference_mode
        if factor * cpu > own:
            own = factor * cpu
            basis = (f"{factor:g}x the reference's {cpu * 1000:.1f} ms of CPU on these cases with the units it "
                     "calls substituted, their arguments and results encoded both ways")
        own += trips * TRIP_SECONDS
        basis += f", plus {trips} calls to the grading process at {TRIP_SECONDS * 1000:g} ms each"
    if own > cap:
        return Budget(cap, f"{basis}, capped at the configured {cap:g} s")
    return Budget(round(own, 3), basis)


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
