"""Live code: the learner edits the page's own Python, presses Apply, and the explainer runs the new maths.

Pure core, no js/pyodide/pyscript: the page and the CPython tests share it. Edited code is unfinished work,
so every run of it is counted line by line (sys.settrace) and stopped with a message instead of freezing the
page's only thread, and every result is checked before the page draws it.
"""

import importlib
import math
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

# Apply checks each function on a few inputs and may take a moment; the page then calls it every frame.
APPLY_STEPS = 200_000
APPLY_SECONDS = 0.5
CALL_STEPS = 20_000
CALL_SECONDS = 0.2
MESSAGE_CHARS = 200


class Numbers(NamedTuple):
    """A result the page draws: a list of `count` finite numbers."""

    count: int
    positive: bool = False  # σ is a scale: zero or negative makes the curves and the sample meaningless


class Index(NamedTuple):
    """A result that picks one of `count` things: an int from 0 to count − 1."""

    count: int


class Rows(NamedTuple):
    """A grid of vectors: `count` lists of `length` finite numbers each."""

    count: int
    length: int


class Weight(NamedTuple):
    """A result that weighs a loss term, such as β: one finite number, zero or more."""

    name: str  # the term's weight as the message names it


class Indices(NamedTuple):
    """A list of `count` ints, each from 0 to limit − 1: which items to take, in order."""

    count: int
    limit: int


class Swappable(NamedTuple):
    """Where a function the learner may rewrite lives, the inputs a rewrite must survive to be used, and what it must
    return for given inputs (Numbers, Index, Rows, Weight or Indices), worked out from the page's own arguments."""

    module: str
    samples: tuple[tuple, ...]
    returns: Callable


# A small codebook for the quantiser's checks: 4 codes of 3 numbers. (0.5, 0, −0.5) is as near code 0 as code 1,
# a tie that the argmin breaks towards the first; (200, −300, 1000) is far from every code.
CODES = ((0.0, 0.0, 0.0), (1.0, 0.0, -1.0), (-1.0, 0.0, 1.0), (0.5, 2.0, 0.5))

SWAPPABLE = {
    "sigma_from_log_var": Swappable(
        "vae.distribution",
        samples=(((0.0, 0.0),), ((-3.0, 2.5),), ((8.0, -8.0),)),
        returns=lambda log_var: Numbers(len(log_var), positive=True),
    ),
    "reparameterize": Swappable(
        "vae.sample",
        samples=(
            ((0.0, 0.0), (1.0, 1.0), (0.5, -0.5)),
            ((-2.5, 3.0), (0.1, 4.0), (-1.7, 2.2)),
            ((40.0, -40.0), (20.0, 0.01), (3.0, -3.0)),
        ),
        returns=lambda mu, sigma, epsilon: Numbers(len(mu)),
    ),
    "kl_divergence": Swappable(
        "vae.loss",
        samples=(((0.0, 0.0), (0.0, 0.0)), ((-2.5, 3.0), (-3.0, 2.5)), ((4.0, -4.0), (8.0, -8.0))),
        returns=lambda mu, log_var: Numbers(len(mu)),
    ),
    "squared_distances": Swappable(
        "vq.quantizer",
        samples=(
            ((1.0, 0.0, -1.0), CODES),
            ((0.5, 0.0, -0.5), CODES),
            ((200.0, -300.0, 1000.0), CODES),
            ((2.0, -1.0, 0.5), CODES[:1]),
        ),
        returns=lambda vector, codebook: Numbers(len(codebook)),
    ),
    "nearest_code": Swappable(
        "vq.quantizer",  # the distances of the vectors above: one nearest, a tie, a far vector, a single code
        samples=(
            ([2.0, 0.0, 8.0, 6.5],),
            ([0.5, 0.5, 4.5, 5.0],),
            ([1_130_000.0, 1_131_602.0, 1_128_402.0, 1_130_004.5],),
            ([5.25],),
        ),
        returns=lambda distances: Index(len(distances)),
    ),
    "lookup": Swappable(
        "vq.quantizer",
        samples=(([0, 1, 1, 3, 2], CODES), ([0], CODES[:1])),
        returns=lambda indices, codebook: Rows(len(indices), len(codebook[0])),
    ),
    # Training: β at a step (1 for the first), an epoch's order of the digits, a step's ε.
    "beta_at": Swappable("train.schedule", ((1, 1.0), (50, 0.5), (100_000, 4.0), (1, 0.0)), lambda s, b: Weight("β")),
    "epoch_order": Swappable("train.schedule", ((0, 0, 10), (7, 3, 1000)), lambda s, e, n: Indices(n, n)),
    "epsilon": Swappable("train.schedule", ((0, 1, 128), (7, 500, 6)), lambda seed, step, count: Numbers(count)),
}
MODULES = tuple(dict.fromkeys(swappable.module for swappable in SWAPPABLE.values()))  # the ones a learner edits
# Links and saved edits made before pysrc/ had one package per story name a module without its package.
_UNPACKAGED = {module.rpartition(".")[2]: module for module in MODULES}


