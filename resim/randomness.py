"""Random streams named by purpose, for common random numbers.

One ``SeedSequence(seed)``; replication r is its child r; each actor and each
purpose ("licensing/security/duration", "link/JL MAG->EU automaker/transit")
draws from a stream derived from the replication's sequence and a hash of the
*name*, not of creation order. Two scenarios that differ in one value thus share
every other draw, and a replication's numbers do not depend on which worker
runs it.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

from .distributions import DistSpec

_BLOCK = 512


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """Child ``replication`` of ``SeedSequence(seed)`` (same as ``.spawn()``'s)."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def name_key(name: str) -> int:
    """A stable 64-bit integer for a stream name (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def generator(rep: np.random.SeedSequence, name: str) -> np.random.Generator:
    """The generator for purpose ``name`` within replication ``rep``."""
    ss = np.random.SeedSequence(rep.entropy, spawn_key=(*rep.spawn_key, name_key(name)))
    return np.random.Generator(np.random.PCG64(ss))


class Stream:
    """Scalar draws from one distribution, pre-drawn in blocks.

    ``draw`` is the C-level ``__next__`` of an iterator over blocks, so a draw
    costs no Python frame; the sequence is identical to drawing one at a time.
    """

    __slots__ = ("_dist", "_rng", "draw")

    def __init__(self, dist: DistSpec, rng: np.random.Generator):
        self._dist = dist
        self._rng = rng
        self._reset()

    def _reset(self) -> None:
        dist, rng = self._dist, self._rng
        if dist.dist == "constant":
            self.draw = itertools.repeat(float(dist.value)).__next__  # type: ignore[union-attr]
        else:
            blocks = iter(lambda: dist.sample(rng, _BLOCK).tolist(), None)
            self.draw = itertools.chain.from_iterable(blocks).__next__

    def set_dist(self, dist: DistSpec) -> None:
        """A policy changed the distribution: keep the generator, redraw."""
        if dist != self._dist:
            self._dist = dist
            self._reset()

    def __call__(self) -> float:
        return self.draw()


class Uniforms:
    """U(0,1) draws in blocks (decisions, rework coin flips)."""

    __slots__ = ("_rng", "draw")

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        blocks = iter(lambda: rng.random(_BLOCK).tolist(), None)
        self.draw = itertools.chain.from_iterable(blocks).__next__

    def __call__(self) -> float:
        return self.draw()


class Streams:
    """Factory of named streams for one replication."""

    def __init__(self, rep: np.random.SeedSequence):
        self.rep = rep

    def stream(self, name: str, dist: DistSpec) -> Stream:
        return Stream(dist, generator(self.rep, name))

    def uniforms(self, name: str) -> Uniforms:
        return Uniforms(generator(self.rep, name))

    def vector(self, name: str, n: int) -> np.ndarray:
        """The first ``n`` U(0,1) draws of stream ``name`` (a prefix of any longer
        vector of the same stream: item ``i`` never depends on ``n``)."""
        return generator(self.rep, name).random(n)
