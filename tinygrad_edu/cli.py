"""The ``tinygrad-edu`` command line: ``tinygrad-edu tour`` and friends.

Uses only the public API, as a user would.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tinygrad_edu import MLP, Value, gradcheck, losses, optim
from tinygrad_edu.demos import DEMOS, load


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="A small, exact scalar autograd engine for learning how networks learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tour = commands.add_parser(
        "tour", help="a short guided tour: a neuron, its gradients, training"
    )
    tour.add_argument("--steps", type=_positive_int, default=60, help="training steps (default 60)")
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
        help="end with short runs of the seed articles' networks (default: yes)",
    )
    tour.set_defaults(run=_tour)
    _add_demo_command(commands)
    args = parser.parse_args(argv)
    return args.run(args)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


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


def _demo_tour(out: Path) -> int:
    print("\n4. The networks of the seed articles, in short runs")
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
        help="run one of the seed articles' networks: " + ", ".join(DEMOS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Run one of the seed articles' networks:\n{listing}\n\n"
        "Flags after NAME go to the demo: --epochs N, --seed S, --out DIR\n"
        "(tinygrad-edu demo NAME --help lists them with their defaults).",
    )
    demo.add_argument("name", choices=list(DEMOS), metavar="NAME", help=", ".join(DEMOS))
    demo.add_argument("options", nargs=argparse.REMAINDER, help="the demo's own flags")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    try:
        demo = load(args.name)
    except ImportError as error:
        print(f"tinygrad-edu demo: {error}", file=sys.stderr)
        return 1
    return demo.main(args.options)


if __name__ == "__main__":
    sys.exit(main())
