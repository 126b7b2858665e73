"""Backpropagation step by step, in plain numbers: the one model behind every view of it.

The terminal table (``tinygrad-edu graph EXPR --steps``, or ``print(backprop_steps(root))``),
the step-through page (``render(root, "backprop.html")``) and the notebook view
(``show_backprop(root)``) all show the steps that :func:`backprop_steps` returns:

- **forward**: every value of the graph, leaves first, then each op node after its operands,
  with its formula in numbers (``v1 = x1 * w1 = 2.0 * (-3.0) = -6.0``) and its local
  derivatives, d node / d operand (here dv1/dx1 = w1 = -3.0 and dv1/dw1 = x1 = 2.0);
- **backward**: the chain rule, node by node in the order ``backward()`` uses. The result's
  gradient with respect to itself is 1; then each node, once its own gradient is complete,
  passes it on to each operand (child)::

      child.grad += local × grad        e.g.  do/dx1 += (-3.0) × 0.5 = -1.5

  A value used more than once receives one contribution per use, and its gradient is their sum:
  dL/dx = Σ over the uses u of x of dL/du × du/dx.

The numbers are exactly ``backward()``'s: the same products and sums in the same order, so the
final gradients equal ``backward()``'s bit for bit, starting, as after ``zero_grad()``, from
every gradient at 0. Building the steps reads the graph and changes no Value.

Every value gets a name: its label, else its name in a Module (``params``), else an automatic
short name ``v1``, ``v2``, ... numbered in forward order, the same for the same graph. The
pictures (``draw_graph``), the steps and the page all use these names.

A graph of more than ``max_values`` values (STEPS_LIMIT by default) is refused with
:class:`GraphTooLargeError` after counting no further than the limit: its steps would be more
lines than anyone reads, and listing them takes time and memory in proportion (minutes and
gigabytes for a million values).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Union

from . import ops
from .engine import Value, interior_nodes_children_first
from .nn import Module
from .ops import term

Params = Union[Module, Iterable[Value], None]

# values past which backprop_steps (its table, the page) is refused unless asked for: a page of
# this many steps is a few megabytes, and a learner steps through a piece of a graph this size
STEPS_LIMIT = 10_000


class GraphTooLargeError(ValueError):
    """A graph too large to show whole in reasonable time and memory; the message names the
    limit and the way around it."""


# --- names and numbers as the steps write them --------------------------------------------------


def number(x: float, digits: int = 6) -> str:
    """A number as the steps write it: 6 significant digits, with a point or an exponent
    ("2.0", "-1.5", "0.707107", "1e-07"). The page and ``repr`` give the exact value."""
    text = f"{x + 0.0:.{digits}g}"  # + 0.0: no "-0"
    return text if "." in text or "e" in text else text + ".0"


def box_number(x: float) -> str:
    """A number as a value's box shows it (``data 2.0000``): four decimals, or four
    significant digits where decimals would hide the number."""
    x += 0.0  # no "-0.0000"
    return f"{x:.4f}" if x == 0.0 or 1e-4 <= abs(x) < 1e7 else f"{x:.4e}"


def factor(x: float) -> str:
    """A number as an operand in a formula: negative numbers in parentheses, ``(-3.0)``."""
    return term(number(x))


def formula(node: Value, operands: Sequence[str | float]) -> str:
    """node's op written out (:func:`ops.formula`) with ``operands[k]`` (a name, or a number)
    for its k-th child in operand order, and each constant and setting as its number::

        formula(x - 1, ["x"]) == "x - 1.0"           formula(2 / x, [-4.0]) == "2.0 / (-4.0)"
        formula(x.tanh(), ["x"]) == "tanh(x)"        formula(x ** 3, ["x"]) == "x ** 3.0"
        formula(x.leaky_relu(0.2), ["x"]) == "leaky_relu(x, slope=0.2)"
        formula(Value.dot([w1, w2], [x1, x2]), ["w1", "w2", "x1", "x2"])
            == "w1 * x1 + w2 * x2"
    """
    row, written, settings = _written(node, operands)
    return ops.formula(row, written, settings, number)


def rules_in_numbers(node: Value) -> tuple[str, ...]:
    """:func:`rules` with node's numbers put in, each written with the fewest digits (6 or
    more) that give the local derivative's own 6 digits again when a learner works the rule
    out by hand: ``1 - 0.707107² = 0.5``, but ``1 - (-0.999987711651)² = 2.45765e-05``,
    where 6 digits would give 2.4e-05."""
    children = [c.data for c in node.children]
    row, numbers, settings = _written(node, children)
    wanted = [number(g) for g in node.local_grads]
    positions = [k for k, a in enumerate(node.args[: len(numbers)]) if isinstance(a, Value)]
    for digits in (6, 8, 10, 12, 17):
        rounded = [float(number(x, digits)) for x in (*numbers, node.data)]
        try:  # the row's own rule, with the numbers as written
            derivatives = row.derivatives(*rounded[:-1], *settings, rounded[-1])
        except Exception:  # an @op whose rule takes Values only, or has none: 6 digits
            break
        if [number(derivatives[k]) for k in positions] == wanted:
            break
    return rules(node, children, node.data, functools.partial(number, digits=digits))


def rules(
    node: Value,
    operands: Sequence[str | float],
    out: str | float,
    write: Callable[[float], str] = number,
) -> tuple[str, ...]:
    """The rule of each local derivative d node / d child (:func:`ops.local_rule`), with
    ``operands[k]`` for its k-th child, ``out`` for the node, and each constant and setting
    as its number; "" where the op gives no rule text::

        rules(x.tanh(), ["x"], "y") == ("1 - y²",)      rules(x * 2, ["x"], "y") == ("2.0",)
        rules(x ** 2, ["x"], "y") == ("2.0 * x ** (2.0 - 1)",)
    """
    row, written, settings = _written(node, operands)
    children = [k for k, a in enumerate(node.args[: len(written)]) if isinstance(a, Value)]
    return tuple(ops.local_rule(row, k, written, settings, out, write) for k in children)


def _written(node: Value, operands: Sequence[str | float]) -> tuple[ops.Op, list, tuple]:
    """node's row, its operands with ``operands[k]`` for its k-th child, and its settings."""
    row = node.row
    if row is None:
        raise ValueError(f"a leaf has no formula: {node!r}")
    k = row.operand_count(len(node.args))
    given = iter(operands)
    return row, [next(given) if isinstance(a, Value) else a for a in node.args[:k]], node.args[k:]


