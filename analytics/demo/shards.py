"""Shards: a large region generated as independent worlds, one after the other.

A world holds every person in numpy/pandas arrays, so its memory grows with the
region; above ``SHARD_PERSONS`` people the region is split into shards of
near-equal size, each a full world simulated over all quarters and freed before
the next. The shards share the region's geography, cadres and outside employers
(shard 0's), and carry the keys issued so far so that ID numbers and credit codes
stay unique across the whole region: the importer then sees no key twice, and the
truth of every shard stays the truth of the merged region.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from analytics.demo.geography import Geography

# Persons of one world at most: about 2.5 GiB of peak memory at a million.
SHARD_PERSONS = 1_000_000
# A shard needs enough people for ~100 communities (generate_demo's own minimum).
MIN_SHARD_PERSONS = 500


def shard_sizes(persons: int, shard_persons: int) -> list[int]:
    """Sizes of the ceil(persons / shard_persons) shards, as equal as they can be.

    >>> shard_sizes(2500, 1000)
    [834, 833, 833]
    """
    k = max(1, math.ceil(persons / shard_persons))
    base, extra = divmod(persons, k)
    return [base + (s < extra) for s in range(k)]


def shard_seed(seed: int, shard: int) -> int | Sequence[int]:
    """Seed of a shard's world: shard 0 is the unsharded region's seed, so a region of
    one shard is byte-identical to what the generator wrote before shards existed."""
    return seed if shard == 0 else (seed, shard)


def shard_suffix(shard: int, shards: int) -> str:
    """What a shard adds to its file names: nothing for shard 0, ``_s01``... after."""
    return "" if shard == 0 else f"_s{shard:0{max(2, len(str(shards - 1)))}d}"


def with_suffix(name: str, suffix: str) -> str:
    """``养老保险参保.csv`` -> ``养老保险参保_s01.csv``: the kind stays in the name."""
    if not suffix:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}{suffix}.{ext}" if dot else name + suffix


@dataclass(frozen=True)
class Shared:
    """What every shard takes from shard 0: one region, one set of codes and cadres."""

    geo: Geography
    cadres: np.ndarray  # two per community, in community order
    ext_usccs: np.ndarray  # employers outside the region


@dataclass
class Issued:
    """Keys issued by the shards generated so far: ID bodies and credit codes."""

    # The 17-digit bodies as integers, sorted: 8 bytes a person (80 MB at 10M).
    id_bodies: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    usccs: set[str] = field(default_factory=set)

    def ids_taken(self, bodies: np.ndarray) -> np.ndarray:
        """Which 17-digit ID bodies an earlier shard issued."""
        if not len(self.id_bodies) or not len(bodies):
            return np.zeros(len(bodies), dtype=bool)
        x = bodies.astype(np.int64)
        i = np.minimum(np.searchsorted(self.id_bodies, x), len(self.id_bodies) - 1)
        return self.id_bodies[i] == x

    def usccs_taken(self, codes: np.ndarray) -> np.ndarray:
        """Which credit codes an earlier shard issued."""
        return np.fromiter((c in self.usccs for c in codes), dtype=bool, count=len(codes))

    def add(self, ids: np.ndarray, usccs: np.ndarray) -> None:
        """Record a shard's IDs (18 characters) and credit codes."""
        bodies = np.asarray(ids).astype("U17").astype(np.int64)
        # The shard drew around the issued bodies, so none repeats: a sort is the
        # union (np.union1d's unique pass took 10 s at 10M; this takes 0.1 s).
        self.id_bodies = np.sort(np.concatenate([self.id_bodies, bodies]), kind="stable")
        self.usccs.update(usccs.tolist())
