"""The seed articles' demos: short runs whose numbers and pictures are checked for real.

The full runs (the articles' epochs, and the accuracies the issue expects) are marked slow.
"""

import math
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tinygrad_edu import GPT, load_names, split_names
from tinygrad_edu.cli import main
from tinygrad_edu.demos import DEMOS, digits, feedforward, houses, load, moons, names, neuron, tour

ROOT = Path(__file__).resolve().parent.parent


def assert_valid_png(path: Path, min_width: int = 400, min_height: int = 300) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert width >= min_width and height >= min_height, (path, width, height)
    pixels = imread(path)  # decodes every chunk: a truncated file fails here
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.05, f"{path} is blank"


def test_the_neuron_learns_and_its_gradients_are_the_chain_rule_by_hand(tmp_path, capsys):
    result = neuron.run(epochs=4, seed=0, out=tmp_path)
    assert all(b < a for a, b in zip(result.losses, result.losses[1:]))
    assert all(b > a for a, b in zip(result.predictions, result.predictions[1:]))  # towards 1
    assert result.max_gradient_difference < 1e-15
    out = capsys.readouterr().out
    for stage in ("1. Forward", "2. Loss", "3. Backward", "4. Optimize"):
        assert out.count(stage) == 4
    assert result.files == [tmp_path / "neuron_graph.png", tmp_path / "neuron_backprop.html"]
    assert_valid_png(result.files[0], min_width=1000, min_height=100)
    page = result.files[1].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Backprop step by step: L" in page
    # one name for one thing: the weights and inputs as the formulas name them, w1 and x1
    for name in ("w1", "w2", "w3", "x1", "x2", "x3", "dL/dw3"):
        assert name in page, name
    assert "w.0" not in page and "w.2" not in page


def test_feedforward_shows_dl_dz2_is_prediction_minus_truth_and_autograd_is_hand_backprop(
    tmp_path,
):
    result = feedforward.run(epochs=5, seed=0, out=tmp_path)
    np.testing.assert_allclose(result.output_error, result.prediction_minus_truth, atol=1e-15)
    assert sum(result.output_error) == pytest.approx(0.0, abs=1e-15)  # softmax sums to 1
    assert result.max_gradient_difference < 1e-14
    np.testing.assert_allclose(result.reference_losses, result.losses, rtol=1e-13)
    assert result.losses[-1] < result.losses[0] / 2


def test_moons_learns_agrees_with_the_reference_and_draws_three_pictures(tmp_path, capsys):
    result = moons.run(epochs=30, seed=0, out=tmp_path)
    assert result.losses[-1] < 0.9 * result.losses[0]
    assert len(result.reference_losses) == 30
    assert result.max_relative_difference < 1e-12
    np.testing.assert_allclose(result.reference_losses, result.losses, rtol=1e-12)
    assert 0.5 < result.test_accuracy <= 1.0
    assert all(0.0 < p < 1.0 for p in result.test_point_probabilities)
    assert [p.name for p in result.files] == [
        "moons_loss.png",
        "moons_boundary_train.png",
        "moons_boundary_test.png",
    ]
    for path in result.files:
        assert path.parent == tmp_path
        assert_valid_png(path)
    out = capsys.readouterr().out
    assert "Epoch 30/30 - Loss:" in out
    assert "Point [0.5, -0.5]: predicted class" in out


def test_houses_learns_the_law_and_its_three_layers_are_one_linear_map(tmp_path, capsys):
    result = houses.run(epochs=60, seed=0, out=tmp_path)
    assert result.losses[-1] < result.losses[0] / 10
    assert result.max_collapse_difference < 1e-12
    assert result.effective_weights[0] == pytest.approx(result.least_squares_weights[0], abs=0.1)
    for path in result.files:
        assert_valid_png(path, min_height=250)
    out, err = capsys.readouterr()
    assert "it/s" not in err  # no progress bar where the output is not a terminal
    assert "  epoch    loss\n" in out and "|" not in out  # a plain-text table, not Markdown
    for epoch in (0, 20, 40):
        assert f"\n  {epoch:5d}  {result.losses[epoch]:.4f}\n" in out
    assert "Why three layers are one" in out


def test_houses_data_follow_the_articles_law():
    X, y = houses.houses(n=2000)
    coefficients = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    assert coefficients[0] == pytest.approx(600.0, rel=0.02)  # size dominates the price