def forward_order(root: Value) -> list[Value]:
    """Every Value of root's graph once, in the order a learner computes them by hand: the
    leaves (the given numbers) first, then each op node after its operands, left operand
    first, as Python evaluates ``x1*w1 + x2*w2`` (x1*w1, then x2*w2, then the sum). The result
    comes last. (backward() may visit siblings in another order; both are topological.)"""
    order: list[Value] = []
    visited = {root}
    stack = [(root, iter(root.children))]  # a depth-first search with its own stack: any depth
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in visited:
                visited.add(child)
                stack.append((child, iter(child.children)))
                break
        else:  # every operand placed: the node comes next
            stack.pop()
            order.append(node)
    return [v for v in order if not v.children] + [v for v in order if v.children]


def count_values(root: Value, stop: int) -> int:
    """How many Values root's graph has, counting no further than ``stop``: a graph of any
    size is measured against a limit in the time and memory of the limit."""
    seen = {root}
    frontier = [root]
    while frontier and len(seen) < stop:
        for child in frontier.pop().children:
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return min(len(seen), stop)


def check_max_values(max_values: object) -> None:
    """A ValueError unless max_values is a positive int or None."""
    if max_values is not None and (
        isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 1
    ):
        raise ValueError(f"max_values must be a positive int or None, got {max_values!r}")


