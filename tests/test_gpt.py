"""The GPT of Values (tinygrad_edu/models): its gradients against finite differences and
PyTorch, jit against eager mode, the math of its loss, attention and sampling by hand; the names
it learns from; and the bigram baseline, counted by hand."""

import math
import random

import numpy as np
import pytest

from tinygrad_edu import (
    GPT,
    Bigram,
    decode,
    encode,
    gradcheck_module,
    jit,
    load_names,
    one_hot_batch,
    optim,
    split_names,
)


def rows(tokens, vocab, positions=None):
    """One-hot rows of tokens, padded with rows of zeros to ``positions``."""
    out = [[1.0 if i == t else 0.0 for i in range(vocab)] for t in tokens]
    return out + [[0.0] * vocab] * ((positions or len(tokens)) - len(tokens))


def tiny(seed=1, n_layer=1):
    """A GPT small enough for finite differences: vocabulary 4 (token 3 starts and ends)."""
    return GPT(vocab_size=4, n_embd=4, n_head=2, n_layer=n_layer, block_size=3, seed=seed)


# two sequences, the second padded: [3, 0, 1] -> [0, 1, 3] and [3, 2] -> [2, 3]
TINY_X = [rows([3, 0, 1], 4), rows([3, 2], 4, 3)]
TINY_Y = [rows([0, 1, 3], 4), rows([2, 3], 4, 3)]


def close(a, b, tol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(np.abs(a - b) <= tol * np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0))


# --- the model's numbers -------------------------------------------------------------------------


def test_the_defaults_are_microgpts_published_settings():
    model = GPT()
    assert (model.vocab_size, model.n_embd, model.n_head, model.block_size) == (27, 16, 4, 16)
    assert len(model.layers) == 1
    assert len(model.parameters()) == 4192  # microgpt's count for a vocabulary of 27
    weights = np.array([p.data for p in model.parameters()])
    assert abs(weights.mean()) < 0.005 and 0.075 < weights.std() < 0.085  # N(0, 0.08²)
    again = [p.data for p in GPT().parameters()]
    assert again == weights.tolist()  # seeded
    assert again != [p.data for p in GPT(seed=1).parameters()]


def test_a_numpy_int_seeds_the_model_as_the_same_int_does():
    weights = [p.data for p in tiny(seed=3).parameters()]
    assert [p.data for p in tiny(seed=np.int64(3)).parameters()] == weights


def test_gradients_agree_with_finite_differences_on_a_tiny_gpt():
    assert gradcheck_module(tiny(), lambda m: m.loss(TINY_X, TINY_Y))


def test_two_layers_stack_and_their_gradients_agree_with_finite_differences():
    model = GPT(vocab_size=3, n_embd=2, n_head=1, n_layer=2, block_size=2, seed=4)
    x, y = [rows([2, 0], 3)], [rows([0, 2], 3)]
    assert gradcheck_module(model, lambda m: m.loss(x, y))


def test_the_loss_is_the_mean_of_minus_log_the_probability_of_each_next_token():
    model = tiny()
    by_hand = []
    for x, y in zip(TINY_X, TINY_Y):
        for z, target in zip(model(x), y):
            if any(target):
                zs = [v.data for v in z]
                log_total = math.log(sum(math.exp(v) for v in zs))
                by_hand.append(log_total - zs[target.index(1.0)])
    assert len(by_hand) == 5  # three positions, then two (the third is padding)
    assert model.loss(TINY_X, TINY_Y).data == pytest.approx(sum(by_hand) / 5, rel=1e-14)


def test_padding_and_empty_sequences_change_neither_the_loss_nor_the_gradients():
    model = tiny()
    plain = model.loss([rows([3, 2], 4)], [rows([2, 3], 4)])
    plain.backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    empty = [[0.0] * 4] * 3
    padded = model.loss([rows([3, 2], 4, 3), empty], [rows([2, 3], 4, 3), empty])
    padded.backward()
    assert padded.data == pytest.approx(plain.data, rel=1e-15)
    assert close([p.grad for p in model.parameters()], grads, 1e-15)


def test_a_position_never_sees_the_tokens_after_it():
    model = GPT(seed=2)
    first = model(rows(encode("anna")[:-1], 27))
    other = model(rows(encode("anzu")[:-1], 27))  # differs from position 3 on
    for t in range(3):
        assert [z.data for z in first[t]] == [z.data for z in other[t]]
    assert [z.data for z in first[3]] != [z.data for z in other[3]]


def test_attention_weights_are_causal_and_each_row_sums_to_one():
    model = GPT(n_layer=2, seed=3)
    weights = model.attention(rows(encode("emma")[:-1], 27))
    assert len(weights) == 2 and all(len(layer) == 4 for layer in weights)
    for layer in weights:
        for head in layer:
            w = np.array(head)
            assert w.shape == (5, 5)
            assert np.all(np.triu(w, k=1) == 0.0)
            assert np.allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-15)
            assert w[0, 0] == 1.0  # the first position can only read itself