def module_key(name):
    """The editable module a saved edit or a link names, by its full name or its name before the packages."""
    return _UNPACKAGED.get(name, name)


def module_file(module_name):
    """A module's file under pysrc/, the name a learner sees: vq.quantizer is vq/quantizer.py."""
    return module_name.replace(".", "/") + ".py"


class EditError(Exception):
    """Why edited code cannot run, in words for the learner, with the line to mark in the editor."""

    def __init__(self, message, line=None, function=None, module=None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.function = function
        self.module = module


class _OutOfBudget(BaseException):
    """Stops the edited code; a BaseException so that a learner's `except Exception` cannot swallow it."""


@dataclass(frozen=True)
class Applied:
    """A module's source that passed every check, and its swappable functions, ready to swap in together."""

    module: str
    source: str
    functions: dict[str, Callable]
    edited: bool = True


def _shipped(name):
    """The function as the page ships it."""
    return getattr(importlib.import_module(SWAPPABLE[name].module), name)


def original_source(module_name):
    """The shipped text of a module, for the editor to start from and to tell an unchanged edit apart."""
    return Path(importlib.import_module(module_name).__file__).read_text(encoding="utf-8")


class _Budget:
    """Runs a callable while counting the lines the edited code executes; stops it when it runs too long."""

    def __init__(self, filename, steps, seconds):
        self.filename = filename
        self.steps = steps
        self.seconds = seconds
        self.used = 0
        self.line = None  # the edited line running when stopped
        self.return_line = None  # the line the edited code returned from, to point at a bad result
        self.exceeded = None

    def run(self, fn, *args):
        deadline = time.perf_counter() + self.seconds

        def on_call(frame, event, arg):
            return on_line if frame.f_code.co_filename == self.filename else None

        def on_line(frame, event, arg):
            if event == "line":
                self.used += 1
                self.line = frame.f_lineno
                if self.used > self.steps:
                    self.exceeded = f"{self.steps:,} steps"
                elif time.perf_counter() > deadline:
                    self.exceeded = f"{self.seconds:g} s"
                if self.exceeded:
                    raise _OutOfBudget
            elif event == "return":
                self.return_line = frame.f_lineno
            return on_line

        previous = sys.gettrace()
        sys.settrace(on_call)
        try:
            result = fn(*args)
        finally:
            sys.settrace(previous)
        if self.exceeded:  # a bare `except:` in the edited code caught the stop, and tracing ended with it
            raise _OutOfBudget
        return result


def _run(fn, args, filename, steps, seconds, function=None, module=None):
    """(fn(*args), the line it returned from) under a budget; any failure becomes an EditError at its line."""
    budget = _Budget(filename, steps, seconds)
    try:
        return budget.run(fn, *args), budget.return_line
    except _OutOfBudget:
        who = function or "the module's top-level code"
        stopped = f"(an endless loop?) — stopped at line {budget.line}"
        message = f"{who} ran for more than {budget.exceeded} {stopped}"
        raise EditError(message, budget.line, function, module) from None
    except (Exception, SystemExit) as error:
        line = _edited_line(error, filename) or _def_line(fn, filename)
        where = f" on line {line}" if line else ""
        text = _exception_text(error, filename)
        said = f": {text}" if text else ""
        raised = f"{function} raised " if function else ""
        raise EditError(f"{raised}{type(error).__name__}{where}{said}", line, function, module) from None


def _edited_line(error, filename):
    """The line of the innermost traceback frame in the edited source: where the learner's code went wrong."""
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _def_line(fn, filename):
    """The `def` line of an edited function, for errors raised before its body runs (a changed signature)."""
    if type(fn) is not types.FunctionType or fn.__code__.co_filename != filename:
        return None
    return fn.__code__.co_firstlineno


def _exception_text(error, filename):
    """str(error), counted too: a learner's exception may carry a __str__ of their own that never ends."""
    try:
        text = _Budget(filename, 1_000, 0.05).run(str, error)
    except (Exception, SystemExit, _OutOfBudget):
        return ""
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…"


def _a(value):
    """How a message names a wrong value: None and booleans as themselves, anything else by its type."""
    if value is None or type(value) is bool:
        return repr(value)
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _checked(result, line, expected, function, module):
    """The result in a fresh form the page can use (floats, lists of floats, an int), or an EditError saying what is
    wrong with it. `expected` is what the function must return for the arguments it was given."""
    at = f" (line {line})" if line else ""

    def fail(problem):
        raise EditError(f"{function} returned {problem}", line, function, module)

    # Exact types only: a subclass could run the learner's code (__len__, __float__, __index__) outside the budget.
    if type(expected) is Weight:
        return _weight(result, expected.name, at, fail)
    if type(expected) is Indices:
        return _indices(result, expected.count, expected.limit - 1, at, fail)
    if type(expected) is Index:
        last = expected.count - 1
        if type(result) is not int:
            fail(f"{_a(result)}{at}, expected an int from 0 to {last} (an index, not a value)")
        if not 0 <= result <= last:
            shown = str(result) if abs(result) < 10**15 else "an int far out of range"
            fail(f"{shown}{at}, expected an int from 0 to {last}")
        return result
    if type(expected) is Rows:
        if type(result) not in (list, tuple):
            fail(f"{_a(result)}{at}, expected a list of {expected.count} lists of {expected.length} numbers")
        if len(result) != expected.count:
            fail(f"{len(result)} row{'' if len(result) == 1 else 's'}{at}, expected {expected.count}")
        return [_numbers(row, expected.length, False, at, fail, row=i) for i, row in enumerate(result)]
    return _numbers(result, expected.count, expected.positive, at, fail)


def _numbers(result, count, positive, at, fail, row=None):
    """A list of `count` finite numbers as fresh floats; `row` names it within a grid."""
    in_row, of_row = ("", "") if row is None else (f" in row {row}", f" of row {row}")
    if type(result) not in (list, tuple):
        fail(f"{_a(result)}{in_row}{at}, expected a list of {count} numbers")
    if len(result) != count:
        fail(f"{len(result)} value{'' if len(result) == 1 else 's'}{in_row}{at}, expected {count}")
    numbers = []
    for position, value in enumerate(result):
        if type(value) not in (int, float):
            fail(f"{_a(value)} in position {position}{of_row}{at}, expected a number")
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float
            number = math.inf if value > 0 else -math.inf
        if not math.isfinite(number):
            fail(f"{number!r} in position {position}{of_row}{at} — results must be finite numbers")
        if positive and number <= 0:
            fail(f"{number!r} in position {position}{at}; σ must be positive")
        numbers.append(number)
    return numbers


def _weight(result, name, at, fail):
    """One finite number, zero or more, as a float."""
    if type(result) not in (int, float):
        fail(f"{_a(result)}{at}, expected a number ({name})")
    number = float(result) if type(result) is float or abs(result) < 2**1000 else math.copysign(math.inf, result)
    if not (math.isfinite(number) and number >= 0):
        fail(f"{number!r}{at}; {name} must be a finite number, zero or more")
    return number


def _indices(result, count, last, at, fail):
    """A list of `count` ints from 0 to `last`, as a fresh list."""
    if type(result) not in (list, tuple):
        fail(f"{_a(result)}{at}, expected a list of {count} ints from 0 to {last}")
    if len(result) != count:
        fail(f"{len(result)} value{'' if len(result) == 1 else 's'}{at}, expected {count}")
    for position, value in enumerate(result):
        if type(value) is not int or not 0 <= value <= last:
            shown = str(value) if type(value) is int and abs(value) < 10**15 else _a(value)
            fail(f"{shown} in position {position}{at}, expected an int from 0 to {last}")
    return list(result)


class _Guarded:
    """An edited function as the page calls it: counted, checked, never handing back what it can't use."""

    def __init__(self, name, fn, filename, module):
        self.__name__ = self.__qualname__ = name
        self.fn = fn
        self.filename = filename
        self.module = module
        self.returns = SWAPPABLE[name].returns

    def __call__(self, *args):
        return self.run(args, CALL_STEPS, CALL_SECONDS)

    def run(self, args, steps, seconds):
        expected = self.returns(*args)  # from the page's arguments, before the edit can touch them
        # Copies, so an edit that changes mu in place cannot change the page's own state.
        args = [list(arg) if isinstance(arg, (list, tuple)) else arg for arg in args]
        result, line = _run(self.fn, args, self.filename, steps, seconds, self.__name__, self.module)
        return _checked(result, line, expected, self.__name__, self.module)


def _compile(source, filename, module):
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or None
        where = f" on line {line}" if line else ""
        raise EditError(f"{type(error).__name__}{where}: {error.msg}", line, None, module) from None
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes (3.11), absurdly deep nesting
        raise EditError(f"the code cannot be compiled: {error}", None, None, module) from None


def _names(module):
    """The swappable functions a module defines."""
    return [name for name, swappable in SWAPPABLE.items() if swappable.module == module]


def apply_module(module_name, source, original_source=None):
    """Run an edited module and check its swappable functions; an EditError says what to fix and where.

    An edit identical to original_source (up to trailing whitespace) gives back the shipped functions,
    which then run directly, uncounted.
    """
    names = _names(module_name)
    if not names:
        raise ValueError(f"{module_name!r} has no functions a learner can swap")
    if original_source is not None and source.rstrip() == original_source.rstrip():
        return Applied(module_name, source, {name: _shipped(name) for name in names}, edited=False)
    filename = f"<edited {module_file(module_name)}>"
    code = _compile(source, filename, module_name)
    namespace = {"__name__": module_name}  # exec adds the normal __builtins__
    _run(exec, (code, namespace), filename, APPLY_STEPS, APPLY_SECONDS, module=module_name)
    functions = {}
    for name in names:
        if name not in namespace:
            raise EditError(f"the module no longer defines {name}", None, name, module_name)
        fn = namespace[name]
        if not callable(fn):
            message = f"{name} is no longer a function: the module sets it to {_a(fn)}"
            raise EditError(message, None, name, module_name)
        guarded = _Guarded(name, fn, filename, module_name)
        for args in SWAPPABLE[name].samples:
            guarded.run(args, APPLY_STEPS, APPLY_SECONDS)
        functions[name] = guarded
    return Applied(module_name, source, functions)


class Registry:
    """What the page calls for each swappable name: the shipped function, or the learner's last good edit.

    Modules in `later` belong to a view that loads on demand: the page does not import them until load(). Until
    then an edit to them is checked and runs all the same, only not compared with the shipped text.
    """

    def __init__(self, later=()):
        self.original_sources = {}  # module → its shipped text, once loaded
        self._originals = {}
        self._current = {}
        self._good = {module: [] for module in MODULES}  # each module's accepted edits, newest last
        self.last_error = None
        for module in MODULES:
            if module not in later:
                self.load(module)

    def load(self, module):
        """Take in a module's shipped code, once the page has imported it (again: nothing changes)."""
        if module not in self.original_sources:
            self.original_sources[module] = original_source(module)
            self._originals.update({name: _shipped(name) for name in _names(module)})
            self._install(module)

    def __getattr__(self, name):
        if name in SWAPPABLE:
            return partial(self.call, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def function(self, name):
        """The callable now behind a name, without the fall-back that call() adds."""
        return self._current[name]

    def call(self, name, *args):
        """The current function's result; an edit that fails here is dropped for the one before it."""
        module = SWAPPABLE[name].module
        first_failure = True
        while True:
            try:
                return self._current[name](*args)
            except EditError as error:  # only edited functions raise it, so this module has an edit to drop
                if first_failure:  # the learner's newest code is the one to explain, not older fall-backs
                    self.last_error = error
                    first_failure = False
                self._good[module].pop()
                self._install(module)

    def apply(self, module_name, source):
        """Swap in all the swappable functions of an edited module, or none: EditError changes nothing."""
        applied = apply_module(module_name, source, self.original_sources.get(module_name))
        good = self._good[module_name]
        if applied.edited:
            good.append(applied)
        else:
            good.clear()
        self._install(module_name)
        if self.last_error is not None and self.last_error.module == module_name:
            self.last_error = None
        return list(applied.functions)

    def reset(self, module_name=None):
        """Back to the shipped code, for one module or all."""
        for module in self._good if module_name is None else [module_name]:
            self._good[module].clear()
            self._install(module)
        if module_name is None or (self.last_error is not None and self.last_error.module == module_name):
            self.last_error = None

    @property
    def edited(self):
        """The modules running the learner's code, for the "edited code in use" marker."""
        return {module for module, good in self._good.items() if good}

    def sources(self):
        """{module: edited source} of what runs now, to persist and restore with apply()."""
        return {module: good[-1].source for module, good in self._good.items() if good}

    def _install(self, module):
        good = self._good[module]
        for name in _names(module):
            if good:
                self._current[name] = good[-1].functions[name]
            elif name in self._originals:
                self._current[name] = self._originals[name]
            else:  # reset before the page has loaded the module: nothing to call until it does
                self._current.pop(name, None)
