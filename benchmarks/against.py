#!/usr/bin/env python3
"""Eager mode of two versions of tinygrad_edu, timed alternately: is the current engine at
least as fast as an earlier one?

    python3 benchmarks/against.py                    # a3b8a3a against the working tree, 2-4 min
    python3 benchmarks/against.py --baseline HEAD~3  # any commit as the baseline
    python3 benchmarks/against.py --current main --only A1,A2 --rounds 9

The baseline is a commit (default a3b8a3a, the engine before the op table of "Engine 2"); the
current version is this working tree as it is, uncommitted changes included, or a commit, or
a directory that holds a checkout. A commit is copied (``git archive``) into
``.bench/<commit>/`` once and reused. Both versions run the same workload code, this tree's
``benchmarks/workloads.py``, each with ``PYTHONPATH`` pointing at its own ``tinygrad_edu``
(checked before anything runs).

Workloads (``--only``, default all three):

- ``A1``: micrograd's demo step on the graph micrograd builds, op for op (workloads.py's A);
- ``A2``: the same step with tinygrad_edu's own MLP, losses and SGD, eager (workloads.py's A2).
  Each round also runs micrograd 0.1.0 on A, for each version's ratio to micrograd, as
  ``benchmarks/run.py`` reports it;
- ``M``: a training step of microgpt's GPT, microgpt's own code (``sum`` of products) run op for
  op on the current version's Value, eager, against the same code on the microgpt-style engine
  of ``microgpt.py`` (workloads.py's G ``--dropin`` and G on ``microgpt``): two engines, one
  graph. Current version only: a3b8a3a has no GPT to take the weights from. Printed below it,
  with no target: the step of ``tinygrad_edu.GPT`` as a user of ours writes it (G), whose
  neurons are dot products, so its graph is not microgpt's.

Method, as run.py's: every run is a fresh process with Python's default garbage collector,
timed in CPU time (time.process_time), so that other programs on the machine count less; the
two sides of a comparison run back to back, which one first alternating from round to round; a
time is the median over rounds with its min-max, and a ratio is taken within each round, then
summarised the same way. Before a round counts, the two versions must give the same loss at
every step of A1 and A2 (to 1e-12 relative; the output says when they are equal bit for bit),
their first loss must be micrograd's, and M's and G's losses must be the microgpt-style
engine's at every step to 1e-9. The targets are issue 22's: A1 and A2 baseline / current >= 1.0
(current not slower), M microgpt-style / current >= 0.9.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from run import (
    G_REL_TOL,
    HERE,
    REL_TOL,
    ROOT,
    ensure_bench_environment,
    machine,
    quantity,
    spread,
    worker,
)

DEFAULT_BASELINE = "a3b8a3a"  # the commit before "Engine 2"
COPIES = ROOT / ".bench"  # in .gitignore
WORKLOADS = ("A1", "A2", "M")
# the targets: A1, A2 baseline / current; M microgpt-style engine / current eager
TARGETS = {"A1": 1.0, "A2": 1.0, "M": 0.9}
A_STEPS, M_STEPS = 10, 16  # timed training steps per run (A also runs one untimed first)


@dataclass(frozen=True)
class Version:
    """One side of the comparison: a directory holding a ``tinygrad_edu`` package."""

    role: str  # "baseline" or "current"
    path: Path
    description: str

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(self.path))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="a commit, or a directory")
    parser.add_argument(
        "--current", help="a commit, or a directory (default: this working tree, as it is)"
    )
    parser.add_argument("--only", default=",".join(WORKLOADS), help="some of A1,A2,M")
    parser.add_argument("--a-steps", type=int, default=A_STEPS, help="timed steps per A run")
    parser.add_argument("--m-steps", type=int, default=M_STEPS, help="timed steps per M run")
    parser.add_argument("--out", type=Path, help="also save the raw results here (JSON)")
    args = parser.parse_args(argv)
    only = [w.strip() for w in args.only.split(",")]
    if not only or set(only) - set(WORKLOADS):
        parser.error(f"--only takes some of {','.join(WORKLOADS)}, not {args.only!r}")
    ensure_bench_environment(__file__, argv)

    current = version(args.current, "current")
    baseline = version(args.baseline, "baseline") if {"A1", "A2"} & set(only) else None
    for side in (baseline, current):
        if side is not None:
            check_import(side)
    load = {"start": load_average(), "rounds": []}
    rounds = []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        results = {}
        for group in runs(only, baseline, current, args.a_steps, args.m_steps):
            for run in group if r % 2 == 0 else group[::-1]:
                results[run.name] = worker(run.engine, run.workload, *run.args, env=run.side.env())
        check_round(results, only)
        rounds.append(results)
        load["rounds"].append(load_average())
    load["end"] = load_average()

    summary = summarise(rounds, only)
    command = shlex.join(["python3", "benchmarks/against.py", *argv])
    print(format_report(summary, command, machine(), load, baseline, current, args.rounds))
    if args.out:
        sides = {s.role: s.description for s in (baseline, current) if s}
        raw = {"machine": machine(), "load": load, "versions": sides, "rounds": rounds}
        args.out.write_text(json.dumps(raw | {"summary": summary}, indent=1))


def load_average() -> float:
    """The 1-minute load average: how busy the machine is (NaN where the system has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


# --- the two versions --------------------------------------------------------------------------


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def version(spec: str | None, role: str) -> Version:
    """The working tree (``spec`` None), a directory holding a checkout, or a commit's copy."""
    if spec is None:
        changed = git("status", "--porcelain", "--", "tinygrad_edu").splitlines()
        edits = f", with {len(changed)} files of tinygrad_edu/ changed" if changed else ""
        return Version(
            role, ROOT, f"the working tree at {git('rev-parse', '--short', 'HEAD')}{edits}"
        )
    if Path(spec).is_dir():
        path = Path(spec).resolve()
        if not (path / "tinygrad_edu" / "__init__.py").is_file():
            raise SystemExit(f"--{role} {spec}: holds no tinygrad_edu/ (give a checkout's top)")
        return Version(role, path, f"the directory {path}")
    commit = git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if not commit:
        raise SystemExit(f"--{role} {spec}: neither a directory nor a commit of {ROOT}")
    subject = git("log", "-1", "--format=%s", commit)  # this repository's run long: cut
    subject = subject if len(subject) <= 72 else subject[:69] + "..."
    return Version(role, copy_of(commit), f"{commit[:7]} ({subject})")


def copy_of(commit: str) -> Path:
    """The commit's files in .bench/<commit>: made once (git archive), then reused. The copy is
    made beside its place and renamed into it, so that an interrupted copy never counts."""
    target = COPIES / commit[:12]
    if target.is_dir():
        return target
    COPIES.mkdir(exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    with (
        tempfile.TemporaryDirectory(dir=COPIES) as scratch,
        tarfile.open(fileobj=io.BytesIO(archive)) as tar,
    ):
        # the "data" filter (refusing links out of the folder) where this Python has it
        tar.extractall(
            Path(scratch, "copy"), **({"filter": "data"} if hasattr(tarfile, "data_filter") else {})
        )
        Path(scratch, "copy").rename(target)
    return target


def check_import(side: Version) -> None:
    """The workers of ``side`` will import its own tinygrad_edu, not another on the path."""
    where = "import tinygrad_edu; print(tinygrad_edu.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", where], env=side.env(), cwd=HERE, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{side.role} ({side.path}): tinygrad_edu does not import:\n{done.stderr}")
    found = Path(done.stdout.strip()).resolve()
    if not found.is_relative_to(side.path.resolve()):
        raise SystemExit(
            f"{side.role}: tinygrad_edu comes from {found}, not from {side.path}; unset "
            "whatever puts it first on the path (PYTHONPATH, a .pth file)"
        )


# --- the runs of one round ---------------------------------------------------------------------


class Run(NamedTuple):
    """One process of a round: its result's name, and what workloads.py runs, on which side."""

    name: str
    engine: str
    workload: str
    args: tuple[str, ...]
    side: Version


def runs(
    only: list[str], baseline: Version | None, current: Version, a_steps: int, m_steps: int
) -> list[list[Run]]:
    """A round's runs in groups, each group's run back to back, in the opposite order every
    other round."""
    a, m = ("--steps", str(a_steps)), ("--steps", str(m_steps))
    groups = [
        [
            Run(f"{side.role} {name}", "tinygrad_edu", workload, a, side)
            for side in (baseline, current)
        ]
        for name, workload in (("A1", "A"), ("A2", "A2"))
        if name in only and baseline is not None
    ]
    if groups:
        groups.insert(1, [Run("micrograd A", "micrograd", "A", a, current)])
    if "M" in only:
        groups.append(
            [
                Run("microgpt M", "microgpt", "G", m, current),
                Run("current M", "tinygrad_edu", "G", (*m, "--dropin"), current),
                Run("current GPT", "tinygrad_edu", "G", m, current),
            ]
        )
    return groups


def check_round(results: dict, only: list[str]) -> None:
    """The versions agree on every loss of A1 and A2, micrograd on the first; M's and GPT's
    engines on every step's loss. Otherwise the run stops: nothing timed counts."""
    comparisons = []  # (what, losses, the losses they must be, relative tolerance)
    for name in [w for w in ("A1", "A2") if f"current {w}" in results]:
        current, baseline = results[f"current {name}"], results[f"baseline {name}"]
        comparisons.append((f"{name}: current vs baseline", current, baseline, REL_TOL))
        first = {"losses": results["micrograd A"]["losses"][:1]}
        comparisons.append((f"{name}: current vs micrograd, first step", current, first, REL_TOL))
    if "M" in only:
        for name in ("M", "GPT"):
            micro = results["microgpt M"]
            comparisons.append(
                (f"{name}: current vs microgpt-style", results[f"current {name}"], micro, G_REL_TOL)
            )
    for what, got, want, tolerance in comparisons:
        for k, (x, y) in enumerate(zip(got["losses"], want["losses"])):
            if abs(x - y) > tolerance * abs(y):
                raise SystemExit(f"{what}, step {k}: loss {x!r}, want {y!r}; nothing timed counts")


# --- summary and report ------------------------------------------------------------------------


def summarise(rounds: list[dict], only: list[str]) -> dict:
    def times(key: str) -> list[float]:
        return [res[key]["step_s"] for res in rounds]

    def ratios(top: str, bottom: str) -> dict | None:
        return spread([a / b for a, b in zip(times(top), times(bottom))])

    rows = {}
    for name in [w for w in ("A1", "A2") if f"current {w}" in rounds[0]]:
        base, cur = f"baseline {name}", f"current {name}"
        rows[name] = {
            "baseline": spread(times(base)),
            "current": spread(times(cur)),
            "ratio": ratios(base, cur),
            "micrograd/baseline": ratios("micrograd A", base),
            "micrograd/current": ratios("micrograd A", cur),
            "bit for bit": all(res[base]["losses"] == res[cur]["losses"] for res in rounds),
        }
    if "micrograd A" in rounds[0]:
        rows["micrograd"] = {"A": spread(times("micrograd A"))}
    if "M" in only:
        for name in ("M", "GPT"):
            rows[name] = {
                "microgpt": spread(times("microgpt M")),
                "current": spread(times(f"current {name}")),
                "ratio": ratios("microgpt M", f"current {name}"),
            }
    targets = {
        name: rows[name]["ratio"]["median"] >= TARGETS[name] for name in TARGETS if name in rows
    }
    return {"rows": rows, "targets": targets}


def format_report(
    summary: dict,
    command: str,
    host: dict,
    load: dict,
    baseline: Version | None,
    current: Version,
    n_rounds: int,
) -> str:
    rows, targets = summary["rows"], summary["targets"]
    busiest = max(load["rounds"], default=load["start"])
    lines = [
        command,
        f"{host['date']}; Python {host['python'].split()[0]} on {host['cpu']}, {host['cpus']} "
        f"cores; load average (1 min) {load['start']:.2f} at the start, {load['end']:.2f} at "
        f"the end, {busiest:.2f} the highest after a round",
    ]
    if baseline:
        lines.append(f"baseline: {baseline.description}")
    lines += [f"current:  {current.description}", ""]
    lines.append(
        f"median [min-max] of {n_rounds} rounds of CPU time per training step, each run a "
        "fresh process; ratios within a round"
    )

    def verdict(name: str) -> str:
        return f">= {TARGETS[name]:.2f}x: " + ("met" if targets[name] else "NOT met")

    titles = {
        "A1": "A1 micrograd's graph, op for op",
        "A2": "A2 our MLP, losses, SGD",
        "M": "M microgpt's GPT code, op for op",
        "GPT": "  the step of tinygrad_edu.GPT",
    }
    for names, peer, title, ratio in (
        (("A1", "A2"), "baseline", "baseline", "baseline/current"),
        (("M", "GPT"), "microgpt", "microgpt-style", "microgpt/current"),
    ):
        if any(name in rows for name in names):
            lines.append(f"{'':34}{title:>26}{'current':>26}{ratio:>22}   target")
        for name in [n for n in names if n in rows]:
            r = rows[name]
            target = verdict(name) if name in TARGETS else "(none)"
            lines.append(
                f"{titles[name]:34}{quantity(r[peer], 's'):>26}{quantity(r['current'], 's'):>26}"
                f"{quantity(r['ratio'], 'x', 3):>22}   {target}"
            )
    if "micrograd" in rows:
        lines += [
            "",
            f"micrograd 0.1.0 on A (its own graph): {quantity(rows['micrograd']['A'], 's')}; "
            "how many times faster each version is:",
            f"{'':34}{'micrograd/baseline':>26}{'micrograd/current':>26}",
        ]
        for name in [n for n in ("A1", "A2") if n in rows]:
            r = rows[name]
            lines.append(
                f"{titles[name]:34}{quantity(r['micrograd/baseline'], 'x'):>26}"
                f"{quantity(r['micrograd/current'], 'x'):>26}"
            )
    checks = [
        f"{name}'s losses are "
        + ("bit for bit the same in both versions" if rows[name]["bit for bit"] else
           f"the same in both versions to {REL_TOL:g}")
        for name in ("A1", "A2") if name in rows
    ]  # fmt: skip
    if "M" in rows:
        checks.append(f"M's and GPT's losses are the microgpt-style engine's to {G_REL_TOL:g}")
    lines += ["", "checked in every round: " + "; ".join(checks)]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