def test_attention_by_hand_for_one_position():
    """Position 1's first head, recomputed from the weights with numpy."""
    model = tiny()
    x = TINY_X[0]
    wte, wpe = (np.array([[p.data for p in r] for r in m]) for m in (model.wte, model.wpe))
    block = model.layers[0]
    wq, wk = (np.array([[p.data for p in r] for r in m]) for m in (block.wq, block.wk))

    def rms(h):
        return h / np.sqrt(np.mean(h * h) + 1e-5)

    h = [rms(np.array(x[t]) @ wte + wpe[t]) for t in range(2)]
    q, keys = wq @ rms(h[1]), [wk @ rms(ht) for ht in h]
    scores = np.array([q[:2] @ k[:2] for k in keys]) / math.sqrt(2)
    expected = np.exp(scores) / np.exp(scores).sum()
    assert np.allclose(model.attention(x)[0][0][1][:2], expected, rtol=1e-12, atol=0)


def test_generate_samples_within_the_vocabulary_until_the_end_token():
    model = GPT(seed=0)
    samples = [model.generate(26, random.Random(7)) for _ in range(2)]
    assert samples[0] == samples[1]  # the same rng seed, the same sample
    rng = random.Random(0)
    for _ in range(20):
        tokens = model.generate(26, rng, temperature=0.5)
        assert len(tokens) <= model.block_size and all(0 <= t < 26 for t in tokens)
    sharp = tiny()
    for p in [p for row in sharp.lm_head for p in row]:
        p.data *= 300  # logits hundreds apart: at temperature 1, always the likeliest token
    rng = random.Random(0)
    cold = {tuple(sharp.generate(3, rng, temperature=1.0)) for _ in range(30)}
    hot = {tuple(sharp.generate(3, rng, temperature=1e4)) for _ in range(30)}
    assert len(cold) == 1 and len(hot) > 5


@pytest.mark.parametrize("temperature", [0.0, -1.0, math.inf])
def test_generate_refuses_a_temperature_that_is_not_positive(temperature):
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        GPT().generate(26, random.Random(0), temperature)


# --- jit ---------------------------------------------------------------------------------------


def test_under_jit_training_gives_eager_modes_losses_and_weights_to_1e_12():
    """Five Adam steps on batches of three names of different lengths, padded to one shape:
    one model trained eagerly, one under jit, from the same weights."""
    names = ["emma", "bo", "christine", "al", "zoe", "maximilian", "ida", "lou", "anna"]
    eager_model, jit_model = GPT(seed=5), GPT(seed=5)

    @jit
    def jit_loss(tokens, targets):
        return jit_model.loss(tokens, targets)

    trained = []
    for model, loss_of in ((eager_model, eager_model.loss), (jit_model, jit_loss)):
        adam = optim.Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
        steps = []
        for step in range(5):
            batch = [names[(3 * step + i) % len(names)] for i in range(3)]
            loss = loss_of(*one_hot_batch(batch, 11))
            adam.zero_grad()
            loss.backward()
            steps.append((loss.data, [p.grad for p in model.parameters()]))
            adam.lr = 0.01 * (1 - step / 5)
            adam.step()
        trained.append((steps, [p.data for p in model.parameters()]))
    (eager_steps, eager_weights), (jit_steps, jit_weights) = trained
    assert len(jit_loss.programs) == 1  # every batch replayed one capture
    for (eager_loss, eager_grads), (jit_loss_value, jit_grads) in zip(eager_steps, jit_steps):
        assert close(jit_loss_value, eager_loss)
        assert close(jit_grads, eager_grads)
    assert close(jit_weights, eager_weights)
    assert jit_weights != [p.data for p in GPT(seed=5).parameters()]  # it did train


# --- PyTorch -------------------------------------------------------------------------------


