"""Fuzzing the two parsers of untrusted input, 10,000 examples each (slow: -m slow).

`tinygrad-edu graph EXPR` and `load(path)` take text from anyone. Junk in, only their
documented errors out: argparse's usage error (exit status 2, one line on stderr) for the
command, ModelFileError for a file (and, documented too, ValueError for a custom Module's file
without ``into``, or one loaded into a model it does not fit). Nothing is written on an error,
and no example may run past TIME_LIMIT (a hang guard: speed is for benchmarks/).
"""

import contextlib
import hashlib
import io
import json
import math
import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tinygrad_edu import MLP, Layer, ModelFileError, Module, Neuron, load, save
from tinygrad_edu.cli import main
from tinygrad_edu.expression import ExpressionError, functions, parse_expression
from tinygrad_edu.saving import architecture_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="the time limit needs SIGALRM"),
]

EXAMPLES = 10_000
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIME_LIMIT = 5.0  # seconds for one example, which takes milliseconds


class Hang(BaseException):
    """An example ran past TIME_LIMIT (a BaseException: no `except Exception` swallows it)."""


@contextlib.contextmanager
def time_limit(seconds=TIME_LIMIT):
    def expire(signum, frame):
        raise Hang(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def in_empty_folder():
    """A fresh temporary folder as the working directory; yields it."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(here)


# --- the expression of `tinygrad-edu graph` ------------------------------------------------------

# pieces of what people type, and of what an attacker tries: near-valid text reaches the
# checker and the evaluator, where plain random text stops at the syntax
TOKENS = [
    *functions(),
    "x", "w", "b", "x1", "_", "__import__", "os", "eval", "lambda", "if", "else", "not", "and",
    "0", "1", "2.5", ".5", "1e308", "1e999", "0x10", "1_000", "1j", "True", "None", "'a'",
    "+", "-", "*", "/", "**", "//", "%", "@", "^", "&", "|", "~", "<", "==", ":=", "=",
    "(", ")", "[", "]", "{", "}", ",", ".", ":", ";", " ", "  ", "\t", "\n", "\x00", "é", "∑",
]  # fmt: skip
# well-formed Python, of allowed and forbidden parts: these get past the syntax to the checks
ATOMS = ["x", "w", "b", "0", "1", "2.5", "1e308", "1e999", "0x10", "True", "None", "'a'", "os"]
CALLED = [*functions(), "eval", "__import__", "getattr", "open", "x", "(lambda: x)", "x.y"]
python_texts = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "//", "%", "<", "and"]), inner)
        .map(" ".join)
        .map("({})".format),
        st.tuples(st.sampled_from(["-", "+", "~", "not "]), inner).map("".join),
        st.tuples(st.sampled_from(CALLED), inner).map("{0[0]}({0[1]})".format),
        st.tuples(st.sampled_from(CALLED), inner, inner).map("{0[0]}({0[1]}, {0[2]})".format),
        inner.map("{}.__class__".format),
        inner.map("{}[0]".format),
        inner.map("[{}]".format),
        inner.map("{} if x else 1".format),
    ),
    max_leaves=8,
)
expression_texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(TOKENS), max_size=60).map("".join),
    python_texts,
    st.integers(1, 120).map(lambda depth: "(" * depth + "x" + ")" * depth),
    st.integers(1, 80).map(lambda depth: "tanh(" * depth + "x" + ")" * depth),
    st.integers(1, 150).map(lambda n: "x" + "**x" * n),
)
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-320, 1e308, -1e308, 710.0]),
)


@FUZZ
@given(text=expression_texts, data=st.data())
def test_the_graph_command_answers_any_expression_with_a_picture_or_a_usage_error(text, data):
    try:
        variables = parse_expression(text).variables  # to set each one, as a user would
    except ExpressionError:
        variables = ()
    argv = ["graph", text, "-o", "g.gv"]  # the DOT text: no renderer, and it is all we test
    for name in variables:
        argv += ["--set", f"{name}={data.draw(numbers, label=name)!r}"]
    stderr = io.StringIO()
    with in_empty_folder() as folder, time_limit():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            try:
                status = main(argv)
            except SystemExit as exit:
                status = exit.code
        written = sorted(p.name for p in folder.iterdir())
    event("drawn" if status == 0 else "a usage error")  # --hypothesis-show-statistics
    if status == 0:
        assert written == ["g.gv"]
    else:
        assert status == 2, f"exit status {status}: {stderr.getvalue()}"
        assert "error:" in stderr.getvalue() and "Traceback" not in stderr.getvalue()
        assert written == []


# --- the model file of `load` --------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
junk_sizes = st.one_of(st.integers(-3, 0), st.sampled_from([10**8, 2**63, 10**40]), json_values)
junk_activations = json_values


def rarely(draw):
    """True one time in four (st.booleans() would be half the time)."""
    return draw(st.sampled_from([False, False, False, True]))


@st.composite
def architectures(draw):
    """Half of them well formed (small sizes, known activations), the rest with junk for
    numbers; rarely an unknown type, a key missing or added, or not an architecture at all."""
    if draw(st.booleans()):
        size, activation = st.integers(1, 4), st.sampled_from(["relu", "tanh", "sigmoid", "linear"])
        nouts = st.lists(size, min_size=1, max_size=4)
    else:
        size, activation = st.integers(1, 4) | junk_sizes, st.just("relu") | junk_activations
        nouts = st.lists(size, max_size=4) | json_values
    kind = draw(json_values) if rarely(draw) else draw(st.sampled_from(["MLP", "Layer", "Neuron"]))
    fields = {"nin": size, "nout": size, "activation": activation}
    if kind == "MLP":
        fields = {
            "nin": size,
            "nouts": nouts,
            "activation": activation,
            "output_activation": activation,
        }
    elif kind == "Neuron":
        del fields["nout"]
    architecture = {"type": kind, **{k: draw(v, label=k) for k, v in fields.items()}}
    if rarely(draw):
        key = draw(st.sampled_from([*architecture, "extra"]))
        if key in architecture and draw(st.booleans()):
            del architecture[key]
        else:
            architecture[key] = draw(json_values)
    return draw(st.none() | json_values) if rarely(draw) else architecture


def arrays_for(architecture):
    """The state_dict of the module that architecture describes, if well formed and small
    (sizes 1 to 4), so that some forged files are right in every number; else {}."""
    a = architecture if isinstance(architecture, dict) else {}
    nouts = a.get("nouts") if isinstance(a.get("nouts"), list) else []
    if not all(type(n) is int and 1 <= n <= 4 for n in [a.get("nin"), a.get("nout", 1), *nouts]):
        return {}
    try:
        if a.get("type") == "MLP":
            module = MLP(a["nin"], nouts, a["activation"], a["output_activation"])
        elif a.get("type") == "Layer":
            module = Layer(a["nin"], a["nout"], a["activation"])
        elif a.get("type") == "Neuron":
            module = Neuron(a["nin"], a["activation"])
        else:
            return {}
    except (KeyError, TypeError, ValueError):  # a key missing, an unknown activation, nouts []
        return {}
    return {name: array.tolist() for name, array in module.state_dict().items()}


@st.composite
def model_documents(draw):
    """A model file's document, its sha256 recomputed (the checksum stops only corruption)."""
    architecture = draw(architectures())
    state = arrays_for(architecture)
    how = draw(st.sampled_from(["fits", "fits", "another's", "edited", "junk"]))
    if how == "another's":  # a forger's claim: the architecture says more (or less) than this
        state = arrays_for(draw(architectures()))
    elif how == "edited":
        keys = st.sampled_from([*state, "layers.9.bias", "weight"])
        state = {**state, **draw(st.dictionaries(keys, json_values, min_size=1, max_size=2))}
    elif how == "junk":
        state = draw(json_values)
    document = {"format": "tinygrad_edu.model", "version": 1, "architecture": architecture}
    canonical = json.dumps(
        {"architecture": architecture, "state_dict": state}, sort_keys=True, separators=(",", ":")
    )
    document["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    document["state_dict"] = state
    if rarely(draw):
        document[draw(st.sampled_from([*document, "extra"]))] = draw(json_values)
    return json.dumps(document).encode()


def a_saved_model():
    with tempfile.TemporaryDirectory() as folder:
        save(MLP(2, [3, 1], activation="tanh", seed=0), Path(folder) / "m.json")
        return (Path(folder) / "m.json").read_bytes()


SAVED = a_saved_model()


@st.composite
def damaged(draw):
    """A real file, cut, spliced or with bytes replaced."""
    data = bytearray(SAVED)
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 40)))
        data[start:end] = draw(st.binary(max_size=20) | st.sampled_from([b"[" * 5000, b"9" * 5000]))
    return bytes(data)


