"""Named streams: the draws a model sees do not depend on how they are
blocked, on when a generator is made, or on the order streams are created."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from resim.model.randomness import Streams, generator, replication_seed
from resim.scenario.distributions import DistSpec

SPECS = [
    {"dist": "uniform", "low": 1, "high": 5},
    {"dist": "triangular", "low": 1, "mode": 2, "high": 6},
    {"dist": "lognormal", "mu": 10, "cv": 0.5},
    {"dist": "exponential", "mean": 3},
    {"dist": "gamma", "mean": 10, "cv": 0.7},
    {"dist": "normal", "mu": 1, "sd": 2},  # truncated at 0: rejection inside a block
    {"dist": "empirical", "values": [1, 2, 5], "weights": [0.2, 0.3, 0.5]},
]


@pytest.mark.parametrize("spec", SPECS, ids=[s["dist"] for s in SPECS])
def test_a_stream_draws_what_its_distribution_samples_in_one_block(spec: dict) -> None:
    dist = TypeAdapter(DistSpec).validate_python(spec)
    rep = replication_seed(11, 3)
    n = 2000  # past the growing blocks (16 ... 256) and three full ones
    expected = dist.sample(generator(rep, "a/b"), 512) if spec["dist"] == "normal" else dist.sample(
        generator(rep, "a/b"), n)
    stream = Streams(rep).stream("a/b", dist)
    got = [stream.draw() for _ in range(len(expected))]
    assert got == expected.tolist()


def test_uniforms_are_the_generators_doubles_and_creation_order_does_not_matter() -> None:
    rep = replication_seed(4, 0)
    first, second = Streams(rep), Streams(rep)
    a1, b1 = first.uniforms("x"), first.uniforms("y")
    b2, a2 = second.uniforms("y"), second.uniforms("x")  # made in the other order
    xs = [a1.draw() for _ in range(700)]
    assert [b2.draw() for _ in range(300)] == [b1.draw() for _ in range(300)]
    assert [a2.draw() for _ in range(700)] == xs == generator(rep, "x").random(700).tolist()


class FixedBlocks:
    """The reference: a stream drawing whole blocks of 512 values, which a
    change of distribution leaves unfinished (as resim's streams did before
    their blocks grew from 16)."""

    def __init__(self, dist: object, rng: np.random.Generator):
        self.dist, self.rng, self.buf = dist, rng, []

    def set_dist(self, dist: object) -> None:
        if dist != self.dist:
            self.dist, self.buf = dist, []

    def draw(self) -> float:
        if self.dist.dist == "constant":
            return float(self.dist.value)
        if not self.buf:
            self.buf = self.dist.sample(self.rng, 512).tolist()[::-1]
        return self.buf.pop()


DISTS = [TypeAdapter(DistSpec).validate_python(s) for s in (*SPECS, {"dist": "constant", "value": 4},
                                                            {"dist": "triangular", "low": 2, "mode": 2, "high": 2})]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.integers(0, len(DISTS) - 1)), min_size=1, max_size=6),
       st.integers(0, len(DISTS) - 1))
def test_draws_across_changes_of_distribution_are_those_of_whole_blocks(schedule: list[tuple[int, int]],
                                                                       first: int) -> None:
    rep = replication_seed(9, 2)
    stream = Streams(rep).stream("s", DISTS[first])
    ref = FixedBlocks(DISTS[first], generator(rep, "s"))
    for draws, d in schedule:
        assert [stream.draw() for _ in range(draws)] == [ref.draw() for _ in range(draws)]
        stream.set_dist(DISTS[d])
        ref.set_dist(DISTS[d])
    assert [stream.draw() for _ in range(40)] == [ref.draw() for _ in range(40)]
