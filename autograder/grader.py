"""Stages 3-5 for one submission: run every graded unit in the sandbox, in both
fair-credit modes, judge it against the reference, and score it.

The reference and the expected outputs live only here. The hidden cases and the
reference's outputs on them are computed once per assignment and reused for every
submission graded by this process.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import difflib
import io
import re
import time
import types
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np


from autograder import __version__, budgets
from autograder.assignments import Assignment, Unit, get_assignment
from autograder.assignments.model import runs_in
from autograder.codec import CodecError, decode, encode, plain_size, array_items as array_items_of
from autograder.driver import JOINT as GRADCHECK_JOINT, PRIVATE, run_case, unit_spec
from autograder.hints import classic_mistake_hint, order_hint, tanh_hint
from autograder.judge import Tolerance, compare, gradcheck_error
from autograder.judge import matches as values_match
from autograder.course import course_root
from autograder.reference import data_files, execute_with_helpers, helper_sources, load_reference, solution_source
from autograder.sandbox.client import (KEPT_DEFINITIONS, UNSAFE_NOTE, PackedUnit, StudentProcess, Zygote, probe_sandbox,
                                      require_sandbox)
from autograder.settings import check_config
from autograder.slicing import (definitions, graded_references, imports_in_functions, own_helpers,
                                rebound_after_definition, slice_cells, slice_note, unit_roots, warm_imports_cell)
from autograder.submission import Cell, SubmissionError, load_submission

# a correct float32 backward of time_layers: at most 3.3e-4 on the hidden cases; at 5e-2 a
# `db` averaged instead of summed (1/(N*T) of it) passed, diluted among the right gradients
GRADCHECK_THRESHOLD = {"float64": 1e-5, "float32": 5e-3}
MAX_CELL_NOTES = 20  # notes about cells that failed, per result


@dataclass
class UnitResult:
    name: str
    score: float
    max_score: float
    status: str                 # passed (full score) / failed
    explanation: str
    mode: str = "own"           # own / reference: which fair-credit mode earned the score
    cases_passed: int = 0
    cases_total: int = 0
    cpu: float = 0.0
    wall: float = 0.0


@dataclass
class GradingResult:
    assignment: str
    submission: str
    units: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    execution_time: float = 0.0
    grader_version: str = __version__

    @property
    def score(self) -> float:
        return round(sum(u.score for u in self.units), 6)

    @property
    def max_score(self) -> float:
        return sum(u.max_score for u in self.units)


@dataclass
class PreparedUnit:
    unit: Unit
    spec: dict
    cases: list            # Case
    expected: list         # expected outputs per case
    reference_inputs: list  # per case: inputs for reference mode (with reference_state added)
    own: PackedUnit | None = None        # what the student side receives, encoded once
    reference: PackedUnit | None = None  # the same for reference mode
    reference_cpu: float | None = None   # the reference's CPU on all the cases (autograder.budgets)
    reference_mode_cost: budgets.ServedCost | None = None  # the same in reference mode
    own_forward: PackedUnit | None = None  # the own one, for fair-credit mode own_forward (Grader._with_budget)


def prepare(assignment_id: str) -> tuple[Assignment, dict, list]:
    """Hidden cases and the reference's outputs on them, once per process and course."""
    return _prepare(assignment_id, course_root())


@lru_cache(maxsize=None)
def _prepare(assignment_id: str, course: Path) -> tuple[Assignment, dict, list]:
    assignment = get_assignment(assignment_id)
    reference = load_reference(assignment_id)
    definitions = vars(reference)
    helpers = helper_sources(assignment_id, assignment.helpers)
    prepared = []
    for unit in assignment.units:
        spec = unit_spec(unit)
        if spec["gradcheck"]:  # below this the student side skips the per-input breakdown
            spec["gradcheck"]["threshold"] = GRADCHECK_THRESHOLD.get(assignment.dtype, 1e-5)
        cases = unit.cases()
        expected, reference_inputs = [], []
        for case in cases:
            # the reference runs on what the student side will see: inputs after the boundary
            with quiet():
                expected.append(_roundtrip(run_case(dict(definitions), spec, _roundtrip(case.inputs))))
            extra = unit.reference_state(reference, _roundtrip(case.inputs)) if unit.reference_state else {}
            reference_inputs.append({**case.inputs, **extra})
        reference_spec = dict(spec, setup=unit.reference_setup) if unit.reference_setup is not None else spec
        prepared.append(PreparedUnit(unit, spec, cases, expected, reference_inputs,
                                     PackedUnit.pack(spec, [c.inputs for c in cases]),
                                     PackedUnit.pack(reference_spec, reference_inputs),
                                     _reference_cpu(definitions, spec, cases),
                                     _reference_mode_cost(assignment_id, helpers, reference, unit, reference_spec,
                                                          reference_inputs)))
    solution = solution_source(assignment_id)
    for unit in assignment.units:  # an instructor's mistake list that no longer applies fails here
        for mistake in unit.mistakes:
            if solution.count(mistake.old) != 1:
                raise ValueError(f"{assignment_id}: the mistake {mistake.words!r} of {unit.name} edits "
                                 f"{mistake.old!r}, which occurs {solution.count(mistake.old)} times in the solution")
    return assignment, helpers, prepared


def _reference_cpu(definitions: dict, spec: dict, cases: list) -> float:
    """The reference's CPU time on a unit's cases, run as the student side runs them
    (the gradient check on the last two cases, as a unit run alone does)."""
    inputs = [_roundtrip(c.inputs) for c in cases]
    checked = bool(spec["gradcheck"])

    def run_all():
        for index, case_inputs in enumerate(inputs):
            run_case(dict(definitions), spec, case_inputs, gradcheck=checked and index >= len(inputs) - 2)
    with quiet():
        return budgets.measure(run_all)


def _reference_mode_cost(assignment_id: str, helpers: dict, reference, unit: Unit, spec: dict,
                         inputs: list) -> budgets.ServedCost | None:
    """The CPU of a unit's cases in reference mode, played here with the reference's own
    unit: its calls to the units it depends on go through the same proxies and
    ReferenceServer as the sandbox's, each message encoded and decoded. The part spent
    in those calls (encoding both ways, the reference units) is measured apart: it is
    the grader's code, not a student's, and budgets.unit_budget allows for it per call
    (with the round trips' latency, which is not CPU)."""
    if not unit.has_reference_mode:
        return None
    from autograder.sandbox import runtime  # the student side's proxies, run here on the reference

    server = ReferenceServer(reference, unit.calls)
    trips, served = [0], [0.0]

    class Channel:
        def ask(self, message: dict, full: bool = False):
            trips[0] += 1
            started = time.process_time()
            reply = server(decode(encode(message)))
            reply = decode(reply) if isinstance(reply, bytes) else reply
            served[0] += time.process_time() - started
            if "error" in reply:
                raise RuntimeError(reply["error"])
            return reply if full else reply.get("value")

    # a fresh copy of the reference, so that its units' globals hold the proxies (as a
    # student's do in the sandbox)
    namespace = execute_with_helpers(solution_source(assignment_id), helpers, "<reference>")
    for name in unit.calls:
        proxy = runtime.make_class_proxy if isinstance(getattr(reference, name), type) else runtime.make_function_proxy
        namespace[name] = proxy(name, Channel())
    cases = [_roundtrip(i) for i in inputs]

    def run_all():
        trips[0], served[0] = 0, 0.0
        for case_inputs in cases:
            run_case(dict(namespace), spec, case_inputs)
    best = None
    try:
        with quiet():
            for _ in range(budgets.REPEATS):  # the least of a few runs, as budgets.measure
                cpu = budgets.measure(run_all, repeats=1)
                if best is None or cpu < best.cpu:
                    best = budgets.ServedCost(cpu, trips[0], min(served[0], cpu))
    except Exception:  # the configured limit then (budgets.unit_budget with no cost)
        return None
    return best


def quiet():
    """What the reference prints (a training loop's progress) is not the grader's output."""
    return contextlib.redirect_stdout(io.StringIO())


def _roundtrip(value):
    """What the value looks like after crossing the boundary (tuples, dtypes, copies)."""
    return decode(encode(value))