FILES = [
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    damaged(),
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
]
# the forger's files get furthest into load: six in ten
model_files = st.sampled_from(range(10)).flatmap(
    lambda i: FILES[i] if i < len(FILES) else model_documents()
)


KINDS = [  # of ModelFileError, for --hypothesis-show-statistics: how deep the fuzzing got
    "not UTF-8", "not complete JSON", "nests too deeply", "no \"format\"", "format version",
    "has no", "malformed", "beyond the float range", "sha256", "digits", "not an array",
    "not a rectangular", "unknown architecture type", "architecture has the keys",
    "positive int", "nouts must be", "unknown activation", "unknown output_activation",
    "do not fit",
]  # fmt: skip


def kind_of(error):
    return next((kind for kind in KINDS if kind in str(error)), str(error))


def snapshot(module):
    return [(name, p.data.hex(), repr(p.grad)) for name, p in module.named_parameters()]


@FUZZ
@given(data=model_files, into=st.booleans())
def test_load_answers_any_file_with_a_model_or_a_model_file_error(data, into):
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    before = snapshot(model)
    with in_empty_folder() as folder, time_limit():
        (folder / "m.json").write_bytes(data)
        try:
            loaded = load("m.json", into=model if into else None)
        except ModelFileError as error:
            event(f"ModelFileError: {kind_of(error)}")
            loaded = None
        except ValueError as error:  # documented: a custom Module's file needs into, and a
            assert into or "custom Module" in str(error), error  # file must fit into's model
            event("ValueError")
            loaded = None
        written = sorted(p.name for p in folder.iterdir())
    assert written == ["m.json"]
    if loaded is None:
        assert snapshot(model) == before  # an error changes nothing
        return
    assert isinstance(loaded, Module)
    event("loaded")
    document = json.loads(data)  # it loaded, so the file is what save writes: check it all
    if document["architecture"] is not None:
        assert architecture_of(loaded) == document["architecture"]
    state = loaded.state_dict()
    assert set(state) == set(document["state_dict"])
    for name, array in state.items():
        assert np.array_equal(array, np.array(document["state_dict"][name], dtype=float))
        assert all(math.isfinite(x) for x in array.ravel())