def test_digits_trains_on_real_handwriting_and_draws_its_confusion_matrix(tmp_path):
    result = digits.run(epochs=1, seed=0, out=tmp_path)
    assert np.mean(result.losses[-5:]) < np.mean(result.losses[:5]) / 2
    assert result.confusion.shape == (10, 10) and result.confusion.sum() == 360
    assert np.trace(result.confusion) / 360 == pytest.approx(result.test_accuracy)
    assert result.test_accuracy > 0.7  # one epoch already reads most digits
    assert [p.name for p in result.files] == [
        "digits_loss.png",
        "digits_confusion.png",
        "digits_samples.png",
    ]
    for path in result.files:
        assert_valid_png(path)


HELD_OUT_LINE = re.compile(r"^held-out loss (\d+\.\d{3}) \(bigram (\d+\.\d{3})\)$", re.MULTILINE)


def test_names_trains_a_gpt_then_samples_names_and_draws_its_attention(tmp_path, capsys):
    result = names.run(steps=40, batch=4, seed=0, out=tmp_path)
    assert (result.training_names, result.held_out_names) == (4647, 516)
    assert len(result.losses) == 40
    assert result.losses[0] == pytest.approx(math.log(27), abs=0.15)  # a guess among 27 tokens
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10]) - 0.3
    out = capsys.readouterr().out
    printed = HELD_OUT_LINE.search(out)
    assert printed, out
    assert float(printed[1]) == pytest.approx(result.held_out_loss, abs=5e-4)
    assert float(printed[2]) == pytest.approx(result.bigram_loss, abs=5e-4)
    assert 2.0 < result.held_out_loss < math.log(27) and 2.2 < result.bigram_loss < 2.5
    training = set(split_names(load_names(), 0)[0])
    assert len(result.samples) == 20 and all(re.fullmatch("[a-z]*", s) for s in result.samples)
    assert result.new_samples == sum(s not in training for s in result.samples)
    assert f"20 names sampled at temperature 0.5, {result.new_samples} of them not in" in out
    assert [p.name for p in result.files] == ["names_loss.png", "names_attention.png"]
    for path in result.files:
        assert_valid_png(path)


def test_names_with_batch_1_trains_exactly_as_microgpt(tmp_path):
    """microgpt's schedule, written out as microgpt writes it (one name a step, the mean of
    -log p(next) over its positions, its Adam with the decaying learning rate) on the same
    weights, eagerly: the demo's losses under jit, padded, are the same."""
    steps = 5
    demo = names.run(steps=steps, batch=1, seed=0, out=tmp_path)
    model = GPT(seed=0)
    params = model.parameters()
    m, v = [0.0] * len(params), [0.0] * len(params)
    training = split_names(load_names(), 0)[0]
    losses = []
    for step in range(steps):
        tokens = [26] + ["abcdefghijklmnopqrstuvwxyz".index(c) for c in training[step]] + [26]
        rows = [[1.0 if i == t else 0.0 for i in range(27)] for t in tokens]
        n = len(tokens) - 1
        terms = []
        for z, target in zip(model(rows[:n]), tokens[1:]):
            shift = max(zi.data for zi in z)
            exps = [(zi - shift).exp() for zi in z]
            terms.append(-(exps[target] / sum(exps)).log())
        loss = (1 / n) * sum(terms)
        model.zero_grad()
        loss.backward()
        lr = 0.01 * (1 - step / steps)
        for i, p in enumerate(params):
            m[i] = 0.85 * m[i] + 0.15 * p.grad
            v[i] = 0.99 * v[i] + 0.01 * p.grad**2
            m_hat, v_hat = m[i] / (1 - 0.85 ** (step + 1)), v[i] / (1 - 0.99 ** (step + 1))
            p.data -= lr * m_hat / (v_hat**0.5 + 1e-8)
        losses.append(loss.data)
    np.testing.assert_allclose(demo.losses, losses, rtol=1e-9)


def test_names_reads_a_file_of_names(tmp_path, capsys):
    data = tmp_path / "names.txt"
    data.write_text("\n".join(["Emma", "olivia", "ava", "mia", "noah", "liam", "ella", "leo"] * 2))
    result = names.run(steps=3, batch=2, data=data, seed=1, out=tmp_path)
    assert (result.training_names, result.held_out_names) == (7, 1)  # 8 names, each once
    assert f"Names: 8 from {data}: 7 to train on, 1 held out" in capsys.readouterr().out