@dataclass(frozen=True)
class ServeLimits:
    """What the reference may be asked to do while one unit runs in reference mode, from
    the unit's own hidden cases: honest code calls the units it depends on with arrays no
    larger than those it was given, and (measured over the four assignments) with at most
    ~20 times the bytes of all its cases' inputs in arguments and ~40 times in replies.
    The limits leave a few times that; beyond them a call is refused and the unit fails."""
    array_items: int     # elements of any one array argument
    call_bytes: int      # arguments of one call
    total_bytes: int     # arguments of all calls of the run
    reply_bytes: int     # replies of all calls of the run (each checked before it is encoded)
    objects: int = 4096  # reference objects created

    @classmethod
    def for_unit(cls, prepared: "PreparedUnit") -> "ServeLimits":
        inputs = max(len(packed.cases) for packed in (prepared.own, prepared.reference) if packed)
        largest = max((a.size for inputs_ in (prepared.reference_inputs, [c.inputs for c in prepared.cases])
                       for case in inputs_ for a in _arrays(case)), default=0)
        return cls(array_items=max(16 * largest, 4096), call_bytes=4 * inputs + (256 << 10),
                   total_bytes=128 * inputs + (1 << 20), reply_bytes=256 * inputs + (4 << 20))


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item)


def payload_bytes(value, limit: int, array_items: int | None = None) -> int:
    """codec.plain_size, with an array over `array_items` a refusal of the call."""
    try:
        return plain_size(value, limit, array_items)
    except CodecError:
        # in the grader's words: the size itself is a number the student side chose
        raise ServeRefused(f"an array over the limit {_array_bound(array_items)}") from None


def _array_bound(array_items: int) -> str:
    return f"(at most {array_items} for this unit: a few times the largest of its hidden inputs)"


class _HeldArguments:
    """The positional arguments of a served call while the reference function runs: every
    array in them read-only (the arrays the grader decoded, its own copies), every
    container (dict, list) remembered as it was. After the call, an argument holding a
    container whose items were rebound is one the student side must mirror; none of its
    arrays can have changed. Walking them also gives their size as codec.plain_size does
    (the same sizes per item: keep the two in step; test_fair_served checks they agree)
    (a refusal, ServeRefused, when it passes `limit` or an array passes `array_items`)."""

    def __init__(self, args: list, limit: int | None = None, array_items: int | None = None):
        self.arrays: list = []
        self.containers: list = []  # (container, its items before the call, argument index)
        try:
            self.size = self._walk(args, limit, array_items)
        except BaseException:
            self.release()
            raise

    def _walk(self, args: list, limit: int | None, array_items: int | None) -> int:
        total = 4 + len(args)
        stack = [(item, index) for index, item in enumerate(args)]
        while stack:
            item, index = stack.pop()
            kind = type(item)
            if kind is np.ndarray:
                items = array_items_of(item)  # an empty array counts as if full (codec.array_items)
                if array_items is not None and items > array_items:
                    raise ServeRefused(f"an array over the limit {_array_bound(array_items)}")
                total += items * item.itemsize + 16
                if item.flags.writeable:
                    item.flags.writeable = False
                    self.arrays.append(item)
            elif kind is str or kind is bytes:
                total += len(item) + 4
            elif kind is dict:
                total += 4 + len(item)
                self.containers.append((item, dict(item), index))
                stack.extend((key, index) for key in item)
                stack.extend((value, index) for value in item.values())
            elif kind is list or kind is tuple:
                total += 4 + len(item)
                if kind is list:
                    self.containers.append((item, list(item), index))
                stack.extend((value, index) for value in item)
            else:
                total += 9
            if limit is not None and total > limit:
                self.release()
                break  # over the limit: the caller refuses the call
        return total

    def changed(self) -> set:
        """The indexes of the arguments with a container whose items the call rebound."""
        changed = set()
        for container, before, index in self.containers:
            if index in changed:
                continue
            if type(container) is dict:
                same = len(container) == len(before) and all(
                    key in container and container[key] is value for key, value in before.items())
            else:
                same = len(container) == len(before) and all(a is b for a, b in zip(container, before))
            if not same:
                changed.add(index)
        return changed

    def restore(self) -> None:
        """Every container's items as they were before the call (arrays cannot have changed)."""
        for container, before, _ in self.containers:
            if type(container) is dict:
                container.clear()
                container.update(before)
            else:
                container[:] = before

    def release(self) -> bool:
        """The arrays writable again; whether there were any."""
        held = bool(self.arrays)
        for array in self.arrays:
            array.flags.writeable = True
        self.arrays = []
        return held


class ServeRefused(Exception):
    """A call to the reference over the unit's limits (ServeLimits)."""


@dataclass
class _KnownReply:
    name: str          # the function called
    call_size: int     # what ReferenceServer._check counted for the call
    largest: int       # elements of its largest argument array
    reply_size: int    # codec.plain_size of the reply, as checked before encoding it
    reply: bytes       # the reply, encoded
    confirmed: bool = False


class ServedReplies:
    """The replies to calls of reference functions, by the exact bytes of the call's
    frame, shared by the ReferenceServers of one grader. Students whose loops are right
    make the same calls (the same step inputs, the reference's own earlier replies), and
    decoding, checking, running and encoding each again was most of the grading process's
    time on a buggy notebook. A frame's first call costs only a hash (a wrong loop's
    calls seldom come again); at its second, the reply is kept if the call rebound
    nothing in its arguments and the function's code names no random generator
    (_draws_randomness); it is used once a third call with the same bytes has given the
    same reply (a function with hidden state never gets there), and a hit passes the
    unit's ServeLimits as the call would (ReferenceServer.answer_frame)."""

    MAX_BYTES = 8 << 20    # frames, replies and their upkeep; all forgotten when full (a class's common calls come back)
    ENTRY_BYTES = 320      # what an entry holds beyond its frame's and reply's bytes (measured: dict slot, objects)
    MAX_SEEN = 1 << 14     # hashes of frames seen once

    def __init__(self):
        self.known: dict[bytes, _KnownReply | None] = {}  # None: always served afresh
        self.seen: set[int] = set()
        self.size = 0

    def confirmed(self, frame: bytes) -> "_KnownReply | None":
        entry = self.known.get(frame)
        return entry if entry is not None and entry.confirmed else None

    def worth_learning(self, frame: bytes) -> bool:
        """Whether a call served afresh is to be learned: its frame came before."""
        if frame in self.known:
            return self.known[frame] is not None
        key = hash(frame)
        if key in self.seen:
            return True
        if len(self.seen) >= self.MAX_SEEN:
            self.seen.clear()
        self.seen.add(key)
        return False

    def learn(self, frame: bytes, entry: "_KnownReply | None") -> None:
        """A call served afresh: its reply (entry), or None when it may not be kept."""
        before = self.known.get(frame, False)
        if before is None:
            return
        if before is not False and entry is not None and before.reply == entry.reply and before.name == entry.name:
            before.confirmed = True
            return
        # a first reply, or one that may not be kept or did not come again (None: served
        # afresh from now on); either way the frame is counted
        size = self.ENTRY_BYTES + len(frame) + (len(entry.reply) if entry is not None and before is False else 0)
        if self.size + size > self.MAX_BYTES:
            self.known.clear()
            self.size = 0
        self.known[frame] = entry if before is False else None
        self.size += size


_CALL_FIELDS = frozenset({"op", "name", "args", "kwargs"})
# anything numpy.random or random defines (a Generator's methods included): a name that
# only looks like one keeps a function's replies from being kept, which costs only time
_RANDOM_NAMES = frozenset(n for n in {*dir(np.random), *dir(np.random.Generator), *dir(__import__("random"))}
                          if not n.startswith("_"))


@lru_cache(maxsize=None)
def _draws_randomness(function) -> bool:
    """Whether a reference function's code, or the Python code it reaches by name (the
    reference's own functions, the helpers', what a module it names defines, what it
    wraps or closes over), mentions a random generator: its replies are never kept
    (ServedReplies), even when they come back the same (it seeds itself), since a reply
    from memory would skip what it does to the generator. Anything that is not plain
    Python code counts as drawing."""
    seen, stack = set(), [function]
    while stack:
        item = stack.pop()
        if isinstance(item, type):
            stack.extend(vars(item).values())
            continue
        item = getattr(item, "__func__", item)  # (a method)
        code = getattr(item, "__code__", None)
        if code is None:
            if callable(item):
                return True  # a builtin, a C function, a cache's wrapper: cannot be read
            continue
        if code in seen:
            continue
        seen.add(code)
        names = getattr(item, "__globals__", {})
        stack.extend(cell.cell_contents for cell in (item.__closure__ or ()) if _is_cell_full(cell))
        if getattr(item, "__wrapped__", None) is not None:
            stack.append(item.__wrapped__)
        codes = [code]
        while codes:
            current = codes.pop()
            if _RANDOM_NAMES & set(current.co_names):
                return True
            codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
            for name in current.co_names:
                value = names.get(name)
                if isinstance(value, (types.FunctionType, type)):
                    stack.append(value)
                elif isinstance(value, types.ModuleType):  # `utils.step(...)`: what the module defines
                    stack.extend(getattr(value, attr) for attr in current.co_names
                                 if isinstance(getattr(value, attr, None), types.FunctionType))
    return False


