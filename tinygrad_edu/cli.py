"""The ``tinygrad-edu`` command line: ``tinygrad-edu tour`` and friends.

Uses only the public API, as a user would.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from graphviz import CalledProcessError

from tinygrad_edu import MLP, Value, backprop_steps, gradcheck, losses, optim, render
from tinygrad_edu._argtypes import Parser, folder, make_folder, positive_float, positive_int
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
from tinygrad_edu.expression import ExpressionError, functions, parse_expression
from tinygrad_edu.graphviz_program import RendererNotFoundError
from tinygrad_edu.viz import PAGE_FORMATS, RANKDIRS, output_format


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(
        prog="tinygrad-edu",
        description="A small, exact scalar autograd engine for learning how networks learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tour = commands.add_parser(
        "tour",
        help="a short guided tour: a neuron, its gradients, training",
        description="A short guided tour: a neuron built from Values and its gradients by "
        "backward(), those gradients checked against finite differences, a tiny network "
        "trained with SGD, then short runs of the six demo networks, whose pictures go to "
        "--out.",
    )
    tour.add_argument(
        "--steps",
        type=positive_int,
        default=60,
        help="training steps of the tiny network (default 60)",
    )
    tour.add_argument(
        "--out",
        type=folder,
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
    args, extra = parser.parse_known_args(_graph_sets(list(sys.argv[1:] if argv is None else argv)))
    if args.command == "graph" and args.expression is None and len(extra) == 1:
        if not extra[0].startswith("--"):  # -x*2: an expression, though it looks like an option
            args.expression = extra.pop()
    if extra:
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "tour" and args.demos:
        make_folder(tour, args.out, "--out")
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader stopped reading (`... --steps | head`): not an error
        # what is left in stdout's buffer would fail again at exit: send it nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _graph_sets(argv: list[str]) -> list[str]:
    """argv with ``graph ... --set x=2 w=3`` written ``--set x=2 --set w=3``: each NAME=...
    right after a --set's value is another --set (an expression holds no single =)."""
    if not argv or argv[0] != "graph":
        return argv
    words: list[str] = []
    after_set = False  # the last word was a --set's value
    for i, word in enumerate(argv):
        if word == "--":  # what follows is the expression, as written
            return words + argv[i:]
        if after_set and _ASSIGNMENT.match(word):
            words.append("--set")
        words.append(word)
        after_set = words[-2:-1] == ["--set"] or word.startswith("--set=")
    return words


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
            "+ - * / **, and " + ", ".join(f"{f}()" for f in functions()) + "."
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
    # optional to argparse, which takes -x*2 for an option: main() finds it, _graph insists
    graph.add_argument(
        "expression", metavar="EXPR", nargs="?", help='for example "tanh(x*w + b)" or "-x*2"'
    )
    graph.add_argument(
        "--set",
        dest="assignments",
        metavar="NAME=NUMBER",
        action="append",
        type=_assignment,
        default=[],
        help="the variables' values: --set x=2 w=3, or --set x=2 --set w=3",
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
        help="print backprop step by step, one numbered line per step: the forward pass, "
        "then the chain rule from the result back to the inputs",
    )
    graph.set_defaults(run=_graph)


_ASSIGNMENT = re.compile(r"\s*[^\W\d]\w*\s*=(?!=)")  # NAME=..., as --set takes it


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
    if args.expression is None:
        _graph_error('the following arguments are required: EXPR, as in "tanh(x*w + b)"')
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
        except OSError as error:  # a file that cannot be written where asked: the user's to fix
            _graph_error(f"argument -o/--output: {error}")
        except (RendererNotFoundError, CalledProcessError) as error:
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
        "exercises",
        help="gradient-check exercises: copy them out, then check your answers",
        description="Exercises in backprop, from local derivatives to a whole network: init "
        "copies them into a folder of yours, each a function to complete; check runs your "
        "answers against finite differences and the engine.",
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
    except OSError as error:  # a folder that cannot be made there
        print(
            f"tinygrad-edu exercises init: error: cannot make the folder {args.directory!r} "
            f"({error.strerror or error}); choose a folder you can write to",
            file=sys.stderr,
        )
        return 2
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
        usage="%(prog)s [-h] NAME [the demo's flags]",
        description=f"Train one of six small networks:\n{listing}\n\n"
        "Flags after NAME go to the demo: --epochs N (names: --steps N), --seed S, --out DIR\n"
        "(tinygrad-edu demo NAME --help lists them with their defaults).",
    )
    # NAME is optional to argparse, which would call the flags after it required too
    demo.add_argument("name", choices=list(DEMOS), nargs="?", metavar="NAME", help=", ".join(DEMOS))
    demo.add_argument("options", nargs=argparse.REMAINDER, help="the demo's own flags")
    demo.set_defaults(run=_demo, parser=demo)


def _demo(args: argparse.Namespace) -> int:
    if args.name is None:
        args.parser.error(f"choose a demo: tinygrad-edu demo NAME, NAME one of {', '.join(DEMOS)}")
    try:
        demo = load_demo(args.name)
    except ImportError as error:
        print(f"tinygrad-edu demo: {error}", file=sys.stderr)
        return 1
    return demo.main(args.options)


if __name__ == "__main__":
    sys.exit(main())
