"""Named streams: the draws a model sees do not depend on how they are
blocked, on when a generator is made, or on the order streams are created."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from resim.distributions import DistSpec
from resim.randomness import Streams, generator, replication_seed

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


def test_a_new_distribution_keeps_the_generator_where_it_was() -> None:
    lo = TypeAdapter(DistSpec).validate_python({"dist": "uniform", "low": 0, "high": 1})
    hi = TypeAdapter(DistSpec).validate_python({"dist": "uniform", "low": 10, "high": 11})
    rep = replication_seed(2, 1)
    stream = Streams(rep).stream("s", lo)
    head = [stream.draw() for _ in range(5)]
    stream.set_dist(hi)  # redraws from the generator's state after the first block (16 draws)
    rng = generator(rep, "s")
    assert head == rng.uniform(0, 1, 16).tolist()[:5]
    assert stream.draw() == rng.uniform(10, 11, 16).tolist()[0]
    assert np.isfinite(stream.draw())