def _is_cell_full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


class ReferenceServer:
    """Answers a student unit's calls to the reference units it depends on, and only
    those, only while that unit is graded, within the unit's ServeLimits: a student
    cannot make the grading process compute or encode gigabytes (a long thin sequence
    and a large weight ask little and return much)."""

    def __init__(self, reference: types.SimpleNamespace, allowed: tuple[str, ...], limits: ServeLimits | None = None,
                 replies: ServedReplies | None = None):
        self.reference = reference
        self.allowed = set(allowed)
        self.objects: dict[int, object] = {}
        self.limits = limits
        self.replies = replies
        self.received = self.sent = 0
        self.refused: list[str] = []  # why calls were refused, in the grader's words (for the explanation)

    def answer_frame(self, frame: bytes) -> bytes | None:
        """The reply to a call whose frame (undecoded) was answered before, when it is
        known (ServedReplies) and this unit may make it within its limits; else None
        (the call is decoded and served afresh, and any refusal is said there)."""
        known = self.replies.confirmed(frame) if self.replies is not None else None
        if known is None or known.name not in self.allowed:
            return None
        lim = self.limits
        if lim is not None:
            if (known.largest > lim.array_items or known.call_size > lim.call_bytes
                    or self.received + known.call_size > lim.total_bytes
                    or known.reply_size > lim.reply_bytes - self.sent):
                return None
            self.received += known.call_size
        self.sent += len(known.reply)
        return known.reply

    def __call__(self, message: dict, frame: bytes | None = None) -> dict | bytes:
        """The reply, encoded here (once) so that a value that is not plain data becomes
        an error reply instead of a grader crash. `frame`: the call's own frame (a call
        that came alone), whose reply ServedReplies may keep."""
        # (a call with nothing but its name and arguments: what the limits count is then
        # what the kept reply records)
        learning = frame is not None and self.replies is not None and self.limits is not None \
            and message.get("op") == "call" and set(message) <= _CALL_FIELDS and self.replies.worth_learning(frame)
        try:
            args = list(message.get("args") or [])
            received = self.received
            largest = max((a.size for a in _arrays([args, message.get("kwargs")])), default=0) if learning else 0
            held = self._admit(message, args)
            changed = ()
            if held is None:
                value = self._serve(message, args)
                reply = {"value": value}
            else:
                value, changed = self._call(message, args, held)
                # a reference unit may update its arguments in place (update_parameters,
                # a gradients dict): those it changed go back, for the student side to mirror
                reply = {"value": value, "changed": {i: args[i] for i in changed}}
            size = 0
            if self.limits is not None:
                left = self.limits.reply_bytes - self.sent
                size = payload_bytes(reply, left)
                if size > left:
                    raise ServeRefused(f"its replies would pass {self.limits.reply_bytes} bytes for this unit")
            encoded = encode(reply)
            self.sent += len(encoded)
            if learning:
                keep = not changed and not _draws_randomness(getattr(self.reference, message["name"], None))
                self.replies.learn(frame, _KnownReply(message["name"], self.received - received, largest, size, encoded)
                                   if keep else None)
            return encoded
        except ServeRefused as exc:
            name = message.get("name")
            text = f"the reference refused a call{f' to {name}' if name in self.allowed else ''}: {exc}"
            if text not in self.refused:
                self.refused.append(text)
            return {"error": text}
        except CodecError as exc:
            return {"error": f"the reference could not return plain data ({exc})"}
        except PermissionError as exc:
            return {"error": str(exc)}
        except Exception as exc:
            return {"error": f"the reference {message.get('name', 'object')} raised {type(exc).__name__}: {exc}"}

    # reference functions seen to write into an argument array: called on writable
    # arguments straight away (shared by every server of the process; bounded by the
    # reference's own functions)
    writes_arrays: set = set()

    def _call(self, message: dict, args: list, held: "_HeldArguments") -> tuple[object, set]:
        """A call to a reference function, and the indexes of the arguments it changed.
        First with every argument array read-only: if it returns, no array changed, and
        only the arguments holding a container (dict, list) whose items it rebound go
        back. If it fails writing into a read-only array (numpy's ValueError), what it did to
        the containers is undone and it runs again on writable arrays, as it always did, and
        every argument goes back (from then on at once for that function: it writes into
        its arguments). Any other exception is its answer, as before. A call with keyword
        arguments runs once on writable arguments, every positional one going back."""
        name = message.get("name")
        function = getattr(self.reference, name) if name in self.allowed else None
        everything = set(range(len(args)))
        if function in self.writes_arrays or message.get("kwargs"):
            # keyword arguments are neither held nor restored: one run on writable
            # arguments, as before, so nothing can be applied twice
            held.release()
            return self._serve(message, args), everything
        try:
            value = self._serve(message, args)
        except ValueError as exc:
            if "read-only" not in str(exc) or not held.arrays:
                held.release()
                raise  # it failed as it would have on writable arrays
            held.restore()
            held.release()
            value = self._serve(message, args)
            self.writes_arrays.add(function)
            return value, everything
        except BaseException:
            held.release()
            raise
        held.release()
        return value, held.changed()

    def _admit(self, message: dict, args: list) -> "_HeldArguments | None":
        """Refuse a call over the limits before the reference runs. For a call to a
        function: its arguments, held read-only (_HeldArguments), else None."""
        lim = self.limits
        held = _HeldArguments(args, lim.call_bytes if lim else None, lim.array_items if lim else None) \
            if message.get("op") == "call" else None
        if lim is None:
            return held
        try:
            self._check(message, held)
        except BaseException:
            if held:
                held.release()
            raise
        return held

    def _check(self, message: dict, held: "_HeldArguments | None") -> None:
        lim = self.limits
        # what codec.plain_size says of [args, kwargs, value], the arguments walked once
        size = 7 + (held.size if held else payload_bytes(message.get("args"), lim.call_bytes, lim.array_items))
        for part in (message.get("kwargs"), message.get("value")):
            size += payload_bytes(part, lim.call_bytes, lim.array_items)
        if size > lim.call_bytes:
            raise ServeRefused(f"arguments of over {lim.call_bytes} bytes in one call")
        self.received += size
        if self.received > lim.total_bytes:
            raise ServeRefused(f"arguments of over {lim.total_bytes} bytes in all for this unit")
        if message.get("op") == "new" and len(self.objects) >= lim.objects:
            raise ServeRefused(f"more than {lim.objects} objects for this unit")

    def _serve(self, message: dict, args: list):
        op = message["op"]
        kwargs = dict(message.get("kwargs") or {})
        if op in ("call", "new"):
            name = message.get("name")
            if name not in self.allowed:
                raise PermissionError(f"{name} is not served while this unit is graded")
            with quiet():
                result = getattr(self.reference, name)(*args, **kwargs)
            if op == "new":
                handle = len(self.objects) + 1
                self.objects[handle] = result
                return handle
            return result
        target = self.objects[int(message["handle"])]
        attr = str(message["attr"])
        if attr.startswith("__"):
            raise PermissionError("private attributes are not served")
        if op == "getattr":
            value = getattr(target, attr)
            if callable(value):
                return {"method": True}
            return {"value": value}
        if op == "setattr":
            setattr(target, attr, message.get("value"))
            return None
        if op == "method":
            return getattr(target, attr)(*args, **kwargs)
        raise PermissionError(f"unknown request {op}")


@lru_cache(maxsize=64)
def _state_attributes(setup: str | None) -> tuple[str, ...]:
    """The attributes a reference-mode set-up assigns on the object it builds
    (`layer.x = x`, `layer.cache = ref_cache`): where the reference forward's state is."""
    if not setup:
        return ()
    attrs = []
    for node in ast.walk(ast.parse(setup)):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.attr not in attrs:
                    attrs.append(t.attr)
    return tuple(attrs)


def _passed_own(graded) -> dict[str, bool]:
    """Whether each graded unit (by its name, and by its class's) passed in the student's
    own mode: one that passed only with the reference's units is still wrong itself."""
    status: dict[str, bool] = {}
    for result in graded:
        for name in {result.name, result.name.partition(".")[0]}:
            status[name] = status.get(name, True) and result.status == "passed" and result.mode == "own"
    return status


def missing_explanation(unit: Unit, defined: dict, cell_notes, graded_names=frozenset()) -> str | None:
    """Why a unit cannot be graded at all, or None when it is defined."""
    base, _, method = unit.name.partition(".")
    if base in defined and (not method or method in (defined[base] or [])):
        return None
    what = f"{base} is not defined" if base not in defined else f"class {base} has no method {method}"
    for note in cell_notes:
        if note.status != "ok" and note.source_mentions(base):
            return f"{what} in the submission: {note.where()} would define it but {note.describe()}."
    wanted, pool = (base, defined) if base not in defined else (method, defined[base] or [])
    # a name that is itself a graded unit is not a typo of this one
    pool = [str(n) for n in pool if str(n) not in graded_names]
    close = difflib.get_close_matches(wanted, pool, n=1, cutoff=0.85)
    if close:
        return f"{what} in the submission, but `{close[0]}` is: is the name misspelt?"
    return f"{what} in the submission."


