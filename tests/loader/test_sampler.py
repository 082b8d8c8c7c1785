"""The samplers: the reference's modality-grouped order, rank sharding, per-epoch seeds, exact mid-epoch resume."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

from llavamix.foundation.errors import ConfigError  # noqa: E402
from llavamix.loader import LengthGroupedSampler, ShuffleSampler  # noqa: E402
from tests.loader import reference  # noqa: E402


def _lengths(n, text_share, seed=0):
    rng = random.Random(seed)
    return [(-1 if rng.random() < text_share else 1) * rng.randint(1, 300) for _ in range(n)]


CASES = [
    (_lengths(1000, 0.3), 4, 2),
    (_lengths(257, 0.5, 1), 3, 1),
    (_lengths(100, 0.0, 2), 8, 4),
    (_lengths(100, 1.0, 3), 2, 3),
    (_lengths(10, 0.5, 4), 16, 2),
]


@pytest.mark.parametrize("lengths,batch,world", CASES, ids=range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 7])
def test_order_equals_reference_sampler(lengths, batch, world, seed):
    # the reference trainer builds its sampler without a generator: every draw is from torch's global RNG
    torch.manual_seed(seed)
    expected = list(reference.trainer.LengthGroupedSampler(batch, world, lengths=lengths, group_by_modality=True))
    ours = LengthGroupedSampler(lengths, batch, grad_accum=world, seed=seed)
    assert ours.rank_order() == expected


@pytest.mark.parametrize("seed", [0, 3])
def test_length_only_grouping_equals_reference(seed):
    lengths = [abs(n) for n in _lengths(300, 0.4)]
    torch.manual_seed(seed)
    expected = list(reference.trainer.LengthGroupedSampler(4, 2, lengths=lengths, group_by_modality=False))
    ours = LengthGroupedSampler(lengths, 4, grad_accum=2, seed=seed, group_by_modality=False)
    assert ours.rank_order() == expected


def test_ranks_take_alternate_batches_of_the_global_order():
    lengths = _lengths(96, 0.3)
    ranks = [LengthGroupedSampler(lengths, 4, world_size=3, rank=r, seed=5) for r in range(3)]
    orders = [list(s) for s in ranks]
    torch.manual_seed(5)
    expected = list(reference.trainer.LengthGroupedSampler(4, 3, lengths=lengths, group_by_modality=True))
    batches = [expected[k : k + 4] for k in range(0, 96, 4)]
    for r, order in enumerate(orders):
        assert order == [i for b in batches[r::3] for i in b]
    assert sorted(i for o in orders for i in o) == list(range(96))


def test_uneven_length_is_padded_or_dropped():
    padded = [list(ShuffleSampler(10, batch_size=2, world_size=3, rank=r)) for r in range(3)]
    assert {len(p) for p in padded} == {4}
    assert set().union(*map(set, padded)) == set(range(10))
    dropped = [list(ShuffleSampler(10, batch_size=2, world_size=3, rank=r, drop_last=True)) for r in range(3)]
    assert {len(d) for d in dropped} == {2}
    assert len(set().union(*map(set, dropped))) == 6


def test_epochs_are_seeded_and_differ():
    a, b = ShuffleSampler(50, seed=1), ShuffleSampler(50, seed=1)
    first = list(a)
    assert first == list(b) and sorted(first) == list(range(50))
    a.set_epoch(1)
    assert list(a) != first
    assert list(ShuffleSampler(50, shuffle=False)) == list(range(50))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ShuffleSampler(103, batch_size=4, world_size=2, rank=1, seed=9),
        lambda: LengthGroupedSampler(_lengths(103, 0.4), 4, world_size=2, rank=1, seed=9),
    ],
    ids=["shuffle", "grouped"],
)
@pytest.mark.parametrize("stop", [0, 1, 17, 40])
def test_resume_mid_epoch_repeats_and_skips_nothing(make, stop):
    sampler = make()
    sampler.set_epoch(2)
    full = list(sampler)
    it = iter(sampler)
    seen = [next(it) for _ in range(stop)]
    state = sampler.state_dict()
    assert state == {"epoch": 2, "seed": 9, "consumed": stop}
    resumed = make()
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert seen + rest == full
    assert list(resumed) == full  # the resume position applies once


def test_resume_from_training_steps_with_prefetching_loader():
    # the state a training loop stores: steps done x batch size, not what the loader prefetched
    sampler = ShuffleSampler(64, seed=4)
    loader = torch.utils.data.DataLoader(list(range(64)), batch_size=8, sampler=sampler, num_workers=2)
    it = iter(loader)
    trained = [next(it).tolist() for _ in range(3)]
    state = {**sampler.state_dict(), "consumed": 3 * 8}
    del it
    fresh = ShuffleSampler(64)
    fresh.load_state_dict(state)
    rest = [b.tolist() for b in torch.utils.data.DataLoader(list(range(64)), batch_size=8, sampler=fresh)]
    assert sorted(i for batch in trained + rest for i in batch) == list(range(64))


def test_zero_length_and_bad_rank_are_configuration_errors():
    with pytest.raises(ConfigError, match="no words"):
        list(LengthGroupedSampler([3, 0, -2], 1))
    with pytest.raises(ConfigError, match="rank"):
        ShuffleSampler(5, world_size=2, rank=2)