def parameter_names(params: Params) -> dict[Value, str]:
    """Each parameter Value with its name in a Module ("" for a bare Value in a list)."""
    if params is None:
        return {}
    if isinstance(params, Module):
        return {value: name for name, value in params.named_parameters()}
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be a Module or an iterable of Values, got {type(params).__name__}"
        )
    params = list(params)
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"params must hold Values only, got {type(p).__name__}: {p!r:.60}")
    return {p: "" for p in params}


def printable(text: str) -> str:
    """text with each character that cannot be shown (a NUL, a newline, a lone surrogate)
    written as its Python escape, ``\\x00``: a name is shown exactly as typed, or escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def value_names(values: Sequence[Value], params: Params = None) -> dict[Value, str]:
    """A name for each of ``values`` (a graph in forward order, see :func:`forward_order`):
    its label, else its name in params, else ``v1``, ``v2``, ... in order, skipping any name
    the graph already uses. The same graph always gets the same names. A character that
    cannot be shown is written as its escape (:func:`printable`)."""
    given = parameter_names(params)
    names = {v: printable(v.label or given.get(v, "")) for v in values}
    taken = set(names.values())
    count = 0
    for v in values:
        if not names[v]:
            count += 1
            while f"v{count}" in taken:
                count += 1
            names[v] = f"v{count}"
    return names


# --- the steps -------------------------------------------------------------------------------


def _is_number(text: str, value: str) -> bool:
    """Whether ``text`` is the number ``value`` written alone: "1" or "(-3.0)" for "-3.0"."""
    try:
        return float(text.removeprefix("(").removesuffix(")")) == float(value)
    except ValueError:
        return False


@dataclass(frozen=True)
class ForwardStep:
    """One value computed: ``values[value] = formula = numbers = result``, with the local
    derivatives d value / d children[k] = local_grads[k]. A leaf has no formula: it is given."""

    value: int  # index into BackpropSteps.values
    formula: str  # with names: "x1 * w1" ("" for a leaf)
    numbers: str  # the same with numbers: "2.0 * (-3.0)" ("" for a leaf)
    result: float
    children: tuple[int, ...]  # the Value operands, in operand order (a reused one twice)
    local_grads: tuple[float, ...]  # one per child
    # the rule of each local derivative in names ("1 - o²") and in numbers ("1 - 0.707107²");
    # "" where the op gives no rule text
    rules: tuple[str, ...] = ()
    rule_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Update:
    """One edge of the backward pass: ``child.grad += local × upstream = contribution``,
    taking the child's gradient from ``before`` to ``after``. ``use`` counts the child's
    uses as they pass their gradient back: the ``use``-th of ``uses``."""

    child: int
    local: float  # d node / d child
    upstream: float  # d result / d node: the node's complete gradient
    contribution: float  # local * upstream, as backward() computes it
    before: float
    after: float  # before + contribution, as backward() computes it
    use: int
    uses: int


@dataclass(frozen=True)
class BackwardStep:
    """A node passing its complete gradient ``grad`` on to its children. A node whose
    gradient is 0 passes nothing on (backward() skips it): no updates."""

    value: int
    grad: float
    updates: tuple[Update, ...]


@dataclass(frozen=True)
class BackpropSteps:
    """The forward and backward steps of one backward() from zeroed gradients.

    ``values``: every Value of the graph in forward order (the result last), ``names`` theirs;
    ``grads[i]``: d result / d values[i] when backward is done, bit for bit backward()'s;
    ``complete_after[i]``: the index of the backward step after which ``grads[i]`` is complete
    (all uses of the value have passed their gradient back; -1 for the result, whose gradient
    is 1 from the start). ``print(steps)`` prints them as a table.
    """

    values: tuple[Value, ...]
    names: tuple[str, ...]
    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...]
    grads: tuple[float, ...]
    complete_after: tuple[int, ...]

    @property
    def result(self) -> int:
        """The index of the result, the value differentiated: the last one."""
        return len(self.values) - 1

    # --- the steps in words: the same lines for the table and the page ---

    def d(self, i: int) -> str:
        """The gradient of the result with respect to values[i], written ``do/dx1``."""
        return f"d{term(self.names[self.result])}/d{term(self.names[i])}"

    def forward_text(self, step: ForwardStep) -> str:
        """``v1 = x1 * w1 = 2.0 * (-3.0) = -6.0``, or ``x1 = 2.0`` for a leaf."""
        name, result = self.names[step.value], number(step.result)
        if not step.formula:
            return f"{name} = {result}"
        parts = [name] + ([step.formula] if step.formula != name else []) + [step.numbers]
        return " = ".join(parts + [result])

    def locals_text(self, step: ForwardStep, separator: str = ", ") -> str:
        """The local derivatives: ``dv1/dx1 = w1 = -3.0, dv1/dw1 = x1 = 2.0``."""
        return separator.join(self.local_text(step, k) for k in range(len(step.children)))

    def local_text(self, step: ForwardStep, k: int) -> str:
        """The local derivative d value / d children[k]: its rule in names, then in numbers,
        then its value, ``do/dv4 = 1 - o² = 1 - 0.707107² = 0.5``, each form once
        (``dv1/dx1 = w1 = -3.0``); the number alone where the op gives no rule text."""
        return "".join(self.local_parts(step, k))

    def local_parts(self, step: ForwardStep, k: int) -> tuple[str, str]:
        """:meth:`local_text` in two parts: what the graph says, ``do/dv4 = 1 - o² = ``,
        and what the forward step computes, ``1 - 0.707107² = 0.5``."""
        value = number(step.local_grads[k])
        symbols, numbers = (step.rules[k], step.rule_numbers[k]) if step.rules else ("", "")
        if symbols == numbers or _is_number(numbers, value):  # "1", "(-3.0)": the value itself
            numbers = ""
        if _is_number(symbols, value):
            symbols = ""
        known = f"d{term(self.names[step.value])}/d{term(self.names[step.children[k]])} = "
        return known + (f"{symbols} = " if symbols else ""), (
            f"{numbers} = {value}" if numbers else value
        )

    def backward_text(self, step: BackwardStep) -> str:
        """The node's gradient, complete when its step comes, and what it does with it."""
        name = self.names[step.value]
        if not step.grad:
            return f"{self.d(step.value)} = 0.0: nothing to pass on (backward() skips it)"
        return f"{self.d(step.value)} = {number(step.grad)}, passed on to {name}'s operands"

    def update_text(self, update: Update) -> str:
        """``dL/dx1 += (-3.0) × 0.5 = -1.5``; from a value's second use on, with its running
        total: ``; total so far 1.0 + 1.0 = 2.0``."""
        text = (
            f"{self.d(update.child)} += {factor(update.local)} × {factor(update.upstream)}"
            f" = {number(update.contribution)}"
        )
        if update.uses > 1:
            text += f"   (use {update.use} of {update.uses}"
            if update.use > 1:
                text += (
                    f"; total so far {number(update.before)} + {factor(update.contribution)}"
                    f" = {number(update.after)}"
                )
            text += ")"
        return text

    def seed_text(self) -> str:
        """The start of the backward pass: the result's gradient with respect to itself."""
        return f"{self.d(self.result)} = 1.0: the result changes one for one with itself"

    def uses(self, i: int) -> list[tuple[BackwardStep, int]]:
        """Each use of values[i] as (the user's backward step, the edge's index in it),
        in the order backward() visits them; a use whose user's gradient is 0 passes 0."""
        return self._uses[i]

    @functools.cached_property
    def _uses(self) -> list[list[tuple[BackwardStep, int]]]:
        uses: list[list[tuple[BackwardStep, int]]] = [[] for _ in self.values]
        for step in self.backward:
            for k, child in enumerate(self.forward[step.value].children):
                uses[child].append((step, k))
        return uses

    def chain_rule(self, i: int) -> list[str]:
        """The whole chain rule of values[i]: its gradient as the sum over its uses u of
        dL/du × du/dx, in symbols, then in numbers, then added up; then each local
        derivative's rule (:meth:`local_text`)::

            do/dx1 = do/dv1 × dv1/dx1
            = 0.5 × (-3.0)
            = -1.5
            where dv1/dx1 = w1 = -3.0
        """
        return ["".join(text for text, _ in line) for line in self.chain_rule_parts(i)]

    def chain_rule_parts(self, i: int) -> list[list[tuple[str, int]]]:
        """:meth:`chain_rule`, each line in parts ``(text, step)``: the step from which the
        text is known (numbered as the page numbers them, 0: from the start), so that the page
        shows ``?`` for what the current step has not computed yet."""
        d = self.d(i)
        if i == self.result:
            known = self.grad_known_at(i)
            return [[(f"{d} = ", 0), ("1.0", known), (" (the result, with respect to itself)", 0)]]
        name = term(self.names[i])
        symbols: list[str] = []
        factors: list[tuple[str, int]] = [("= ", 0)]
        products: list[tuple[str, int]] = [("= ", 0)]
        where: dict[tuple[str, str, int], None] = {}  # each local derivative's rule, once
        for step, k in self.uses(i):
            user = step.value
            local = self.forward[user].local_grads[k]
            symbols.append(f"{self.d(user)} × d{term(self.names[user])}/d{name}")
            plus = [(" + ", 0)] if symbols[1:] else []
            factors += [*plus, (factor(step.grad), self.grad_known_at(user)), (" × ", 0)]
            factors.append((factor(local), self.computed_at(user)))
            products += [*plus, (factor(local * step.grad), self.passed_at(step))]
            rule, numbers = self.local_parts(self.forward[user], k)
            where[(rule, numbers, self.computed_at(user))] = None
        lines = [[(f"{d} = " + " + ".join(symbols), 0)], factors]
        if len(symbols) > 1:
            lines.append(products)
        lines.append([("= ", 0), (number(self.grads[i]), self.grad_known_at(i))])
        for n, (rule, numbers, known) in enumerate(where):
            lines.append([("      " if n else "where ", 0), (rule, 0), (numbers, known)])
        return lines

    # --- when each number is known, by the steps' numbers (step 0: nothing computed) ---

    def computed_at(self, i: int) -> int:
        """The step that computes values[i]'s data (a leaf's: the step that gives it)."""
        return 1 + i  # the forward steps come in the order of the values, after step 0

    def grad_known_at(self, i: int) -> int:
        """The step after which values[i]'s gradient is complete: the start of the backward
        pass for the result, else the step of its last use passing its gradient back."""
        seed = 1 + len(self.forward)
        return seed if i == self.result else seed + 1 + self.complete_after[i]

    def passed_at(self, step: BackwardStep) -> int:
        """The number of a backward step: the step at which its node passes its gradient."""
        return 2 + len(self.forward) + self._backward_index[step.value]

    @functools.cached_property
    def _backward_index(self) -> dict[int, int]:
        return {step.value: b for b, step in enumerate(self.backward)}

    def table(self) -> str:
        """The steps as a table, numbered as the page numbers them (step 0: nothing done)."""
        rows = ["Forward pass: each value from its operands, the leaves (given numbers) first"]
        number_width = len(str(self.step_count - 1))
        indent = " " * (number_width + 2)
        n = 0
        for step in self.forward:
            n += 1
            text = self.forward_text(step)
            rows.append(f"  {n:>{number_width}}  {text}")
            if step.formula:  # one local derivative a line
                lead = f"  {indent}    local derivatives: "
                rows.append(lead + self.locals_text(step, "\n" + " " * len(lead)))
        rows.append("")
        rows.append(
            "Backward pass: the chain rule from the result back to the leaves, in backward()'s "
            "order:\n  each node passes its gradient to its operands: "
            "child.grad += local derivative × gradient"
        )
        n += 1
        rows.append(f"  {n:>{number_width}}  {self.seed_text()}")
        for back in self.backward:
            n += 1
            rows.append(f"  {n:>{number_width}}  {self.backward_text(back)}")
            rows += [f"  {indent}    {self.update_text(u)}" for u in back.updates]
        rows.append("")
        rows.append("Gradients (equal to backward()'s):")
        rows += [f"  {self.d(i)} = {self.grads[i]!r}" for i in range(len(self.values))]
        return "\n".join(rows)

    __str__ = table

    @property
    def step_count(self) -> int:
        """How many steps the page shows: step 0 (nothing computed yet), one per value
        computed, the start of the backward pass, one per node passing its gradient on."""
        return 1 + len(self.forward) + 1 + len(self.backward)