NOT_IMPLEMENTED = "not implemented yet (raises NotImplementedError)"
NOT_IMPLEMENTED_IN = "not implemented yet ({} raises NotImplementedError)"


_FRAME_LINE = re.compile(r'^\s*File "<([^\n]*)>", line \d+, in (\S+)\s*$', re.M)


def _raised_in(traceback_text: str) -> str | None:
    """The student's function the traceback (trimmed to the student's cells) ends in."""
    found = _FRAME_LINE.findall(traceback_text or "")
    return found[-1][1] if found else None


_GIST = re.compile(r"(?:while preparing its input(?: \(`.*?`\))?: )?(?:raised )?(`[^`]+`|[A-Za-z_][\w.]*)")


def _gist(problem: str) -> tuple:
    """What a case's problem is about, in the student's words or the grader's (_Redacted):
    the stage, and the output that differs or the exception's type."""
    first = problem.splitlines()[0] if problem else ""
    match = _GIST.match(first)
    return first.startswith("while preparing"), match.group(1) if match else first


def _own_stub(unit: Unit, problem: str) -> bool:
    """Whether a case's problem is the unit's own body raising NotImplementedError (also
    when the unit itself is called while preparing the case, as a stateful forward is)."""
    if problem.startswith("raised NotImplementedError"):
        # a run with reference units, in the grader's words (_Redacted): the units it calls
        # are the reference's, so what raised while the unit was called is the unit itself
        return True
    if problem.startswith("while preparing its input (`"):
        problem = problem.split("`): ", 1)[-1]
    base, _, method = unit.name.rpartition(".")
    if problem.startswith(NOT_IMPLEMENTED):
        return True
    if not problem.startswith(NOT_IMPLEMENTED_IN.format(method)):
        return False
    frames = _FRAME_LINE.findall(problem)
    # a method: raised in the cell that defines its class (RNN.forward is not TimeRNN.forward)
    return not base or bool(frames and re.search(rf"\b{re.escape(base)}\b", frames[-1][0]))


def describe_error(err: dict) -> str:
    text = f"{err.get('type', 'Error')}: {err.get('message', '')}".rstrip(": ")
    if err.get("type") == "NotImplementedError":
        raiser = _raised_in(err.get("traceback", ""))
        # which function is the stub: the unit's own, or one it calls
        text = NOT_IMPLEMENTED_IN.format(raiser) if raiser and raiser != "<module>" else NOT_IMPLEMENTED
    if err.get("stage") == "setup":
        snippet = "; ".join(line.strip() for line in str(err.get("snippet", "")).splitlines() if line.strip())
        text = f"while preparing its input (`{snippet[:200]}`): {text}"
    if err.get("traceback"):
        text += "\n" + _indent(err["traceback"])
    return text


def _left_unchanged(expected, given, left, same) -> bool:
    """Whether an argument meant to be updated in place was left as it was given where it
    is wrong: every entry of a dict that differs from the expected one (a copy updated
    instead: `parameters = dict(parameters)`), or the whole value."""
    if isinstance(expected, dict) and isinstance(given, dict) and isinstance(left, dict):
        wrong = [k for k in expected if k in left and not same(expected[k], left[k])]
        return bool(wrong) and all(k in given and same(given[k], left[k]) for k in wrong)
    return same(given, left)


def _case_failure(run, expected, tol, unit: Unit, sizes: dict | None = None, inputs: dict | None = None) -> str:
    if not run.ok:
        return describe_error(run.error or {})
    for name, value in expected.items():
        if name not in run.outputs:
            return f"`{name}` was not produced"
        problem = compare(value, run.outputs[name], tol, name, exact=unit.exact, sizes=sizes, hidden=True)
        if problem:
            if dict(unit.extras).get(name) == name:  # an argument, as the call left it (updated in place)
                unchanged = inputs is not None and name in inputs and _left_unchanged(
                    value, inputs[name], run.outputs[name], lambda a, b: not compare(a, b, tol, name, exact=unit.exact))
                problem += (f" (`{name}` is the argument as your function left it: " +
                            ("unchanged, where it must be updated in place.)" if unchanged else "updated in place, "
                             "but not to the expected values.)"))
            return problem
    return ""


# Exception types named as they are in a reference-mode verdict; any other is a class of
# the student's own, whose name the student chose (and could fill with numbers).
_KNOWN_ERRORS = frozenset(name for name, value in vars(builtins).items()
                          if isinstance(value, type) and issubclass(value, BaseException)) | {
    "ContractError", "NotPlainData", "ReferenceCallError", "LinAlgError", "AxisError", "Error"}
_FRAME_FULL = re.compile(r'File "<([^<>"\n]{1,200})>", line (\d{1,6}), in ([A-Za-z_<>][\w<>]{0,100})')


class _Redacted:
    """The verdict of a run in reference mode, in the grader's words only.

    In reference mode the student's code holds the reference's outputs (on inputs it
    chose: possibly the hidden inputs of a unit graded on them, saved by an earlier run),
    so nothing it prints, raises, returns or reports may reach the feedback verbatim: an
    error is its exception type (a known one, else "its own exception class") and the
    student's line (checked against the cells); a wrong output says which one, not its
    values. What the reference server refused is said in the server's words."""

    def __init__(self, cells, refused: list[str], defined: dict | None = None, setups=(), state=()):
        self.state = tuple(state)  # the attributes the reference's forward state is set in (Unit.reference_setup)
        self.lines = {"preamble": 1 << 20}
        for cell in cells:
            self.lines[cell.label] = cell.source.count("\n") + 1
        self.refused = refused
        # the function names a frame may show: what the cells defined (known before any
        # run with reference units), and the grader's own set-up snippets
        self.names = {"<module>"} | {str(n) for n in (defined or {})}
        self.names |= {str(m) for methods in (defined or {}).values() if methods for m in methods}
        self.setups = {s for s in setups if s}

    GENERIC = "does not match the reference's outputs (with the reference substituted, details are not shown)"

    def frames(self, traceback_text) -> list[tuple[str, int, str]]:
        """The frames of the student's cells, each checked: a real cell, a line within it,
        a function the cells define."""
        out = []
        for label, line, name in _FRAME_FULL.findall(traceback_text if isinstance(traceback_text, str) else ""):
            if label in self.lines and label != "preamble" and 0 < int(line) <= self.lines[label] and name in self.names:
                out.append((label, int(line), name))
        return out[-3:]

    def error(self, err: dict, shown=frozenset()) -> str:
        # A line of the student's traceback is named only if it is one of `shown`, the
        # frame the own run of the same case showed innermost: the student side writes the
        # traceback, and code compiled under a cell's name at chosen lines (a padded cell)
        # wrote the reference's answers into its line numbers, 17 bits a frame.
        kind = err.get("type")
        frames = [f for f in self.frames(err.get("traceback")) if f in shown]
        if kind == "NotImplementedError":  # which function: only from a frame the own run showed
            raiser = frames[-1][2] if frames else None
            text = NOT_IMPLEMENTED_IN.format(raiser) if raiser and raiser != "<module>" else NOT_IMPLEMENTED
        else:
            kind = kind if kind in _KNOWN_ERRORS else "an exception of a class defined in the submission"
            where = f" at line {frames[-1][1]} of {frames[-1][0]}" if frames else ""
            text = f"raised {kind}{where} (with the reference substituted, its message is not shown)"
            if kind == "AttributeError" and self.state:
                # the grader's words, the same for every submission: which attributes the
                # reference's forward leaves its state in (a backward reading others finds none)
                text += (f"; in this mode the state the reference's forward leaves is in "
                         f"{', '.join(f'`{a}`' for a in self.state)} (beside what the constructor sets): "
                         "an attribute only your forward sets is not there")
        if kind == "ReferenceCallError" and self.refused:
            text += f"; {self.refused[0]}"
        if err.get("stage") == "setup":
            snippet = err.get("snippet")
            snippet = "; ".join(line.strip() for line in snippet.splitlines() if line.strip()) \
                if snippet in self.setups else ""
            text = f"while preparing its input (`{snippet[:200]}`): {text}" if snippet else \
                f"while preparing its input: {text}"
        if frames:
            text += "\n" + _indent("\n".join(f'  File "<{label}>", line {line}, in {name}' for label, line, name in frames))
        return text

    def failure(self, run, expected, tol, unit: Unit, own_problem: str = "") -> str:
        """A case of a run with reference units, in the grader's words; `own_problem`: the
        own run's words on the same case (its innermost frame may be named again)."""
        if not run.ok:
            frames = _FRAME_FULL.findall(own_problem)
            shown = {(frames[-1][0], int(frames[-1][1]), frames[-1][2])} if frames else set()
            return self.error(run.error or {}, shown)
        for name, value in expected.items():
            if name not in run.outputs:
                return f"`{name}` was not produced"
            problem = compare(value, run.outputs[name], tol, name, exact=unit.exact)
            if problem:
                actual = run.outputs[name]
                if isinstance(value, np.ndarray) and isinstance(actual, np.ndarray) and actual.shape != value.shape:
                    # the expected shape only: the student's shape is a number it chooses (20 bits a case)
                    return (f"`{name}` does not have the expected shape {value.shape} (with the reference "
                            "substituted, its own shape is not shown)")
                shape = f" (expected shape {np.shape(value)})" if isinstance(value, np.ndarray) else ""
                return f"`{name}` does not match the reference's{shape} (with the reference substituted, values are not shown)"
        return ""


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


