"""Saving and loading: the documented file format, bit-exact round trips, atomic writes, and
files that are truncated or corrupted anywhere."""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import MLP, Layer, ModelFileError, Module, Neuron, Value, load, save
from tinygrad_edu.testing import mlps


def bits(model):
    return np.array([p.data for p in model.parameters()]).tobytes()


@given(model=mlps(), data=st.data())
def test_a_round_trip_is_bit_exact_for_any_finite_weights(model, data):
    # extreme floats too: subnormals, -0.0, the largest double, many digits
    for p in model.parameters():
        p.data = data.draw(st.floats(allow_nan=False, allow_infinity=False), label="weight")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.json"
        save(model, path)
        back = load(path)
    assert repr(back) == repr(model)
    assert bits(back) == bits(model)


@pytest.mark.parametrize(
    "module",
    [Layer(3, 2, activation="tanh", rng=0), Neuron(2, activation="sigmoid", rng=0)],
    ids=["Layer", "Neuron"],
)
def test_a_layer_or_a_neuron_is_rebuilt_from_its_file(module, tmp_path):
    save(module, tmp_path / "m.json")
    back = load(tmp_path / "m.json")
    assert type(back) is type(module) and repr(back) == repr(module)
    assert bits(back) == bits(module)


def test_the_file_is_the_documented_json(tmp_path):
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    save(model, tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert list(document) == ["format", "version", "architecture", "sha256", "state_dict"]
    assert document["format"] == "tinygrad_edu.model" and document["version"] == 1
    assert document["architecture"] == {
        "type": "MLP",
        "nin": 2,
        "nouts": [3, 1],
        "activation": "tanh",
        "output_activation": "linear",
    }
    assert document["state_dict"] == {k: v.tolist() for k, v in model.state_dict().items()}
    canonical = json.dumps(
        {"architecture": document["architecture"], "state_dict": document["state_dict"]},
        sort_keys=True,
        separators=(",", ":"),
    )
    assert document["sha256"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_load_into_an_existing_model_keeps_its_values(tmp_path):
    save(MLP(2, [2, 1], seed=1), tmp_path / "m.json")
    model = MLP(2, [2, 1], seed=0)
    params = model.parameters()
    assert load(tmp_path / "m.json", into=model) is model
    assert model.parameters() == params and bits(model) == bits(MLP(2, [2, 1], seed=1))


def test_a_custom_module_is_loaded_into_one_built_by_hand(tmp_path):
    class Affine(Module):
        def __init__(self, scale):
            self.scale = Value(scale)
            self.inner = Neuron(2, rng=0)

    save(Affine(3.0), tmp_path / "affine.json")
    with pytest.raises(ValueError, match="into=module"):
        load(tmp_path / "affine.json")
    assert load(tmp_path / "affine.json", into=Affine(1.0)).scale.data == 3.0


def test_saving_over_a_file_replaces_it_and_leaves_no_temporary_file(tmp_path):
    save(MLP(2, [1], seed=0), tmp_path / "m.json")
    save(MLP(2, [1], seed=1), tmp_path / "m.json")
    assert os.listdir(tmp_path) == ["m.json"]
    assert bits(load(tmp_path / "m.json")) == bits(MLP(2, [1], seed=1))


@pytest.mark.parametrize("failing", ["os.fsync", "os.replace"])
def test_a_crash_while_saving_leaves_the_old_file_whole(failing, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    save(MLP(2, [4, 1], seed=0), path)
    old = path.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt  # the process is stopped mid-write

    monkeypatch.setattr(failing, crash)
    with pytest.raises(KeyboardInterrupt):
        save(MLP(2, [4, 1], seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["m.json"]


def test_a_saved_file_has_the_usual_permissions(tmp_path):
    save(MLP(1, [1], seed=0), tmp_path / "m.json")
    (tmp_path / "plain").write_text("")
    assert (tmp_path / "m.json").stat().st_mode == (tmp_path / "plain").stat().st_mode


@pytest.mark.skipif(os.name == "nt", reason="symbolic links and modes are POSIX's")
def test_saving_through_a_symlink_replaces_the_file_it_points_to_and_keeps_the_link(tmp_path):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "m.json"
    save(MLP(2, [1], seed=0), target)
    link = tmp_path / "latest.json"
    link.symlink_to(Path("models") / "m.json")
    save(MLP(2, [1], seed=1), link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("models", "m.json")
    assert bits(load(target)) == bits(MLP(2, [1], seed=1))
    assert sorted(os.listdir(tmp_path / "models")) == ["m.json"]  # no temporary file left


@pytest.mark.skipif(os.name == "nt", reason="symbolic links and modes are POSIX's")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_saving_over_a_file_keeps_its_permissions(mode, tmp_path):
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    path.chmod(mode)
    save(MLP(2, [1], seed=1), path)  # (a read-only file is replaced as mv replaces it)
    assert path.stat().st_mode & 0o777 == mode
    assert bits(load(path)) == bits(MLP(2, [1], seed=1))


def test_a_file_with_integers_past_int64_loads_them_as_floats(tmp_path):
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    document = json.loads(path.read_text())
    weights = document["state_dict"]["layers.0.weight"]
    weights[0] = [2**63, -(2**70)]  # JSON integers have no size limit
    canonical = json.dumps(  # the checksum, as the file format documents it
        {k: document[k] for k in ("architecture", "state_dict")},
        sort_keys=True,
        separators=(",", ":"),
    )
    document["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    path.write_text(json.dumps(document))
    assert [p.data for p in load(path).parameters()[:2]] == [2.0**63, -(2.0**70)]


def test_every_truncation_of_a_file_is_detected(tmp_path):
    path = tmp_path / "m.json"
    save(MLP(2, [2, 1], seed=0), path)
    data = path.read_bytes().rstrip()
    model = MLP(2, [2, 1], seed=3)
    before = bits(model)
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            load(path, into=model)
    assert bits(model) == before


def test_every_changed_digit_is_detected(tmp_path):
    path = tmp_path / "m.json"
    save(MLP(2, [2, 1], activation="tanh", seed=0), path)
    data = path.read_bytes()
    body = data.index(b'"state_dict"')
    digits = [i for i in range(body, len(data)) if data[i : i + 1].isdigit()]
    for i in digits:
        changed = b"1" if data[i : i + 1] != b"1" else b"2"
        path.write_bytes(data[:i] + changed + data[i + 1 :])
        with pytest.raises(ModelFileError, match="corrupted"):
            load(path)
