"""The error of a registry build or read that the user can act on."""

from __future__ import annotations


class BuildError(Exception):
    """A build that cannot run (nothing was changed), or a registry that is not there."""