def grading_config(assignment: Assignment, config: dict | None) -> dict:
    """A Grader's sandbox limits: the assignment's own (Assignment.limits), then the
    caller's (validated: an unknown key or a wrong type is a SettingsError naming it)."""
    return {**assignment.limits, **check_config(config, "the grader's configuration")}


def sandbox_note(config: dict, zygote: Zygote | None = None) -> str:
    """Fail closed (client.require_sandbox) unless the caller said --unsafe-no-sandbox,
    which then stands in every result: the note returned. `harden: False` (benchmarks,
    tests) says so in every result already. The probe runs once per process and
    configuration (client.probe_sandbox), and a worker forked after it inherits it."""
    if not config.get("harden", True):
        return ""
    if config.get("unsafe_no_sandbox"):
        missing = probe_sandbox(config, zygote)["missing"]
        return UNSAFE_NOTE.format(missing="; ".join(missing) or "nothing (the flag was not needed)")
    require_sandbox(config, zygote)
    return ""


def preload(assignment_id: str, config: dict | None = None) -> None:
    """What every Grader of the assignment does before its first submission, done once in
    this process: the hidden cases and the reference's outputs and cost (prepare), the
    sandbox probe, and IPython's transformer (for cells that do not parse as they are).
    Worker processes forked afterwards (batch.LocalExecutor) start with all of it instead
    of importing and computing it again each. Raises what a Grader would raise."""
    from autograder.submission import warm_transformer

    assignment, _, _ = prepare(assignment_id)
    sandbox_note(grading_config(assignment, config))
    warm_transformer()


