"""What codes mean on screen, from the kinds mapping (analytics/config/sources.toml)."""

from __future__ import annotations

from analytics.sources import load_sources

_SOURCES = load_sources()
TARGET_TYPES = _SOURCES.labels["target_type"]
GROUPS = {int(g): label for g, label in _SOURCES.labels["group"].items()}
EXCLUSIONS = _SOURCES.labels["exclusion"]
REASON_LABELS = _SOURCES.labels["reason"]
kind_label = _SOURCES.kind_label
