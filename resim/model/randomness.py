"""Random streams named by purpose, for common random numbers.

One ``SeedSequence(seed)``; replication r is its child r; each actor and each
purpose ("licensing/security/duration", "link/JL MAG->EU automaker/transit")
draws from a stream derived from the replication's sequence and a hash of the
*name*, not of creation order. Two scenarios that differ in one value thus share
every other draw, and a replication's numbers do not depend on which worker
runs it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..scenario.distributions import DistSpec

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


#: Block sizes of a stream, smallest first: a population's firms own streams
#: that a run draws a few times, so blocks start small and double. They add
#: up to ``_BLOCK``, so every block after them starts where a stream drawing
#: whole blocks of ``_BLOCK`` would start one.
_SIZES = (16, 16, 32, 64, 128, 256)
#: Distributions whose draws in blocks are not the draws one at a time
#: (rejection redraws within a block), so their blocks never change size.
_FIXED_BLOCKS = frozenset({"normal"})


class _Blocks:
    """The blocks of one stream under one distribution: called by
    ``iter(blocks, None)`` for each block. The generator is made at the first
    block (``make``), and ``made`` counts the values drawn. With
    ``growing``, blocks grow from 16 draws to ``_BLOCK``: numpy's Generator
    draws each value of a block in turn, so the sequence does not depend on
    the block sizes. (An object with slots rather than a closure: a
    population's thousands of streams leave fewer objects for the garbage
    collector to walk.)"""

    __slots__ = ("make", "rng", "made", "sample", "sizes")

    def __init__(self, make: Callable[[], np.random.Generator], sample: Callable[[np.random.Generator, int], Any],
                 growing: bool, rng: np.random.Generator | None = None):
        self.make, self.rng, self.made, self.sample = make, rng, 0, sample
        self.sizes = iter(_SIZES if growing else ())

    def __call__(self) -> list[float]:
        rng = self.rng
        if rng is None:
            rng = self.rng = self.make()
        n = next(self.sizes, _BLOCK)
        self.made += n
        return self.sample(rng, n).tolist()

    def draw(self) -> Callable[[], float]:
        """The C-level ``__next__`` over this object's blocks."""
        return itertools.chain.from_iterable(iter(self, None)).__next__


class Stream:
    """Scalar draws from one distribution, pre-drawn in blocks.

    ``draw`` is the C-level ``__next__`` of an iterator over blocks, so a draw
    costs no Python frame; the sequence is identical to drawing one at a time.
    The generator is made when the first block is drawn: a population's firms
    own many streams (reviews, rework, resubmission...) that a run may never
    draw, and a generator costs ~15 us to make and ~10 objects for the
    garbage collector to walk.

    The draws are those of a stream drawing whole blocks of ``_BLOCK`` values,
    also across a change of distribution (``set_dist``), which leaves the rest
    of a block undrawn: the growing blocks add up to ``_BLOCK``, and a change
    first draws (and drops) the rest of the block under the old distribution.
    """

    __slots__ = ("_dist", "_blocks", "draw")

    def __init__(self, dist: DistSpec, make: Callable[[], np.random.Generator]):
        self._dist = dist
        self._blocks = _Blocks(make, dist.sample, dist.dist not in _FIXED_BLOCKS)
        self._reset()

    def _reset(self) -> None:
        dist = self._dist
        if dist.dist == "constant":
            self.draw = itertools.repeat(float(dist.value)).__next__  # type: ignore[union-attr]
        else:
            self.draw = self._blocks.draw()

    def set_dist(self, dist: DistSpec) -> None:
        """A policy changed the distribution: keep the generator, drop the rest
        of the block, redraw."""
        if dist != self._dist:
            old = self._blocks
            rest = -old.made % _BLOCK
            if rest and old.rng is not None:
                self._dist.sample(old.rng, rest)
            self._dist = dist
            self._blocks = _Blocks(old.make, dist.sample, dist.dist not in _FIXED_BLOCKS, old.rng)
            self._reset()

    def __call__(self) -> float:
        return self.draw()


def _doubles(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n)


class Uniforms:
    """U(0,1) draws in blocks (decisions, rework coin flips); the generator
    is made when the first block is drawn (see ``Stream``)."""

    __slots__ = ("draw",)

    def __init__(self, make: Callable[[], np.random.Generator]):
        self.draw = _Blocks(make, _doubles, True).draw()

    def __call__(self) -> float:
        return self.draw()


class Streams:
    """Factory of named streams for one replication."""

    def __init__(self, rep: np.random.SeedSequence):
        self.rep = rep

    def stream(self, name: str, dist: DistSpec) -> Stream:
        return Stream(dist, functools.partial(generator, self.rep, name))

    def uniforms(self, name: str) -> Uniforms:
        return Uniforms(functools.partial(generator, self.rep, name))

    def vector(self, name: str, n: int) -> np.ndarray:
        """The first ``n`` U(0,1) draws of stream ``name`` (a prefix of any longer
        vector of the same stream: item ``i`` never depends on ``n``)."""
        return generator(self.rep, name).random(n)
