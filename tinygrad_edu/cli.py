"""The ``tinygrad-edu`` command line: ``tinygrad-edu tour`` and friends.

Uses only the public API, as a user would.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from graphviz import CalledProcessError

from tinygrad_edu import MLP, Value, backprop_steps, gradcheck, losses, optim, render
from tinygrad_edu._argtypes import positive_float, positive_int
from tinygrad_edu.demos import DEMOS
from tinygrad_edu.demos import load as load_demo
from tinygrad_edu.exercises import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_TIMEOUT,
    EXERCISES,
    check_exercises,
    format_report,
    init_exercises,
)
from tinygrad_edu.expression import FUNCTIONS, ExpressionError, parse_expression
from tinygrad_edu.renderer import RendererNotFoundError
from tinygrad_edu.viz import PAGE_FORMATS, RANKDIRS, output_format


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="A small, exact scalar autograd engine for learning how networks learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tour = commands.add_parser(
        "tour", help="a short guided tour: a neuron, its gradients, training"
    )
    tour.add_argument("--steps", type=positive_int, default=60, help="training steps (default 60)")
    tour.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="folder for the demos' pictures (default ./out)",
    )
    tour.add_argument(
        "--demos",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="end with short runs of the six demo networks (default: yes)",
    )
    tour.set_defaults(run=_tour)
    _add_graph_command(commands)
    _add_exercises_command(commands)
    _add_demo_command(commands)
    args = parser.parse_args(argv)
    return args.run(args)


def _tour(args: argparse.Namespace) -> int:
    print("1. A neuron, o = tanh(x1*w1 + x2*w2 + b), built from Values")
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    print(f"   forward:  o = {o.data:.6f}")
    o.backward()
    print("   backward: do/d(input), by the chain rule from o back to the leaves")
    for v in (x1, x2, w1, w2, b):
        print(f"     d o / d {v.label:<2} = {v.grad:+.6f}   ({v.label} = {v.data:g})")

    print("\n2. Checking those derivatives against finite differences")

    def neuron(vs: list[Value]) -> Value:
        return (vs[0] * vs[2] + vs[1] * vs[3] + vs[4]).tanh()

    point = [x1.data, x2.data, w1.data, w2.data, b.data]
    gradcheck(neuron, point)
    print(f"   gradcheck: all {len(point)} derivatives agree (central differences, eps=1e-6)")

    print(f"\n3. Training a tiny MLP(3, [4, 4, 1]) with tanh on 4 samples, SGD, {args.steps} steps")
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for step in range(args.steps + 1):
        preds = [model(x)[0] for x in xs]
        loss = losses.mse(preds, ys)
        if step % max(1, args.steps // 6) == 0 or step == args.steps:
            print(f"   step {step:4d}   mse loss {loss.data:.6f}")
        if step < args.steps:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    print("   targets:     " + "  ".join(f"{y:+.3f}" for y in ys))
    print("   predictions: " + "  ".join(f"{p.data:+.3f}" for p in preds))
    if args.demos:
        return _demo_tour(args.out)
    return 0


def _add_graph_command(commands: argparse._SubParsersAction) -> None:
    graph = commands.add_parser(
        "graph",
        help="draw an expression's computation graph, with its gradients, or step through it",
        description=textwrap.fill(
            "Evaluate EXPR at the given values, run backward() from the result and draw the "
            "computation graph with every data and grad. EXPR uses numbers, variables, "
            "+ - * / **, and " + ", ".join(f"{f}()" for f in FUNCTIONS) + "."
        )
        + "\n\n"
        + textwrap.fill(
            "With --steps, print backprop step by step: each value from its operands, then the "
            "chain rule from the result back to the inputs. With -o FILE.html, write the "
            "step-through page: open it in a browser and step through backprop with the arrow "
            "keys."
        ),
        epilog='examples:\n  tinygrad-edu graph "tanh(x*w + b)" --set x=2 --set w=-3 --set b=6.88 '
        '-o graph.svg\n  tinygrad-edu graph "x*x + x" --set x=3 --steps -o page.html',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    graph.add_argument("expression", metavar="EXPR", help='for example "tanh(x*w + b)"')
    graph.add_argument(
        "--set",
        dest="assignments",
        metavar="NAME=NUMBER",
        action="append",
        type=_assignment,
        default=[],
        help="a variable's value; one --set per variable",
    )
    graph.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=_graph_file,
        help="the picture, .svg or .png, the DOT text, .gv, or the step-through page, .html "
        "(default graph.svg; none with --steps)",
    )
    graph.add_argument("--rankdir", choices=RANKDIRS, default="LR", help="layout direction")
    graph.add_argument(
        "--steps",
        action="store_true",
        help="print backprop step by step: the forward pass, then the chain rule, as a table",
    )
    graph.set_defaults(run=_graph)


def _assignment(text: str) -> tuple[str, float]:
    name, equals, number = text.partition("=")
    name = name.strip()
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, as in x=2, got {text!r}")
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {number!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{name}: {number!r} is not a finite number")
    return name, value


def _graph_file(text: str) -> str:
    try:
        output_format(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _graph(args: argparse.Namespace) -> int:
    values: dict[str, float] = {}
    for name, value in args.assignments:
        if name in values:
            _graph_error(f"--set {name} is given twice")
        values[name] = value
    try:
        expression = parse_expression(args.expression)
        unused = [name for name in values if name not in expression.variables]
        if unused:
            _graph_error(f"--set {unused[0]}: there is no {unused[0]} in {args.expression!r}")
        leaves = {name: Value(value, label=name) for name, value in values.items()}
        result = expression.evaluate(leaves)
    except ExpressionError as error:
        _graph_error(str(error))
    if args.steps:
        print(backprop_steps(result), end="\n\n")
    result.backward()
    output = args.output or (None if args.steps else "graph.svg")
    if output:
        try:
            render(result, output, rankdir=args.rankdir)
        except (RendererNotFoundError, CalledProcessError, OSError) as error:
            print(f"tinygrad-edu graph: error: {error}", file=sys.stderr)
            return 1
    print(f"{result.label} = {result.data:.6g}")
    for name in expression.variables:
        print(f"  d/d{name} = {leaves[name].grad:+.6g}")
    if output and output_format(output) in PAGE_FORMATS:
        print(f"wrote {output}: open it in a browser to step through backprop (keys: → ←)")
    elif output:
        print(f"wrote {output}")
    return 0


def _graph_error(message: str) -> NoReturn:
    """A bad expression or --set: one line on stderr and exit status 2, as argparse does."""
    print(f"tinygrad-edu graph: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _add_exercises_command(commands: argparse._SubParsersAction) -> None:
    exercises = commands.add_parser(
        "exercises", help="gradient-check exercises: copy them out, then check your answers"
    )
    actions = exercises.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="copy the exercise files into DIR")
    init.add_argument("directory", metavar="DIR", help="the folder to put them in")
    init.add_argument("--force", action="store_true", help="replace exercise files already in DIR")
    init.set_defaults(run=_exercises_init)
    check = actions.add_parser(
        "check", help="check your answers against finite differences and the engine"
    )
    check.add_argument("directory", metavar="DIR", help="the folder init made")
    check.add_argument(
        "numbers", metavar="N", type=positive_int, nargs="*", help="only these exercises"
    )
    check.add_argument(
        "--max-examples",
        type=positive_int,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"inputs drawn per function (default {DEFAULT_MAX_EXAMPLES})",
    )
    check.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds before an exercise is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    check.set_defaults(run=_exercises_check)


def _exercises_init(args: argparse.Namespace) -> int:
    try:
        paths = init_exercises(args.directory, force=args.force)
    except (FileExistsError, NotADirectoryError) as error:
        print(f"tinygrad-edu exercises init: {error}", file=sys.stderr)
        return 1
    print(f"Copied {len(paths)} exercises into {args.directory}:")
    for path, exercise in zip(paths, EXERCISES.values()):
        print(f"  {path.name:<32} {exercise.title}")
    print("\nRead an exercise's docstring, complete its function, then check it:")
    print(f"  tinygrad-edu exercises check {args.directory} 1")
    print(f"or all of them at once:\n  tinygrad-edu exercises check {args.directory}")
    return 0


def _exercises_check(args: argparse.Namespace) -> int:
    numbers = args.numbers or None
    try:
        results = check_exercises(
            args.directory, numbers, max_examples=args.max_examples, timeout=args.timeout
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"tinygrad-edu exercises check: {error}", file=sys.stderr)
        return 2
    print(format_report(results))
    return 0 if all(r.status == "pass" for r in results) else 1


def _demo_tour(out: Path) -> int:
    print("\n4. Six small networks, in short runs")
    try:
        from tinygrad_edu.demos import tour
    except ImportError as error:
        print(f"   skipped: {error}")
        return 0
    tour.run(out)
    return 0


def _add_demo_command(commands: argparse._SubParsersAction) -> None:
    listing = "\n".join(f"  {name:12} {what}" for name, what in DEMOS.items())
    demo = commands.add_parser(
        "demo",
        help="train one of six small networks: " + ", ".join(DEMOS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Train one of six small networks:\n{listing}\n\n"
        "Flags after NAME go to the demo: --epochs N (names: --steps N), --seed S, --out DIR\n"
        "(tinygrad-edu demo NAME --help lists them with their defaults).",
    )
    demo.add_argument("name", choices=list(DEMOS), metavar="NAME", help=", ".join(DEMOS))
    demo.add_argument("options", nargs=argparse.REMAINDER, help="the demo's own flags")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    try:
        demo = load_demo(args.name)
    except ImportError as error:
        print(f"tinygrad-edu demo: {error}", file=sys.stderr)
        return 1
    return demo.main(args.options)


if __name__ == "__main__":
    sys.exit(main())
