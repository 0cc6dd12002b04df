"""Generate realistic `rnn_step_by_step` student notebooks for the course-scale benchmarks.

Every notebook is built from the reference solution's text (reference/rnn_step_by_step/
solution.py, minus its two preamble lines, which become the usual import cell), cut
into one cell per function, each followed by the kind of test cell the published
notebook has (seeded inputs, a few prints). The class is a fixed mix:

- 60% correct, with superficial variations (renamed locals, `np.dot` instead of `@`,
  START/END CODE HERE comments, no docstrings, two-space indents, debug prints);
- 25% with one or two classic bugs (a transposed weight, a missing bias, a wrong sum
  axis, `=` instead of `+=`, a wrong return order or arity, swapped gates, ...);
- 10% with failing cells (syntax errors, NameErrors, a missing or unfinished function,
  magics, a failing import, and, one in a thousand, an infinite loop at top level);
- 5% hostile (a huge allocation, sys.exit / os._exit at top level, megabytes of
  printing, and, one in a thousand, an infinite loop inside a graded function).

The mix is stratified in blocks of 20 students (12 / 5 / 2 / 1), so the first 100 of a
class of 1,000 have exactly the same mix. Output is a pure function of (n, seed):
byte-identical files for the same arguments.

Usage: python bench/make_submissions.py OUT_DIR [--n 1000] [--seed 0]
Writes OUT_DIR/<student>.ipynb (the flat layout) and OUT_DIR.manifest.json (outside
the folder, so a batch grader never sees it) with each student's category and kinds.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import random
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "reference" / "rnn_step_by_step" / "solution.py"
PREAMBLE_CELL = "import numpy as np\nfrom rnn_utils import *"

FUNCTIONS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
             "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]

TITLES = {
    "rnn_cell_forward": "1.1 - RNN Cell", "rnn_forward": "1.2 - RNN Forward Pass",
    "rnn_cell_backward": "3.1 - Basic RNN Backward Pass", "rnn_backward": "3.2 - Backward Pass through the RNN",
    "lstm_cell_forward": "2.1 - LSTM Cell", "lstm_forward": "2.2 - Forward Pass for LSTM",
    "lstm_cell_backward": "3.3 - LSTM Backward Pass", "lstm_backward": "3.4 - Backward Pass through the LSTM RNN",
}

# The test cells of the published notebook: seeded inputs, a call, a few prints.
_RNN_PARAMS = """parameters_tmp = {}
parameters_tmp['Waa'] = np.random.randn(5, 5)
parameters_tmp['Wax'] = np.random.randn(5, 3)
parameters_tmp['Wya'] = np.random.randn(2, 5)
parameters_tmp['ba'] = np.random.randn(5, 1)
parameters_tmp['by'] = np.random.randn(2, 1)
"""
_LSTM_PARAMS = """parameters_tmp = {}
parameters_tmp['Wf'] = np.random.randn(5, 5 + 3)
parameters_tmp['bf'] = np.random.randn(5, 1)
parameters_tmp['Wi'] = np.random.randn(5, 5 + 3)
parameters_tmp['bi'] = np.random.randn(5, 1)
parameters_tmp['Wo'] = np.random.randn(5, 5 + 3)
parameters_tmp['bo'] = np.random.randn(5, 1)
parameters_tmp['Wc'] = np.random.randn(5, 5 + 3)
parameters_tmp['bc'] = np.random.randn(5, 1)
parameters_tmp['Wy'] = np.random.randn(2, 5)
parameters_tmp['by'] = np.random.randn(2, 1)
"""
TEST_CELLS = {
    "rnn_cell_forward": "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
    + _RNN_PARAMS + "\na_next_tmp, yt_pred_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)\n"
    'print("a_next[4] = \\n", a_next_tmp[4])\nprint("a_next.shape = \\n", a_next_tmp.shape)\n'
    'print("yt_pred[1] =\\n", yt_pred_tmp[1])\nprint("yt_pred.shape = \\n", yt_pred_tmp.shape)',
    "rnn_forward": "np.random.seed(1)\nx_tmp = np.random.randn(3, 10, 4)\na0_tmp = np.random.randn(5, 10)\n"
    + _RNN_PARAMS + "\na_tmp, y_pred_tmp, caches_tmp = rnn_forward(x_tmp, a0_tmp, parameters_tmp)\n"
    'print("a[4][1] = \\n", a_tmp[4][1])\nprint("a.shape = \\n", a_tmp.shape)\n'
    'print("y_pred[1][3] =\\n", y_pred_tmp[1][3])\nprint("y_pred.shape = \\n", y_pred_tmp.shape)\n'
    'print("caches[1][1][3] =\\n", caches_tmp[1][1][3])\nprint("len(caches) = \\n", len(caches_tmp))',
    "rnn_cell_backward": "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
    + _RNN_PARAMS + "\na_next_tmp, yt_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)\n"
    "da_next_tmp = np.random.randn(5, 10)\ngradients_tmp = rnn_cell_backward(da_next_tmp, cache_tmp)\n"
    'print("gradients[\\"dxt\\"][1][2] =", gradients_tmp["dxt"][1][2])\n'
    'print("gradients[\\"dxt\\"].shape =", gradients_tmp["dxt"].shape)\n'
    'print("gradients[\\"da_prev\\"][2][3] =", gradients_tmp["da_prev"][2][3])\n'
    'print("gradients[\\"dWaa\\"][3][1] =", gradients_tmp["dWaa"][3][1])\n'
    'print("gradients[\\"dba\\"][4] =", gradients_tmp["dba"][4])\n'
    'print("gradients[\\"dba\\"].shape =", gradients_tmp["dba"].shape)',
    "rnn_backward": "np.random.seed(1)\nx_tmp = np.random.randn(3, 10, 4)\na0_tmp = np.random.randn(5, 10)\n"
    + _RNN_PARAMS + "\na_tmp, y_tmp, caches_tmp = rnn_forward(x_tmp, a0_tmp, parameters_tmp)\n"
    "da_tmp = np.random.randn(5, 10, 4)\ngradients_tmp = rnn_backward(da_tmp, caches_tmp)\n"
    'print("gradients[\\"dx\\"][1][2] =", gradients_tmp["dx"][1][2])\n'
    'print("gradients[\\"dx\\"].shape =", gradients_tmp["dx"].shape)\n'
    'print("gradients[\\"da0\\"][2][3] =", gradients_tmp["da0"][2][3])\n'
    'print("gradients[\\"dWax\\"][3][1] =", gradients_tmp["dWax"][3][1])\n'
    'print("gradients[\\"dWaa\\"][1][2] =", gradients_tmp["dWaa"][1][2])\n'
    'print("gradients[\\"dba\\"][4] =", gradients_tmp["dba"][4])',
    "lstm_cell_forward": "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
    "c_prev_tmp = np.random.randn(5, 10)\n" + _LSTM_PARAMS
    + "\na_next_tmp, c_next_tmp, yt_tmp, cache_tmp = lstm_cell_forward(xt_tmp, a_prev_tmp, c_prev_tmp, parameters_tmp)\n"
    'print("a_next[4] = \\n", a_next_tmp[4])\nprint("a_next.shape = ", a_next_tmp.shape)\n'
    'print("c_next[2] = \\n", c_next_tmp[2])\nprint("yt[1] =", yt_tmp[1])\nprint("len(cache) = ", len(cache_tmp))',
    "lstm_forward": "np.random.seed(1)\nx_tmp = np.random.randn(3, 10, 7)\na0_tmp = np.random.randn(5, 10)\n"
    + _LSTM_PARAMS + "\na_tmp, y_tmp, c_tmp, caches_tmp = lstm_forward(x_tmp, a0_tmp, parameters_tmp)\n"
    'print("a[4][3][6] = ", a_tmp[4][3][6])\nprint("a.shape = ", a_tmp.shape)\n'
    'print("y[1][4][3] =", y_tmp[1][4][3])\nprint("c[1][2][1]", c_tmp[1][2][1])\nprint("len(caches) = ", len(caches_tmp))',
    "lstm_cell_backward": "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
    "c_prev_tmp = np.random.randn(5, 10)\n" + _LSTM_PARAMS
    + "\na_next_tmp, c_next_tmp, yt_tmp, cache_tmp = lstm_cell_forward(xt_tmp, a_prev_tmp, c_prev_tmp, parameters_tmp)\n"
    "da_next_tmp = np.random.randn(5, 10)\ndc_next_tmp = np.random.randn(5, 10)\n"
    "gradients_tmp = lstm_cell_backward(da_next_tmp, dc_next_tmp, cache_tmp)\n"
    'print("gradients[\\"dxt\\"][1][2] =", gradients_tmp["dxt"][1][2])\n'
    'print("gradients[\\"da_prev\\"][2][3] =", gradients_tmp["da_prev"][2][3])\n'
    'print("gradients[\\"dc_prev\\"][2][3] =", gradients_tmp["dc_prev"][2][3])\n'
    'print("gradients[\\"dWf\\"][3][1] =", gradients_tmp["dWf"][3][1])\n'
    'print("gradients[\\"dbf\\"][4] =", gradients_tmp["dbf"][4])',
    "lstm_backward": "np.random.seed(1)\nx_tmp = np.random.randn(3, 10, 7)\na0_tmp = np.random.randn(5, 10)\n"
    + _LSTM_PARAMS + "\na_tmp, y_tmp, c_tmp, caches_tmp = lstm_forward(x_tmp, a0_tmp, parameters_tmp)\n"
    "da_tmp = np.random.randn(5, 10, 4)\ngradients_tmp = lstm_backward(da_tmp, caches_tmp)\n"
    'print("gradients[\\"dx\\"][1][2] =", gradients_tmp["dx"][1][2])\n'
    'print("gradients[\\"dx\\"].shape =", gradients_tmp["dx"].shape)\n'
    'print("gradients[\\"da0\\"][2][3] =", gradients_tmp["da0"][2][3])\n'
    'print("gradients[\\"dWf\\"][3][1] =", gradients_tmp["dWf"][3][1])\n'
    'print("gradients[\\"dbo\\"][4] =", gradients_tmp["dbo"][4])',
}

# Classic bugs: (kind, function, old, new). `old` occurs exactly once in that function.
BUGS = [
    ("transposed_weight", "rnn_cell_forward", "Waa @ a_prev", "Waa.T @ a_prev"),
    ("transposed_weight", "rnn_cell_backward", "da_prev = Waa.T @ dz", "da_prev = Waa @ dz"),
    ("missing_bias", "rnn_cell_forward", "Wax @ xt + ba)", "Wax @ xt)"),
    ("missing_bias", "rnn_cell_forward", "softmax(Wya @ a_next + by)", "softmax(Wya @ a_next)"),
    ("missing_bias", "lstm_cell_forward", "ft = sigmoid(Wf @ concat + bf)", "ft = sigmoid(Wf @ concat)"),
    ("wrong_sum_axis", "rnn_cell_backward", "np.sum(dz, axis=1, keepdims=True)", "np.sum(dz, axis=0, keepdims=True)"),
    ("wrong_sum_axis", "lstm_cell_backward", "dbf = np.sum(dft, axis=1, keepdims=True)",
     "dbf = np.sum(dft, axis=0, keepdims=True)"),
    ("dropped_keepdims", "rnn_cell_backward", "np.sum(dz, axis=1, keepdims=True)", "np.sum(dz, axis=1)"),
    ("assign_not_accumulate", "rnn_backward", 'dWaa += grads_t["dWaa"]', 'dWaa = grads_t["dWaa"]'),
    ("assign_not_accumulate", "lstm_backward", 'dWf += grads_t["dWf"]', 'dWf = grads_t["dWf"]'),
    ("wrong_return_order", "rnn_cell_forward", "return a_next, yt_pred, cache", "return yt_pred, a_next, cache"),
    ("wrong_return_order", "lstm_forward", "return a, y, c, caches", "return a, c, y, caches"),
    ("wrong_arity", "rnn_cell_forward", "return a_next, yt_pred, cache", "return a_next, cache"),
    ("wrong_arity", "lstm_forward", "return a, y, c, caches", "return a, y, caches"),
    ("gate_swap", "lstm_cell_forward", "ft = sigmoid(Wf @ concat + bf)\n    it = sigmoid(Wi @ concat + bi)",
     "ft = sigmoid(Wi @ concat + bi)\n    it = sigmoid(Wf @ concat + bf)"),
    ("gate_swap", "lstm_cell_backward", "dWf = dft @ concat.T\n    dWi = dit @ concat.T",
     "dWf = dit @ concat.T\n    dWi = dft @ concat.T"),
    ("T_from_x", "rnn_backward", "n_a, m, T_x = da.shape", "n_a, m, _ = da.shape\n    T_x = x.shape[2]"),
    ("T_from_x", "lstm_backward", "n_a, m, T_x = da.shape", "n_a, m, _ = da.shape\n    T_x = x.shape[2]"),
    ("tanh_derivative", "rnn_cell_backward", "(1 - a_next ** 2)", "(1 - a_next)"),
    ("missing_recurrent_gradient", "rnn_backward", "da[:, :, t] + da_prevt", "da[:, :, t]"),
    ("concat_order", "lstm_cell_forward", "np.concatenate((a_prev, xt), axis=0)",
     "np.concatenate((xt, a_prev), axis=0)"),
    ("dc_prev_gate", "lstm_cell_backward", "dc_prev = ds * ft", "dc_prev = ds * it"),
]

# Failing-cell and hostile kinds as cycles: a cycle of 100 failing slots covers 1,000
# students (10%), one of 50 hostile slots also covers 1,000 (5%). Each infinite loop
# appears once per cycle, i.e. once per 1,000 students (0.1% + 0.1%).
FAILING_CYCLE = ([("toplevel_infinite_loop", 1), ("syntax_error", 26), ("name_error_test", 14),
                  ("name_error_function", 14), ("missing_function", 14), ("unfinished_function", 11),
                  ("magic", 10), ("import_error", 10)])
HOSTILE_CYCLE = ([("unit_infinite_loop", 1), ("huge_alloc_toplevel", 9), ("huge_alloc_unit", 8),
                  ("sys_exit_toplevel", 8), ("os_exit_toplevel", 8), ("print_megabytes", 8),
                  ("print_megabytes_unit", 8)])
BLOCK = ["correct"] * 12 + ["buggy"] * 5 + ["failing"] * 2 + ["hostile"]
INFINITE = {"toplevel_infinite_loop", "unit_infinite_loop"}

RENAMES = {  # local names students commonly call something else; none collides with another
    "a_next": "a_nxt", "yt_pred": "y_hat_t", "dz": "dtanh", "concat": "concat_ax", "grads_t": "gradients_t",
    "da_prevt": "da_prev_t", "dc_prevt": "dc_prev_t", "tanh_c": "tanh_cn", "y_pred": "y_hat", "caches": "cache_list",
    "cct": "c_tilde", "ds": "dstate",
}


def split_solution(text: str | None = None) -> dict[str, str]:
    """The reference solution without its preamble, one source text per function."""
    text = SOLUTION.read_text() if text is None else text
    body = text.split("\n", 2)[2]
    lines = body.splitlines(keepends=True)
    out = {}
    for node in ast.parse(body).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = "".join(lines[node.lineno - 1: node.end_lineno]).rstrip() + "\n"
    assert list(out) == FUNCTIONS, list(out)
    return out


# ----------------------------------------------------------------------- variations

def rename_locals(source: str, renames: dict) -> str:
    """Rename NAME tokens (not attributes, strings or comments)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    out = []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string in renames:
            # none of these names is ever a keyword argument; skip attributes
            if not (i and tokens[i - 1].string == "."):
                tok = tok._replace(string=renames[tok.string])
        out.append(tok)
    return tokenize.untokenize(out)


