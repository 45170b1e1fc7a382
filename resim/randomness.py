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

    Why: a numpy scalar draw costs about a microsecond of call overhead; the
    review office draws hundreds of thousands per replication. Drawing blocks
    keeps the sequence identical to drawing one at a time from this stream.
    """

    __slots__ = ("_dist", "_rng", "_buf", "_i", "_const")

    def __init__(self, dist: DistSpec, rng: np.random.Generator):
        self._dist = dist
        self._rng = rng
        self._const = dist.value if dist.dist == "constant" else None  # type: ignore[union-attr]
        self._buf: list[float] = []
        self._i = 0

    def set_dist(self, dist: DistSpec) -> None:
        """A policy changed the distribution: keep the generator, redraw."""
        if dist != self._dist:
            self._dist = dist
            self._const = dist.value if dist.dist == "constant" else None  # type: ignore[union-attr]
            self._buf, self._i = [], 0

    def __call__(self) -> float:
        if self._const is not None:
            return self._const
        i = self._i
        if i >= len(self._buf):
            self._buf = self._dist.sample(self._rng, _BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class Uniforms:
    """U(0,1) draws in blocks (decisions, rework coin flips)."""

    __slots__ = ("_rng", "_buf", "_i")

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._rng.random(_BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class Streams:
    """Factory of named streams for one replication."""

    def __init__(self, rep: np.random.SeedSequence):
        self.rep = rep

    def generator(self, name: str) -> np.random.Generator:
        return generator(self.rep, name)

    def stream(self, name: str, dist: DistSpec) -> Stream:
        return Stream(dist, generator(self.rep, name))

    def uniforms(self, name: str) -> Uniforms:
        return Uniforms(generator(self.rep, name))
