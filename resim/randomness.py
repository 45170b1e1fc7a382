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


#: Block sizes of a stream, smallest first: a population's firms own streams
#: that a run draws a few times, so blocks start small and double. They add
#: up to ``_BLOCK``, so every block after them starts where a stream drawing
#: whole blocks of ``_BLOCK`` would start one.
_SIZES = (16, 16, 32, 64, 128, 256)
#: Distributions whose draws in blocks are not the draws one at a time
#: (rejection redraws within a block), so their blocks never change size.
_FIXED_BLOCKS = frozenset({"normal"})


def _blocks(make: Callable[[], np.random.Generator], box: list[np.random.Generator], made: list[int],
            sample: Callable[[np.random.Generator, int], np.ndarray], growing: bool = True) -> Callable[[], float]:
    """A C-level ``draw`` over blocks of ``sample(rng, n)``; the generator is
    made (into ``box``, shared by every redraw of the stream) when the first
    block is drawn, and ``made[0]`` counts the values drawn. With
    ``growing``, blocks grow from 16 draws to ``_BLOCK``: numpy's Generator
    draws each value of a block in turn, so the sequence does not depend on
    the block sizes."""
    sizes = iter(_SIZES if growing else ())

    def fill() -> list[float]:
        if not box:
            box.append(make())
        n = next(sizes, _BLOCK)
        made[0] += n
        return sample(box[0], n).tolist()

    return itertools.chain.from_iterable(iter(fill, None)).__next__


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

    __slots__ = ("_dist", "_make", "_box", "_made", "draw")

    def __init__(self, dist: DistSpec, make: Callable[[], np.random.Generator]):
        self._dist = dist
        self._make = make
        self._box: list[np.random.Generator] = []
        self._made = [0]  # values drawn from the generator since the last change of distribution
        self._reset()

    def _reset(self) -> None:
        dist = self._dist
        self._made[0] = 0
        if dist.dist == "constant":
            self.draw = itertools.repeat(float(dist.value)).__next__  # type: ignore[union-attr]
        else:
            self.draw = _blocks(self._make, self._box, self._made, dist.sample, dist.dist not in _FIXED_BLOCKS)

    def set_dist(self, dist: DistSpec) -> None:
        """A policy changed the distribution: keep the generator, drop the rest
        of the block, redraw."""
        if dist != self._dist:
            rest = -self._made[0] % _BLOCK
            if rest and self._box:
                self._dist.sample(self._box[0], rest)
            self._dist = dist
            self._reset()

    def __call__(self) -> float:
        return self.draw()


class Uniforms:
    """U(0,1) draws in blocks (decisions, rework coin flips); the generator
    is made when the first block is drawn (see ``Stream``)."""

    __slots__ = ("draw",)

    def __init__(self, make: Callable[[], np.random.Generator]):
        self.draw = _blocks(make, [], [0], lambda rng, n: rng.random(n))

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