_OPERAND = r"[A-Za-z_][\w]*(?:\[[^\]]*\])?(?:\.T)?"
_MATMUL = re.compile(rf"({_OPERAND}) @ ({_OPERAND})")


def use_np_dot(source: str) -> str:
    return _MATMUL.sub(r"np.dot(\1, \2)", source)


def strip_docstring(source: str) -> str:
    return re.sub(r'\n    """.*?"""\n', "\n", source, count=1, flags=re.S)


def strip_comments(source: str) -> str:
    return "".join(line for line in source.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def code_here_markers(source: str) -> str:
    """The published template's START/END CODE HERE comments around the body."""
    lines = source.splitlines(keepends=True)
    doc_end = 1
    if '"""' in lines[1]:
        doc_end = next(i for i in range(2, len(lines)) if '"""' in lines[i]) + 1
    ret = max(i for i, line in enumerate(lines) if line.lstrip().startswith("return "))
    n = ret - doc_end
    return "".join(lines[:doc_end] + [f"    ### START CODE HERE ### (approx. {n} lines)\n"] + lines[doc_end:ret]
                   + ["    ### END CODE HERE ###\n", "\n"] + lines[ret:])


def two_space_indent(source: str) -> str:
    return re.sub(r"(?m)^((?:    )+)", lambda m: "  " * (len(m.group(1)) // 4), source)


def debug_print(source: str, rng: random.Random) -> str:
    """A leftover print of an intermediate shape just before the return."""
    lines = source.splitlines(keepends=True)
    ret = max(i for i, line in enumerate(lines) if line.lstrip().startswith("return "))
    indent = lines[ret][: len(lines[ret]) - len(lines[ret].lstrip())]
    names = re.findall(r"^\s+(\w+) = (?:np\.zeros|np\.tanh|sigmoid|softmax|\w+ @ )", "".join(lines[:ret]), flags=re.M)
    if not names:
        return source
    name = rng.choice(sorted(set(names)))
    text = f'{indent}print("{name}.shape =", {name}.shape)\n'
    return "".join(lines[:ret] + [text] + lines[ret:])


def superficial(functions: dict, rng: random.Random, kinds: list) -> dict:
    out = {}
    for name, src in functions.items():
        if rng.random() < 0.4:
            renames = {k: v for k, v in RENAMES.items() if rng.random() < 0.7}
            src = rename_locals(src, renames)
            kinds.append(f"renamed:{name}")
        out[name] = src
    style = rng.random()
    whole = {}
    for name, src in out.items():
        if style < 0.35:
            src = use_np_dot(src)
        if rng.random() < 0.3:
            src = strip_docstring(src)
        if rng.random() < 0.25:
            src = strip_comments(src)
        if rng.random() < 0.4:
            src = code_here_markers(src)
        if rng.random() < 0.08:
            src = debug_print(src, rng)
            kinds.append(f"debug_print:{name}")
        whole[name] = src
    if style < 0.35:
        kinds.append("np.dot")
    if rng.random() < 0.1:
        whole = {n: two_space_indent(s) for n, s in whole.items()}
        kinds.append("two_space_indent")
    return whole


# ----------------------------------------------------------------------- one student

class Draft:
    """A student notebook being written: ordered (kind, source) cells, kind in
    markdown / preamble / function:<name> / test:<name> / extra."""

    def __init__(self, functions: dict):
        self.cells = [("markdown", "# Building your Recurrent Neural Network - Step by Step\n\n"
                                   "Welcome to Course 5's first assignment!"),
                      ("markdown", "## 0 - Packages"), ("preamble", PREAMBLE_CELL)]
        for name in FUNCTIONS:
            self.cells.append(("markdown", f"### {TITLES[name]}\n\nImplement `{name}`."))
            self.cells.append((f"function:{name}", functions[name]))
            self.cells.append((f"test:{name}", TEST_CELLS[name]))

    def index(self, kind: str) -> int:
        return next(i for i, (k, _) in enumerate(self.cells) if k == kind)

    def get(self, kind: str) -> str:
        return self.cells[self.index(kind)][1]

    def set(self, kind: str, source: str) -> None:
        self.cells[self.index(kind)] = (kind, source)

    def insert_after(self, kind: str, source: str, new_kind: str = "extra") -> None:
        self.cells.insert(self.index(kind) + 1, (new_kind, source))

    def remove(self, kind: str) -> None:
        del self.cells[self.index(kind)]


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def apply_bugs(functions: dict, rng: random.Random, kinds: list, only: list | None = None) -> dict:
    """One or two classic bugs in different functions (or exactly the `only` ones, given
    as (kind, function) pairs)."""
    functions = dict(functions)
    count = 1 if rng.random() < 0.7 else 2
    candidates = rng.sample(BUGS, len(BUGS))
    if only is not None:
        candidates = [b for b in BUGS if (b[0], b[1]) in {tuple(o) for o in only}]
        count = len(candidates)
    used = set()
    for bug in candidates:
        kind, fn, old, new = bug
        if fn in used or old not in functions[fn]:
            continue
        functions[fn] = _replace_once(functions[fn], old, new)
        used.add(fn)
        kinds.append(f"{kind}:{fn}")
        if len(used) == count:
            break
    return functions


def pre_edits(functions: dict, kind: str, rng: random.Random, kinds: list) -> dict:
    """Failing and hostile changes made to a function's text, before the superficial
    variations (which keep them working: renames are consistent)."""
    functions = dict(functions)
    if kind == "name_error_function":  # a line deleted: the function reads an undefined name
        fn, line = rng.choice([("rnn_cell_backward", '    Wax = parameters["Wax"]\n'),
                               ("rnn_cell_forward", '    by = parameters["by"]\n'),
                               ("lstm_cell_backward", "    n_a = a_next.shape[0]\n"),
                               ("rnn_backward", "    n_x = x1.shape[0]\n")])
        functions[fn] = _replace_once(functions[fn], line, "")
        kinds.append(f"name_error_function:{fn}")
    elif kind == "unit_infinite_loop":  # the classic while loop whose counter is never decremented
        functions["rnn_backward"] = _replace_once(functions["rnn_backward"], "    for t in reversed(range(T_x)):\n",
                                                  "    t = T_x - 1\n    while t >= 0:\n")
    elif kind == "huge_alloc_unit":
        functions["lstm_forward"] = _replace_once(
            functions["lstm_forward"], "    a = np.zeros((n_a, m, T_x))\n",
            "    a = np.zeros((n_a, m, T_x))\n    history = np.zeros((n_a, m, T_x, 10 ** 8))\n")
    elif kind == "print_megabytes_unit":
        functions["rnn_cell_forward"] = _replace_once(
            functions["rnn_cell_forward"], "\n    return ", '\n    print("debug", a_next, yt_pred, "#" * 1_000_000)\n    return ')
    return functions


def apply_failing(draft: Draft, kind: str, rng: random.Random, kinds: list) -> None:
    if kind == "syntax_error":
        fn = rng.choice(FUNCTIONS)
        src = draft.get(f"function:{fn}")
        how = rng.choice(["colon", "paren", "python2_print"])
        if how == "colon":
            src = re.sub(r"\):\n", ")\n", src, count=1)                 # def line without its colon
        elif how == "paren":
            line = next(l for l in src.splitlines() if l.rstrip().endswith(")") and " = " in l)
            src = src.replace(line, line.rstrip()[:-1], 1)               # an unclosed parenthesis
        else:
            src = re.sub(r"\n(\s+)return ", r'\n\1print "done"\n\1return ', src, count=1)
        draft.set(f"function:{fn}", src)
        kinds.append(f"syntax_error({how}):{fn}")
    elif kind == "name_error_test":
        fn = rng.choice(FUNCTIONS)
        draft.set(f"test:{fn}", draft.get(f"test:{fn}") + "\nprint(gradient_tmp)\n")  # typo of a _tmp name
        kinds.append(f"name_error_test:{fn}")
    elif kind == "missing_function":
        fn = rng.choice(FUNCTIONS[3:] + ["lstm_backward", "lstm_cell_backward"])
        draft.remove(f"function:{fn}")
        kinds.append(f"missing_function:{fn}")
    elif kind == "unfinished_function":
        fn = rng.choice(["lstm_backward", "lstm_cell_backward", "rnn_backward"])
        src = draft.get(f"function:{fn}")
        head = src.split('"""', 2)
        stub = (head[0] + '"""' + head[1] + '"""\n' if len(head) == 3 else src.splitlines()[0] + "\n")
        draft.set(f"function:{fn}", stub + "    # YOUR CODE HERE\n    raise NotImplementedError()\n")
        kinds.append(f"unfinished_function:{fn}")
    elif kind == "magic":
        magic = rng.choice(["%matplotlib inline", "%load_ext autoreload\n%autoreload 2", "!pip install numpy",
                            "%%time\n" + draft.get("test:rnn_forward")])
        if magic.startswith("%%time"):
            draft.set("test:rnn_forward", magic)
        else:
            draft.insert_after("preamble", magic)
        kinds.append("magic")
    elif kind == "import_error":
        draft.set("preamble", PREAMBLE_CELL + "\nfrom public_tests import *\nfrom test_utils import summary, comparator")
        kinds.append("import_error")
    elif kind == "name_error_function":
        pass  # edited in the function text (pre_edits)
    elif kind == "toplevel_infinite_loop":
        draft.insert_after("test:rnn_backward", "# train a little\nstep = 0\nwhile True:\n    step += 1\n")
        kinds.append("toplevel_infinite_loop")
    else:
        raise ValueError(kind)


def apply_hostile(draft: Draft, kind: str, rng: random.Random, kinds: list) -> None:
    if kind == "unit_infinite_loop":  # the function was edited in pre_edits; its test is too slow
        draft.set("test:rnn_backward", "# too slow, skipped\n# " + draft.get("test:rnn_backward").replace("\n", "\n# "))
    elif kind == "huge_alloc_toplevel":
        draft.insert_after("test:rnn_forward", "big = np.ones((200000, 200000))\nprint(big.nbytes)")
    elif kind in ("huge_alloc_unit", "print_megabytes_unit"):
        pass  # edited in the function text (pre_edits)
    elif kind == "sys_exit_toplevel":
        draft.insert_after("test:rnn_cell_backward", "import sys\nsys.exit('stop here')")
    elif kind == "os_exit_toplevel":
        draft.insert_after("test:lstm_forward", "import os\nos._exit(0)")
    elif kind == "print_megabytes":
        draft.insert_after("test:lstm_cell_forward", "print('#' * 5_000_000)\nfor i in range(100000):\n    print(i, end=' ')")
    else:
        raise ValueError(kind)
    kinds.append(kind)


def _cycle(spec: list, rng: random.Random) -> list:
    items = [k for k, n in spec for _ in range(n)]
    rng.shuffle(items)
    return items


def plan(n: int, seed: int = 0) -> list[dict]:
    """Category and kinds of each student (without the text)."""
    rng = random.Random(f"plan-{seed}")
    categories = []
    while len(categories) < n:
        block = list(BLOCK)
        rng.shuffle(block)
        categories.extend(block)
    failing, hostile = [], []
    out = []
    for i, category in enumerate(categories[:n]):
        entry = {"student": f"s{i:04d}", "category": category}
        if category == "failing":
            if not failing:
                failing = _cycle(FAILING_CYCLE, rng)
            entry["kind"] = failing.pop()
        elif category == "hostile":
            if not hostile:
                hostile = _cycle(HOSTILE_CYCLE, rng)
            entry["kind"] = hostile.pop()
        out.append(entry)
    return out


def _cell_id(student: str, index: int) -> str:
    return hashlib.sha1(f"{student}/{index}".encode()).hexdigest()[:12]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def to_notebook(student: str, cells: list, outputs: dict | None = None) -> dict:
    nb_cells = []
    count = 0
    for index, (kind, source) in enumerate(cells):
        cid = _cell_id(student, index)
        if kind == "markdown":
            nb_cells.append({"cell_type": "markdown", "id": cid, "metadata": {}, "source": _lines(source)})
            continue
        count += 1
        cell_outputs = []
        if outputs and kind in outputs:
            cell_outputs = [{"name": "stdout", "output_type": "stream", "text": _lines(outputs[kind])}]
        nb_cells.append({"cell_type": "code", "execution_count": count, "id": cid, "metadata": {},
                         "outputs": cell_outputs, "source": _lines(source)})
    return {"cells": nb_cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                          "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                          "pygments_lexer": "ipython3", "version": "3.11.7"}},
        "nbformat": 4, "nbformat_minor": 5}


def dumps(nb: dict) -> str:
    """The text nbformat itself writes (sorted keys, one-space indent)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


_OUTPUTS: dict | None = None


def reference_outputs() -> dict:
    """What the reference prints in each test cell, once: correct notebooks carry it as
    saved output, as a notebook that was run before submission does."""
    global _OUTPUTS
    if _OUTPUTS is None:
        import contextlib
        import sys
        import types

        rnn_utils = ROOT / "reference" / "rnn_step_by_step" / "rnn_utils.py"
        module = types.ModuleType("rnn_utils")
        exec(compile(rnn_utils.read_text(), str(rnn_utils), "exec"), module.__dict__)
        saved = sys.modules.get("rnn_utils")
        sys.modules["rnn_utils"] = module
        try:
            ns: dict = {}
            exec(PREAMBLE_CELL, ns)
            for src in split_solution().values():
                exec(src, ns)
            _OUTPUTS = {}
            for name in FUNCTIONS:
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    exec(TEST_CELLS[name], ns)
                _OUTPUTS[f"test:{name}"] = buf.getvalue()
        finally:
            if saved is None:
                sys.modules.pop("rnn_utils", None)
            else:
                sys.modules["rnn_utils"] = saved
    return _OUTPUTS


# What students add to a finished notebook (--student-style): more prints, a look at
# shapes, and a training cell that runs the forward and backward passes many times.
TRAINING_CELL = """# train the LSTM a little to see the loss go down
np.random.seed(2)
x_train = np.random.randn(3, 10, 7)
a0_train = np.random.randn(5, 10)
params_train = {k: v.copy() for k, v in parameters_tmp.items()}
losses = []
for step in range(STEPS):
    a_tr, y_tr, c_tr, caches_tr = lstm_forward(x_train, a0_train, params_train)
    grads_tr = lstm_backward(a_tr - 0.5, caches_tr)
    for name in ("Wf", "Wi", "Wc", "Wo"):
        params_train[name] -= 0.001 * grads_tr["d" + name]
    losses.append(float(np.mean((a_tr - 0.5) ** 2)))
    if step % 100 == 0:
        print("step", step, "loss", losses[-1])
print("final loss", losses[-1])"""
EXTRA_PRINTS = ['print("parameters:", sorted(parameters_tmp))', 'print(a_tmp.shape, y_tmp.shape)',
                'for k, v in gradients_tmp.items():\n    print(k, v.shape)']


def student_style(draft: "Draft", rng: random.Random, kinds: list, steps: int) -> None:
    for text in EXTRA_PRINTS:
        draft.insert_after(f"test:{rng.choice(FUNCTIONS[4:])}", text)
    draft.insert_after("test:lstm_backward", TRAINING_CELL.replace("STEPS", str(steps)))
    kinds.append("training_cell")


def make_student(entry: dict, seed: int = 0, functions: dict | None = None, style: bool = False,
                 steps: int = 1000) -> tuple[dict, list]:
    """(notebook dict, kinds) for one planned student: an entry of plan(), or one made by
    hand such as {"student": "x", "category": "buggy", "bugs": [("transposed_weight",
    "rnn_cell_forward")]} or {"student": "y", "category": "hostile", "kind": "os_exit_toplevel"}."""
    rng = random.Random(f"{seed}-{entry['student']}")
    functions = split_solution() if functions is None else functions
    kinds: list = []
    category = entry["category"]
    if category == "buggy":
        functions = apply_bugs(functions, rng, kinds, entry.get("bugs"))
    functions = pre_edits(functions, entry.get("kind", ""), rng, kinds)
    if category == "correct" or rng.random() < 0.5:
        functions = superficial(functions, rng, kinds)
    draft = Draft(functions)
    if category == "failing":
        apply_failing(draft, entry["kind"], rng, kinds)
    elif category == "hostile":
        apply_hostile(draft, entry["kind"], rng, kinds)
    if rng.random() < 0.15:  # a scratch cell or two
        draft.insert_after(f"test:{rng.choice(FUNCTIONS)}", rng.choice(
            ["print(np.__version__)", "sorted(parameters_tmp.keys())", "np.random.seed(0)\nprint(np.random.randn(2, 2))",
             "# scratch\nfor k in range(3):\n    print(k)"]))
        kinds.append("scratch_cell")
    if style:
        student_style(draft, rng, kinds, steps)
    outputs = reference_outputs() if category == "correct" else None
    return to_notebook(entry["student"], draft.cells, outputs), kinds


def generate(out_dir: str | Path, n: int = 1000, seed: int = 0, student_style: bool = False,
             steps: int = 1000) -> list[dict]:
    """Write n notebooks into out_dir (flat layout) and the manifest next to the folder.
    `student_style`: each notebook also has extra prints and a training cell of `steps`
    iterations of lstm_forward and lstm_backward, as notebooks written by students do."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    functions = split_solution()
    manifest = []
    for entry in plan(n, seed):
        nb, kinds = make_student(entry, seed, functions, student_style, steps)
        (out_dir / f"{entry['student']}.ipynb").write_text(dumps(nb))
        manifest.append(dict(entry, kinds=kinds, infinite=entry.get("kind") in INFINITE))
    manifest_path(out_dir).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def manifest_path(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.manifest.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--student-style", action="store_true",
                        help="extra prints and a training cell in every notebook")
    parser.add_argument("--steps", type=int, default=1000, help="iterations of the training cell")
    args = parser.parse_args()
    manifest = generate(args.out_dir, args.n, args.seed, args.student_style, args.steps)
    counts: dict = {}
    for m in manifest:
        counts[m["category"]] = counts.get(m["category"], 0) + 1
    print(f"wrote {len(manifest)} notebooks to {args.out_dir}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; manifest {manifest_path(args.out_dir)}")


if __name__ == "__main__":
    main()