def test_a_demo_is_deterministic_for_a_seed(tmp_path):
    first = houses.run(epochs=5, seed=3, out=tmp_path)
    again = houses.run(epochs=5, seed=3, out=tmp_path)
    other = houses.run(epochs=5, seed=4, out=tmp_path)
    assert first.losses == again.losses
    assert first.losses != other.losses


def test_the_demo_command_runs_a_demo_and_lists_the_files_it_wrote(tmp_path, capsys):
    assert main(["demo", "houses", "--epochs", "3", "--seed", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Files written:" in out
    for name in ("houses_loss.png", "houses_predictions.png"):
        assert str(tmp_path / name) in out
        assert_valid_png(tmp_path / name, min_height=250)


def test_a_demo_runs_as_a_script(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "demos" / "neuron.py"),
            "--epochs",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Step 2" in result.stdout
    assert f"Files written:\n  {tmp_path / 'neuron_graph.png'}" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["demo"],
        ["demo", "nope"],
        ["demo", "moons", "--epochs", "0"],
        ["demo", "moons", "--lr", "-0.1"],
        ["demo", "houses", "--out", __file__],  # a file where the folder should be
        ["demo", "names", "--batch", "0"],
        ["demo", "names", "--data", str(ROOT)],  # a folder where the file of names should be
    ],
)
def test_bad_demo_arguments_exit_with_status_2_before_any_work(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "House prices" not in capsys.readouterr().out


def test_every_demo_has_a_script_and_a_module():
    assert sorted(p.stem for p in (ROOT / "demos").glob("*.py")) == sorted(DEMOS)
    for name in DEMOS:
        assert callable(load(name).run) and callable(load(name).main)
    with pytest.raises(ValueError, match="unknown demo 'nope'"):
        load("nope")


@pytest.mark.slow  # among the longest: CI runs the slow tests once, on 3.11
def test_the_tour_runs_every_demo_and_ends_with_where_the_pictures_are(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(tour, "TOUR_EPOCHS", {name: 1 for name in tour.TOUR_EPOCHS})
    assert main(["tour", "--steps", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert list(tour.TOUR_EPOCHS) == list(DEMOS)
    for name in DEMOS:
        assert f"  {name}: " in out
    ending = out[out.index("The pictures (plots, and the neuron's computation graph) and") :]
    assert str(tmp_path.resolve()) in ending
    pictures = sorted(tmp_path.glob("*.png"))
    assert len(pictures) == 11  # ten plots (two of them the names demo's) and the neuron's graph
    assert tmp_path / "neuron_graph.png" in pictures
    for path in [*pictures, tmp_path / "neuron_backprop.html"]:
        assert path.is_file() and f"  {path.name}\n" in ending
    assert "Open neuron_backprop.html in a browser to watch backprop step by step" in ending


@pytest.mark.slow
def test_the_full_demos_reach_the_expected_accuracies(tmp_path):
    default = moons.run(seed=0, out=tmp_path / "moons")  # lr 1.0, 1000 epochs
    assert default.test_accuracy >= 0.95
    assert default.max_relative_difference < 1e-12
    article = moons.run(seed=0, out=tmp_path / "moons_article", lr=moons.SLOW_LEARNING_RATE)
    assert article.test_accuracy >= 0.90
    assert article.max_relative_difference < 1e-12
    assert digits.run(seed=0, out=tmp_path / "digits").test_accuracy >= 0.90
    assert houses.run(seed=0, out=tmp_path / "houses").losses[-1] < 0.01


@pytest.mark.slow
def test_the_full_names_demo_beats_the_bigram_model_by_015_nats(tmp_path):
    default = names.run(seed=0, out=tmp_path)  # 1,000 steps of 8 names
    assert default.held_out_loss <= default.bigram_loss - 0.15
    assert default.new_samples >= 10  # most samples are made up, not remembered
    microgpt = names.run(steps=1000, batch=1, seed=0, out=tmp_path)  # microgpt's schedule
    assert microgpt.held_out_loss < microgpt.bigram_loss