def backprop_steps(
    root: Value, params: Params = None, max_values: int | None = STEPS_LIMIT
) -> BackpropSteps:
    """The forward and backward steps of ``root.backward()``, in plain numbers.

    The backward pass starts from zeroed gradients, as after ``zero_grad()``, and computes
    exactly what ``backward()`` computes, in the same order: the final gradients (``.grads``)
    equal backward()'s bit for bit. No Value is changed. ``params``: a Module, or Values,
    whose parameter names name the values that have no label. A graph of more than
    ``max_values`` values raises :class:`GraphTooLargeError` (None: no limit).
    """
    if not isinstance(root, Value):
        raise TypeError(f"backprop_steps needs a Value, got {type(root).__name__}: {root!r:.60}")
    check_max_values(max_values)
    if max_values is not None and count_values(root, max_values + 1) > max_values:
        raise GraphTooLargeError(
            f"this graph has more than {max_values:,} values, too many steps to go through "
            f"(the limit: max_values={max_values}): step through a smaller piece of it (one "
            "neuron, one sample of a batch), or pass max_values=None to list every step anyway "
            "(time and memory grow with the graph: a million values take minutes and gigabytes)"
        )
    values = forward_order(root)
    named = value_names(values, params)
    index = {v: i for i, v in enumerate(values)}
    forward = []
    for i, v in enumerate(values):
        if not v.children:
            forward.append(ForwardStep(i, "", "", v.data, (), ()))
            continue
        children = tuple(index[c] for c in v.children)
        names, numbers = [named[c] for c in v.children], [c.data for c in v.children]
        forward.append(
            ForwardStep(
                i,
                formula(v, names),
                formula(v, numbers),
                v.data,
                children,
                v.local_grads,
                rules(v, names, named[v]),
                rules_in_numbers(v),
            )
        )
    uses = [0] * len(values)
    for step in forward:
        for c in step.children:
            uses[c] += 1

    # backward(), step by step: its order and its arithmetic, with a list for the grads
    grads = [0.0] * len(values)
    grads[-1] += 1.0
    used = [0] * len(values)
    complete_after = [-1] * len(values)
    backward: list[BackwardStep] = []
    for node in reversed(interior_nodes_children_first(root)):  # backward()'s order
        i = index[node]
        grad = grads[i]
        updates = []
        for c, local_grad in zip(forward[i].children, node.local_grads):
            used[c] += 1
            complete_after[c] = len(backward)
            if grad:  # a zero gradient passes nothing on
                before = grads[c]
                contribution = local_grad * grad
                grads[c] += contribution
                updates.append(
                    Update(c, local_grad, grad, contribution, before, grads[c], used[c], uses[c])
                )
        backward.append(BackwardStep(i, grad, tuple(updates)))
    return BackpropSteps(
        tuple(values),
        tuple(named[v] for v in values),
        tuple(forward),
        tuple(backward),
        tuple(grads),
        tuple(complete_after),
    )