def test_loss_and_gradients_agree_with_pytorch():
    """The same network written as PyTorch matrices (a causal mask instead of a growing
    cache), in float64: the loss and every gradient to 1e-12."""
    torch = pytest.importorskip("torch", reason="no PyTorch: installed on Python 3.11 only")
    model = GPT(vocab_size=27, n_embd=8, n_head=2, n_layer=2, block_size=8, seed=6)
    x, y = one_hot_batch(["ada", "jo", "rowena"], 7)
    loss = model.loss(x, y)
    loss.backward()

    def tensor(matrix):
        return torch.tensor([[p.data for p in row] for row in matrix], dtype=torch.float64)

    matrices = {"wte": model.wte, "wpe": model.wpe, "lm_head": model.lm_head}
    for i, block in enumerate(model.layers):
        for w in ("wq", "wk", "wv", "wo", "fc1", "fc2"):
            matrices[f"layers.{i}.{w}"] = getattr(block, w)
    W = {n: tensor(m).requires_grad_() for n, m in matrices.items()}
    X, Y = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    batch, positions, _ = X.shape

    def rms(h):
        return h * (h.pow(2).mean(-1, keepdim=True) + 1e-5) ** -0.5

    def heads(m):  # (B, T, E) -> (B, H, T, d)
        return m.view(batch, positions, 2, -1).transpose(1, 2)

    h = rms(X @ W["wte"] + W["wpe"][:positions])
    future = torch.triu(torch.ones(positions, positions, dtype=torch.bool), diagonal=1)
    for i in range(2):
        w = {k: W[f"layers.{i}.{k}"] for k in ("wq", "wk", "wv", "wo", "fc1", "fc2")}
        n = rms(h)
        q, k, v = (heads(n @ w[m].T) for m in ("wq", "wk", "wv"))
        scores = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(future, -math.inf)
        o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, positions, -1)
        h = h + o @ w["wo"].T
        h = h + torch.relu(rms(h) @ w["fc1"].T) @ w["fc2"].T
    logits = h @ W["lm_head"].T
    reference = -(Y * torch.log_softmax(logits, -1)).sum() / Y.sum()
    reference.backward()
    assert close(loss.data, reference.item())
    for name, matrix in matrices.items():
        assert close([[p.grad for p in row] for row in matrix], W[name].grad.numpy()), name


# --- the names ---------------------------------------------------------------------------------


def test_the_census_names_ship_with_the_names_package():
    names = load_names()
    assert len(names) == 5163  # distinct: some names are in both the female and the male list
    assert len(set(names)) == len(names)
    assert names[:3] == ["mary", "patricia", "linda"]  # the female list first, most common first
    assert "james" in names and "christopher" in names
    assert all(name.isascii() and name.isalpha() and name.islower() for name in names)
    assert max(map(len, names)) == 11 and min(map(len, names)) == 2


def test_a_file_of_names_is_read_one_per_line(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("Emma\n  olivia  \n\nAVA\nemma\n")
    assert load_names(path) == ["emma", "olivia", "ava"]  # lower-case, each once, in order
    assert load_names(str(path), max_letters=6) == ["emma", "olivia", "ava"]
    with pytest.raises(ValueError, match=r"line 2: 'olivia' has 6 letters, more than the 5"):
        load_names(path, max_letters=5)


def test_the_split_is_seeded_ninety_ten_and_disjoint():
    names = load_names()
    train, held_out = split_names(names, seed=0)
    assert (len(train), len(held_out)) == (4647, 516)
    assert sorted(train + held_out) == sorted(names)
    assert split_names(names, seed=0) == (train, held_out)
    assert split_names(names, seed=1)[1] != held_out


def test_tokens_and_one_hot_rows_of_a_batch():
    assert encode("emma") == [26, 4, 12, 12, 0, 26]
    assert decode([26, 4, 12, 12, 0, 26]) == "emma" and decode([]) == ""
    inputs, targets = one_hot_batch(["bo", "a"], 4, size=3)
    assert np.array(inputs).shape == np.array(targets).shape == (3, 4, 27)
    assert [row.index(1.0) for row in inputs[0][:3]] == [26, 1, 14]
    assert [row.index(1.0) for row in targets[0][:3]] == [1, 14, 26]
    assert inputs[0][3] == targets[0][3] == [0.0] * 27  # padding
    assert np.array(inputs[2]).sum() == np.array(targets[2]).sum() == 0.0  # filling up


# --- the bigram baseline -----------------------------------------------------------------------


def test_the_bigram_model_counts_pairs_with_add_one_smoothing():
    """Training names "ab" and "b": tokens [26 0 1 26] and [26 1 26], so the pairs are
    26→0, 0→1, 1→26 (twice) and 26→1. Held out "a": 26→0 and 0→26."""
    bigram = Bigram(["ab", "b"])
    assert bigram.counts[26][0] == 1 and bigram.counts[1][26] == 2 and bigram.counts[0][26] == 0
    assert bigram.probability(26, 0) == pytest.approx((1 + 1) / (2 + 27))  # from BOS: 2 pairs
    assert bigram.probability(0, 26) == pytest.approx((0 + 1) / (1 + 27))  # never seen
    expected = -(math.log(2 / 29) + math.log(1 / 28)) / 2
    assert bigram.loss(["a"]) == pytest.approx(expected, rel=1e-15)
    total = sum(bigram.probability(1, b) for b in range(27))
    assert total == pytest.approx(1.0, rel=1e-15)  # a distribution over the next token