class Grader:
    """Grades submissions of one assignment; reuse it across submissions."""

    def __init__(self, assignment_id: str, config: dict | None = None, zygote: Zygote | None = None,
                 check_all_gradients: bool = False, prespawn: bool = False):
        self.assignment, self.helpers, self.prepared = prepare(assignment_id)
        # the numerical gradient check runs for backward units that fail; True: for all
        # (an instructor checking a new assignment's reference, its tolerance, its tests)
        self.check_all_gradients = check_all_gradients
        self._hint_cache: dict = {}
        self._serve_limits: dict[str, ServeLimits] = {}
        self._served_replies = ServedReplies()
        self._own_problems: dict = {}  # (unit, case) -> an own-mode failure of the submission being graded
        self._mistakes: dict = {}  # model.Mistake -> the reference's definitions with it
        # batch grading: each submission's end starts the next one's sandbox (Zygote.prepare_spare)
        self.prespawn = prespawn
        self.reference = load_reference(assignment_id)
        self.files = data_files(assignment_id)  # e.g. a names file the student's code reads
        self.config = grading_config(self.assignment, config)
        self.tol = Tolerance(self.assignment.rtol, self.assignment.atol)
        # each unit's time limit follows the reference's cost on its cases (autograder.budgets)
        self.prepared = [self._with_budget(p) for p in self.prepared]
        self.graded_names = frozenset(n for u in self.assignment.units for n in u.name.split("."))
        # the helper modules' functions (rnn_utils.softmax, ...): a notebook's own version is named in a note
        self._helper_functions = {node.name: module for module, source in self.helpers.items()
                                  for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
        # the graded units each unit depends on, and of those the forwards its setup runs (a
        # backward's cache): the same for every submission (a regex walk)
        self._callees = {p.unit.name: frozenset(u.name for u in self.assignment.depends_on(p.unit))
                         for p in self.prepared}
        self._setup_forwards = {p.unit.name: tuple(u.name for u in self.assignment.depends_on(p.unit)
                                                   if runs_in(u.name, p.unit.setup)) for p in self.prepared}
        # the units whose answers a reference computes along the way, transitively (itself
        # included), by the name it is served or set up under: a function unit's, or a
        # class's (all its methods'); being served one is holding those answers
        reach: dict[str, set[str]] = {}
        for p in self.prepared:
            seen, stack = {p.unit.name}, [p.unit.name]
            while stack:
                for callee in self._callees.get(stack.pop(), ()):
                    if callee not in seen:
                        seen.add(callee)
                        stack.append(callee)
            reach[p.unit.name] = seen
        self._reach = dict(reach)
        for name, names in reach.items():
            self._reach.setdefault(name.partition(".")[0], set()).update(names)
        self._order = {p.unit.name: k for k, p in enumerate(self.prepared)}
        # per submission (grade_cells): the extra units reference mode serves each unit, and
        # which units passed, or returned at all, in their own runs
        self._extra_calls: dict[str, tuple] = {}
        self._own_ok: dict[str, bool] = {}
        self._own_returned: dict[str, bool] = {}
        # a backward's step forward whose private cache the "own_layout" mode fills with the
        # reference's values: a function unit its setup runs that calls no graded unit
        # (the others have "own_forward") and returns a private cache
        units = {u.name: u for u in self.assignment.units}
        self._layout_forwards = {
            p.unit.name: tuple(f for f in self._setup_forwards[p.unit.name]
                               if "." not in f and not units[f].calls
                               and any(n.startswith(PRIVATE) for n in units[f].returns.names))
            for p in self.prepared}
        # where the static slice starts (autograder.slicing): what the hidden calls read
        self.roots = unit_roots(self.assignment, {k for p in self.prepared for c in p.cases for k in c.inputs}
                                | {k for p in self.prepared for i in p.reference_inputs for k in i})
        self._own_zygote = zygote is None
        self.zygote = zygote or Zygote()
        try:
            self.unsafe_note = sandbox_note(self.config, self.zygote)
        except BaseException:
            self.close()
            raise

    def _with_budget(self, prepared: PreparedUnit) -> PreparedUnit:
        own = budgets.unit_budget(prepared.reference_cpu, self.config)
        ref = (budgets.unit_budget(prepared.reference_cpu, self.config, prepared.reference_mode_cost)
               if prepared.reference_mode_cost else budgets.unit_budget(None, self.config))
        packed_own = dataclasses.replace(prepared.own, seconds=own.seconds, why=own.why)
        # own_forward mode serves the step units (the forward's calls) and the backward's:
        # its calls earn time as reference mode's do
        own_forward = dataclasses.replace(packed_own, per_call=ref.per_call, most=max(ref.most, own.seconds),
                                          why=f"{own.why}, plus {ref.per_call * 1000:.1f} ms for each call it makes "
                                              "to the grading process") if ref.per_call else packed_own
        return dataclasses.replace(
            prepared, own=packed_own, own_forward=own_forward,
            reference=dataclasses.replace(prepared.reference, seconds=ref.seconds, why=ref.why,
                                          per_call=ref.per_call, most=ref.most))

    def close(self):
        if self._own_zygote:
            self.zygote.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def grade_file(self, path: str | Path) -> GradingResult:
        started = time.monotonic()
        try:
            cells = load_submission(path)
        except SubmissionError as exc:
            result = self._unreadable(str(path), str(exc))
        else:
            result = self.grade_cells(cells, str(path))
        result.execution_time = time.monotonic() - started
        return result

    def _unreadable(self, name: str, reason: str) -> GradingResult:
        result = GradingResult(self.assignment.id, name, notes=[f"The submission could not be read: {reason}."])
        for p in self.prepared:
            # the reason is said once, in the note; each unit only points to it
            result.units.append(UnitResult(p.unit.name, 0.0, p.unit.points, "failed",
                                           "Not graded: the submission could not be read (see the note)."))
        return result

    def grade_cells(self, cells: list[Cell], name: str = "<submission>") -> GradingResult:
        result = GradingResult(self.assignment.id, name, notes=[self.unsafe_note] if self.unsafe_note else [])
        self._own_problems = {}
        # as read (its syntax trees are cached; the slice keeps every def, class and what
        # binds a unit's name, so these hold what the sliced cells hold)
        read = cells
        if self.config.get("slice", True):  # statements no graded unit can see are not run
            sliced = slice_cells(cells, self.roots)
            cells = sliced.cells
            if sliced.dropped:
                result.notes.append(slice_note(sliced))
        # the graded units each unit's code calls beyond those the reference's calls: in
        # reference mode the reference's versions of those are substituted too (part 3)
        bases = {p.unit.name.partition(".")[0] for p in self.prepared}
        defs = definitions(read)
        refs = graded_references(read, bases, defs)
        # (only for a unit that has a reference mode, and only units graded before it, none
        # of whose references computes the unit: given rnn_forward, an rnn_cell_forward that
        # calls it with one step would return the reference's answers; given
        # lstm_cell_backward, an rnn_cell_backward could fix its gates and return its own)
        self._extra_calls = {
            p.unit.name: tuple(sorted(y for y in refs.get(p.unit.name.partition(".")[0], set()) - set(p.unit.calls)
                                      if p.unit.name not in self._reach.get(y, {y})
                                      and all(self._order.get(n, len(self._order)) < self._order[p.unit.name]
                                              for n in self._reach.get(y, {y}))))
            if p.unit.has_reference_mode else () for p in self.prepared}
        warm = imports_in_functions(read, bases, defs)
        if warm:
            cells = cells + [warm_imports_cell(warm)]
        student = StudentProcess(self.zygote, self.helpers, self.assignment.preamble, cells, self.config,
                                 files=self.files)
        try:
            reports = [_CellNote(r, cells) for r in student.start()]
            cell_notes = [note for note in (r.note() for r in reports) if note]
            result.notes.extend(cell_notes[:MAX_CELL_NOTES])  # a result stays readable (and small)
            if len(cell_notes) > MAX_CELL_NOTES:
                result.notes.append(f"... and {len(cell_notes) - MAX_CELL_NOTES} more cells or fragments "
                                    "that did not run cleanly.")
            rebound = rebound_after_definition(read, bases)
            for name, (label, statement) in sorted(rebound.items()):
                where = f"the {label}" if label.startswith(("cell ", "file ")) else label
                result.notes.append(f"`{name}` is defined, and then bound again by {where} (`{statement}`): as in "
                                    f"Jupyter, {name} is what that statement left, which is what is graded.")
            mine = own_helpers(cells, self._helper_functions)
            if mine:
                result.notes.append(f"The notebook defines its own {', '.join(f'`{n}`' for n in mine)} "
                                    f"(given in {', '.join(sorted({self._helper_functions[n] for n in mine}))}):"
                                    " the graded functions call the notebook's, as they would in Jupyter.")
            missing = {p.unit.name: missing_explanation(p.unit, student.defined, reports, self.graded_names)
                       for p in self.prepared}
            for name, text in missing.items():
                if text and name.partition(".")[0] in rebound:
                    label, statement = rebound[name.partition(".")[0]]
                    missing[name] = (f"{name.partition('.')[0]} is defined, but a later statement binds the name "
                                     f"to something else: `{statement}` (see the notes).")
            together, ran_first = self._run_together(student, [p for p in self.prepared if not missing[p.unit.name]])
            states = [_UnitState(p, missing[p.unit.name], together.get(p.unit.name),
                                 self._fair_modes(p.unit, student.defined), ran_first=p.unit.name in ran_first)
                      for p in self.prepared]
            # Every own-mode run comes before any run with reference units served: after one
            # of those the student process may hold the reference's outputs, and an own-mode
            # run (whose words are shown) would need a fresh process (StudentProcess.served).
            # The exception, own runs deferred until fair credit is known, gets that fresh
            # process (_run_deferred_own).
            for state in states:
                if state.together is not None and not state.missing:
                    state.own_run, state.own_failures = state.together, self._judge_run(state.prepared, state.together)
                    state.failed_together = bool(state.own_failures) and not state.together.timed_out
            for state in states:
                self._own_first(student, state, states)
            # which units passed their own runs, and which returned at all: a step forward that
            # passed gives its backward nothing to gain from its own layout with the
            # reference's values, and one that never returns (a loop, an error) none to give
            self._own_ok = {s.prepared.unit.name: s.own_failures == [] for s in states}
            self._own_returned = {s.prepared.unit.name: s.own_run is not None and any(c is not None and c.ok
                                                                                      for c in s.own_run.cases)
                                  for s in states}
            for state in states:
                if state.failed_together and state.own_failures:
                    # with the reference's units substituted, a unit that only failed because
                    # of what it calls gets full marks
                    self._try_fair_modes(student, state)
            self._run_deferred_own(student, states)
            for state in states:  # in order: a unit's choices read the verdicts of those it calls
                result.units.append(self._fair_then_score(student, state, result.units))
            result.notes.extend(n for n in student.notes if n not in result.notes)  # sandbox fallbacks, budget
            if student.restarts:
                result.notes.append(f"The student process was restarted {student.restarts} time(s).")
        finally:
            student.kill()
            if self.prespawn:
                self.zygote.prepare_spare(student.config)
        return result

    def _run_together(self, student, units: list[PreparedUnit]) -> tuple[dict, set]:
        """First pass: every defined unit in the student's own mode, all in one child
        (a fork per unit costs more than most units' cases). Only a unit that passes
        every case keeps this result; any other runs again alone (_own_first), so
        another unit's side effects can never cost it points. A child stopped by one
        unit leaves the units after it for another pass. Also returns the units that
        ran first in their child: nothing of another unit's ran before them there."""
        runs, pending, first = {}, list(units), set()
        while pending:
            results = student.run_units([p.own for p in pending])
            if all(r is None for r in results):
                break  # not started (budget, start-up failure): each unit gets its own attempt
            if results[0] is not None and all(case is not None for case in results[0].cases):
                first.add(pending[0].unit.name)  # (it ran all its cases: not a run the child's end cut short)
            runs.update((p.unit.name, r) for p, r in zip(pending, results) if r is not None)
            pending = [p for p, r in zip(pending, results) if r is None]
        return runs, first

    def _judge_run(self, prepared: PreparedUnit, run, redacted: "_Redacted | None" = None) -> list:
        """(case, problem) for every case of a run that does not match the reference.
        `redacted`: a run in reference mode, whose words are never shown (see _Redacted)."""
        failures = []
        for case, case_run, expected in zip(prepared.cases, run.cases, prepared.expected):
            if case_run is None:
                failures.append((case, run.ended or "not run"))
                continue
            problem = _case_failure(case_run, expected, self.tol, prepared.unit, case.sizes, case.inputs)
            key = (prepared.unit.name, case.label)
            if redacted is None:
                if problem:  # an own-mode run's words may be shown
                    self._own_problems[key] = problem
            elif problem and problem != self._own_problems.get(key):
                # a run with reference units: the grader's words only, unless its own run
                # failed in exactly these words (then they tell nothing new)
                problem = (redacted.failure(case_run, expected, self.tol, prepared.unit, self._own_problems.get(key, ""))
                           or redacted.GENERIC)
            if problem and case_run.ok:
                # right values under the wrong names: that is the whole story (a shape
                # message about them would mislead), in every case
                misplaced = self._misplaced(prepared, case_run.outputs, expected)
                if misplaced:
                    problem = misplaced
                elif not failures:  # diagnose the first failing case only
                    problem += self._hint(prepared, case.inputs, case_run.outputs, expected)
            if problem:
                failures.append((case, problem))
        return failures

    def _run_mode(self, student, prepared: PreparedUnit, mode: str):
        """mode "own": the student's code only; "reference": the units it calls are the
        reference's (or, family D, the reference forward's state is set up); "own_forward":
        the student's own forward builds the cache with the reference's step units, and
        the backward's other dependencies are the reference's too (Assignment.own_forward_calls)."""
        unit = prepared.unit
        layout = self._layout_forwards[unit.name] if mode == "own_layout" else ()
        served = {"own": (), "reference": self._reference_calls(unit),
                  "own_forward": self.assignment.own_forward_calls(unit),
                  "own_layout": layout + tuple(n for n in unit.calls if n not in layout)}[mode]
        packed = {"own": prepared.own, "reference": prepared.reference, "own_forward": prepared.own_forward,
                  "own_layout": prepared.reference}[mode]
        substitute = {n: ("layout" if n in layout else "class" if isinstance(getattr(self.reference, n), type)
                          else "function") for n in served}
        limits = None
        if mode != "own":
            limits = self._serve_limits.get(unit.name)
            if limits is None:
                limits = self._serve_limits[unit.name] = ServeLimits.for_unit(prepared)
        server = ReferenceServer(self.reference, served, limits, self._served_replies if mode != "own" else None)
        # the numerical check is reported for the student's own forward/backward pair
        # the reference units whose outputs this run receives: those served, and in reference
        # mode a forward whose state the reference set up (family D)
        holds = set(served) | (set(self._setup_forwards[unit.name])
                               if mode == "reference" and unit.reference_setup is not None else set())
        holds = set().union(*(self._reach.get(h, {h}) for h in holds)) if holds else set()
        run = student.run_unit(packed, substitute, server, gradcheck=(mode == "own"), name=unit.name, holds=holds)
        # any run but the student's own may hold the reference's outputs: never shown verbatim
        redacted = (_Redacted(student.cells, server.refused, student.defined, (unit.setup, unit.reference_setup),
                              _state_attributes(unit.reference_setup) if mode == "reference" else ())
                    if mode != "own" else None)
        return run, self._judge_run(prepared, run, redacted)

    def _reference_calls(self, unit: Unit) -> tuple[str, ...]:
        """The units served by the reference in reference mode: those the reference's
        version calls, and the graded ones the student's version calls besides."""
        return tuple(unit.calls) + self._extra_calls.get(unit.name, ())

    def _fair_modes(self, unit: Unit, defined: dict) -> list[str]:
        """The fair-credit modes that apply to a unit, in the order they are tried. The
        own-forward mode needs the student's forward (it builds the cache's layout)."""
        modes = ["reference"] if unit.has_reference_mode else []
        forwards = self.assignment.cache_forwards(unit)
        if forwards and all(missing_explanation(f, defined, ()) is None for f in forwards):
            modes.append("own_forward")
        layout = self._layout_forwards[unit.name]
        if layout and all(f in defined for f in layout):
            modes.append("own_layout")
        return modes

    def _matches(self, expected: dict, got: dict) -> bool:
        for name, value in expected.items():
            if name.startswith("__"):
                continue
            if name not in got:
                return False
            actual = got[name]
            if type(value) is np.ndarray and type(actual) is np.ndarray and value.shape != actual.shape:
                return False  # (what compare says, without the shape explanation it builds first)
            if not values_match(value, actual, self.tol, name):
                return False
        return True

    def _misplaced(self, prepared: PreparedUnit, actual: dict, expected: dict) -> str:
        return order_hint(expected, actual, self._matches, prepared.spec["returns"])

    def _hint(self, prepared: PreparedUnit, inputs: dict, actual: dict, expected: dict) -> str:
        spec = prepared.spec

        def run_reference(changed, definitions=None):
            with quiet():
                return _roundtrip(run_case(dict(definitions or vars(self.reference)), spec, changed))

        matches = self._matches
        hint = tanh_hint(expected, actual, matches)
        if hint:
            return hint
        mistakes = [(m.words, lambda m=m: run_reference(inputs, self._with_mistake(m)))
                    for m in prepared.unit.mistakes]
        # the case inputs are the prepared (shared) objects: their variants' outputs are kept
        cache = self._hint_cache.setdefault((spec["name"], id(inputs)), {})
        return classic_mistake_hint(run_reference, inputs, actual, matches, cache, mistakes)

    def _with_mistake(self, mistake) -> dict:
        """The reference's definitions with one classic mistake in its code (built once)."""
        if mistake not in self._mistakes:
            source = solution_source(self.assignment.id).replace(mistake.old, mistake.new, 1)
            self._mistakes[mistake] = execute_with_helpers(source, self.helpers, "<reference with a mistake>")
        return self._mistakes[mistake]

    def _own_first(self, student, state: "_UnitState", states: list) -> None:
        """The first of a unit's own-mode runs alone: every unit that did not pass together
        with the others runs again alone (with the gradient check, which then has
        something to explain), unless it used up its time there (a second run would too)
        or it failed together through a unit it calls: then a fair-credit mode most likely
        gives it full marks, which its own run could not improve, and that run waits
        (_run_deferred_own) until the fair-credit modes have had their turn."""
        prepared, together = state.prepared, state.together
        if state.missing:
            return
        checked = self.check_all_gradients and prepared.unit.gradcheck is not None
        if together is not None and not checked and not state.failed_together:
            return  # passed together, or ran out of time there
        if together is not None and state.ran_first and prepared.unit.gradcheck is None:
            return  # it ran first in a fresh child, as it would alone, and has no gradient to check
        if state.failed_together and state.fair_modes and not checked and self._failed_through_calls(state, states):
            state.own_deferred = True
            return
        state.own_run, state.own_failures = self._run_mode(student, prepared, "own")

    def _run_deferred_own(self, student, states: list) -> None:
        """The own-mode runs alone that waited for the fair-credit modes and are still
        needed (none of those gave full marks): all in the one fresh process that
        follows the runs with reference units served."""
        for state in states:
            if state.own_deferred and not state.full_from_fair:
                state.own_run, state.own_failures = self._run_mode(student, state.prepared, "own")

    def _try_fair_modes(self, student, state: "_UnitState") -> None:
        # in order, until one gives full marks: nothing could do better
        for mode in state.fair_modes:
            if state.full_from_fair:
                return
            forwards = self._layout_forwards[state.prepared.unit.name] if mode == "own_layout" else ()
            if forwards and (all(self._own_ok.get(f, False) for f in forwards)
                             or not all(self._own_returned.get(f, False) for f in forwards)):
                continue  # (its own run had its layout with right values, or it never returns)
            if mode not in state.fair:
                state.fair[mode] = self._run_mode(student, state.prepared, mode)

    def _fair_then_score(self, student, state: "_UnitState", graded) -> UnitResult:
        prepared = state.prepared
        unit = prepared.unit
        total = len(prepared.cases)
        if state.missing:
            return UnitResult(unit.name, 0.0, unit.points, "failed", state.missing, cases_total=total)
        own_run, own_failures, fair, fair_modes = state.own_run, state.own_failures, state.fair, state.fair_modes
        # A unit that ran out of time while every unit it calls passed is stuck in its own
        # code: substituting the reference's would spend the same time again for nothing.
        own_loop = own_run.timed_out and self._calls_all_passed(unit, graded)
        if own_failures and not own_loop:
            self._try_fair_modes(student, state)  # (those that failed together have had them)
        best_mode, run, failures = "own", own_run, own_failures
        for mode in fair_modes:  # a fair-credit mode is kept only when it does strictly better
            if mode in fair and own_failures and len(fair[mode][1]) < len(failures):
                best_mode, (run, failures) = mode, fair[mode]
        passed = total - len(failures)
        score = round(unit.points * passed / total, 6) if total else 0.0
        status = "passed" if passed == total else "failed"
        # the forwards whose results this unit's cases start from (a backward's cache), when
        # the student's own does not pass: its own run's hints and gradient check are against them
        passed_own = _passed_own(graded)
        wrong_forwards = [name for name in self._setup_forwards[unit.name] if not passed_own.get(name, False)]
        explanation = self._explain(unit, prepared, own_run, own_failures, best_mode, failures, fair, wrong_forwards)
        if own_failures and fair_modes and own_loop:
            explanation += (f"\nNot run again with the reference {', '.join(self._reference_calls(unit))} substituted: yours passed "
                            "every hidden case, so the time went in this function's own code.")
        cpu = sum(c.cpu for c in run.cases if c)
        return UnitResult(unit.name, score, unit.points, status, explanation, best_mode, passed, total, cpu, run.wall)

    def _failed_through_calls(self, state: "_UnitState", states: list) -> bool:
        """Whether a unit that failed together may have failed through a graded unit it
        depends on (one that did not pass together)."""
        callees = self._callees[state.prepared.unit.name]
        return any(s.prepared.unit.name in callees and (s.own_failures is None or s.own_failures)
                   for s in states)

    def _calls_all_passed(self, unit: Unit, graded) -> bool:
        """Whether `unit` calls graded units and every one (by its name or its class) passed
        in the student's own mode: one that passed only with the reference's units may
        itself be what loops (a softmax that never returns). A unit whose fair-credit
        mode sets up the reference's state instead (no calls) is never said to be."""
        passed_own = _passed_own(graded)
        calls = self._reference_calls(unit)
        return bool(calls) and all(passed_own.get(name, False) for name in calls)

    @staticmethod
    def _is_stub(unit: Unit, total: int, runs: list) -> bool:
        """Whether the unit itself raised NotImplementedError on every case of some run
        (not while preparing its input, nor in a function it calls)."""
        return any(failures and len(failures) == total and all(_own_stub(unit, p) for _, p in failures)
                   for failures in runs)

    def _mode_words(self, unit: Unit, mode: str) -> str:
        """How a fair-credit mode is named in an explanation ("with ...")."""
        if mode == "own_forward":
            forwards = self.assignment.cache_forwards(unit)
            steps = [n for f in forwards for n in f.calls]
            others = [n for n in self.assignment.own_forward_calls(unit) if n not in steps]
            return (f"your own {', '.join(f.name for f in forwards)} running on the reference {', '.join(steps)}"
                    + (f", and the reference {', '.join(others)}" if others else ""))
        if mode == "own_layout":
            names = ", ".join(self._layout_forwards[unit.name])
            return f"your own {names}'s cache layout holding the reference {names}'s values"
        # "with the reference forward pass substituted" for a family-D backward
        return f"the reference {', '.join(self._reference_calls(unit)) or 'forward pass'} substituted"

    def _explain(self, unit, prepared, own_run, own_failures, mode, failures, fair, wrong_forwards=()) -> str:
        total = len(prepared.cases)
        calls = self._reference_calls(unit)
        # and the forwards its cases start from (a family-D backward's own forward pass)
        deps = list(calls) + [f for f in self._setup_forwards[unit.name]
                              if f not in calls and f.partition(".")[0] not in calls]
        own_deps = ", ".join(deps) or "forward pass"
        lines = []
        if not failures:
            lines.append(f"Passed all {total} hidden cases.")
            if mode != "own":
                case, problem = own_failures[0]
                lines.append(f"Full credit with {self._mode_words(unit, mode)}. With your own {own_deps}, "
                             f"{len(own_failures)} case(s) failed, e.g. case {case.label}: {problem.splitlines()[0]}")
        elif self._is_stub(unit, total, [own_failures] + [f for _, f in fair.values()]):
            # said once: neither each case nor each mode has anything to add
            lines.append(f"Passed 0 of {total} hidden cases: {unit.name} is {NOT_IMPLEMENTED}.")
        else:
            lines.append(f"Passed {total - len(failures)} of {total} hidden cases"
                         + (f" (best with {self._mode_words(unit, mode)})." if mode != "own" else "."))
            if len(failures) > 1 and all(problem == failures[0][1] for _, problem in failures):
                case, problem = failures[0]
                lines.append(f"- case {case.label}: {problem}")
                lines.append(f"- the other {len(failures) - 1} failing case(s) fail the same way")
            else:
                for case, problem in failures[:2]:
                    lines.append(f"- case {case.label}: {problem}")
                if len(failures) > 2:
                    lines.append(f"- ... {len(failures) - 2} more case(s) failing")
            said = {_gist(problem) for _, problem in failures[:2]}
            same = []
            for other, (_, other_failures) in fair.items():
                if other == mode or not other_failures:
                    continue
                case, problem = other_failures[0]
                if _gist(problem) in said:  # the same failure again: only that is news
                    same.append(self._mode_words(unit, other))
                else:
                    lines.append(f"With {self._mode_words(unit, other)}, it fails too, e.g. case {case.label}: "
                                 f"{problem.splitlines()[0]}")
            if same:
                # (the same kind: stage and exception type or output; where, the modes' words do not say)
                lines.append(f"It fails with the same kind of failure with {' and with '.join(same)}.")
        if unit.gradcheck is not None and not own_failures:
            lines.append("No numerical gradient check was needed: every gradient matches the reference's.")
        if own_failures and wrong_forwards:
            # a right backward of a wrong forward fails its own run: a check against that forward would blame it
            names = ", ".join(wrong_forwards)
            lines.append(f"Your own run starts from your {names}, which does not pass its own cases: fix {names} "
                         "first (the numerical gradient check against it is not shown).")
        else:
            lines.extend(self._gradcheck_lines(unit, own_run))
        mutated = sorted({n for c in own_run.cases if c and c.ok for n in (c.outputs or {}).get("__mutated__", [])})
        if mutated:
            lines.append("Note: it modifies its argument(s) " + ", ".join(f"`{n}`" for n in mutated)
                         + " in place; callers may not expect that (no points lost for it).")
        wider = self._wider_floats(prepared, own_run)
        if wider:
            lines.append(f"Note: {', '.join(f'`{n}`' for n in wider)} came back as float64 where the assignment "
                         f"computes in {self.assignment.dtype} (twice the memory in a model; no points lost for it).")
        printed = next((c.output for c in own_run.cases if c and c.output), "")
        if printed:
            lines.append("Printed output (trimmed):\n" + _indent(printed[:600]))
        return "\n".join(lines)

    def _wider_floats(self, prepared, run) -> list[str]:
        """The outputs a float32 assignment's unit returned as float64 (values compared, not
        layout: it passes, and is told)."""
        if self.assignment.dtype != "float32":
            return []
        names = set()
        for case_run, expected in zip(run.cases, prepared.expected):
            if case_run is None or not case_run.ok:
                continue
            for name, value in expected.items():
                got = (case_run.outputs or {}).get(name)
                if isinstance(value, np.ndarray) and value.dtype == np.float32 and isinstance(got, np.ndarray) \
                        and got.dtype == np.float64:
                    names.add(name)
        return sorted(names)

    def _gradcheck_lines(self, unit, run) -> list[str]:
        if unit.gradcheck is None:
            return []
        worst: dict[str, float] = {}
        skipped: dict[str, str] = {}
        for case in run.cases:
            if not (case and case.ok):
                continue
            for grad, pair in (case.outputs or {}).get("__gradcheck__", {}).items():
                err = gradcheck_error(pair)
                if err is None:
                    skipped[str(grad)] = str(pair)[:120]
                else:
                    worst[grad] = max(worst.get(grad, 0.0), err)
        if not worst and not skipped:
            return []
        if len(worst) > 1:
            # one case was broken down per gradient: its figures say more than another case's
            # all-together figure, which beside them read as a contradiction
            worst.pop(GRADCHECK_JOINT, None)
        limit = GRADCHECK_THRESHOLD.get(self.assignment.dtype, 1e-5)
        parts = [f"{g} {e:.1e}{'' if e < limit else ' (too large)'}" for g, e in worst.items()]
        parts += [f"{g} {why}" for g, why in sorted(skipped.items()) if g not in worst]
        return ["Numerical gradient check of your backward against the forward it belongs to "
                "(central differences along random directions, worst relative error): " + ", ".join(parts)]


@dataclass
class _UnitState:
    """One unit of the submission being graded, between its runs (Grader.grade_cells)."""
    prepared: PreparedUnit
    missing: str | None
    together: object        # its UnitRun in the shared child, None when it was not run there
    fair_modes: list
    own_run: object = None  # the own-mode run its verdict reads: alone if it ran alone, else together
    own_failures: list | None = None
    own_deferred: bool = False   # its own run alone waits for the fair-credit modes
    failed_together: bool = False
    ran_first: bool = False  # it ran first in its shared child (Grader._run_together)
    fair: dict = field(default_factory=dict)  # mode -> (run, failures)

    @property
    def full_from_fair(self) -> bool:
        return any(failures == [] for _, failures in self.fair.values())


class _CellNote:
    def __init__(self, report, cells):
        self.report = report
        self.label = report.label
        self.status = report.status
        index = report.index - 1  # 0 is the preamble
        self.source = cells[index].source if 0 <= index < len(cells) else ""

    def source_mentions(self, name: str) -> bool:
        # the whole name: `class RNN` is not in `class RNNLM(BaseModel):`
        return re.search(rf"\b(?:def|class)\s+{re.escape(name)}\b", self.source) is not None

    def describe(self) -> str:
        r = self.report
        if r.status == "syntax_error":
            return f"does not parse: {r.errors[0].get('message') if r.errors else ''}"
        kept = any(KEPT_DEFINITIONS in str(e.get("message", "")) for e in r.errors)
        kept = f" ({KEPT_DEFINITIONS})" if kept else ""
        if r.status == "timeout":
            return "was stopped at its time limit" + kept
        if r.status == "crashed":
            message = str(r.errors[0].get('message') if r.errors else '').replace("; " + KEPT_DEFINITIONS, "")
            return f"crashed ({message})" + kept
        if r.status == "error" and r.errors:
            e = r.errors[0]
            return f"raised {e.get('type')}: {e.get('message')} at line {e.get('line')}"
        if r.status == "not_run":
            return "was not run (the student process ended before it: see the notes)"
        return r.status

    def where(self) -> str:
        """The cell as a phrase: "the cell defining rnn_forward", "lines 3-9" (a .py file)."""
        return f"the {self.label}" if self.label.startswith(("cell ", "file ")) else self.label

    def note(self) -> str:
        if self.status in ("ok", "not_run"):
            return ""
        where = self.where()
        return f"{where[:1].upper()}{where[1:]} {self.describe()}"
