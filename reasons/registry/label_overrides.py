"""The analyst's reason labels: ``reasons/reason_labels.yaml`` (``reason_id: label``), read from disk and
laid over the registry's own labels (which follow the latest topic, :mod:`reasons.registry.matching`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent.parent / "reason_labels.yaml"


def load_label_overrides(path: Path | str | None = None) -> dict[str, str]:
    """``reason_id -> label`` from the analyst's YAML file (a mapping; missing file or empty → ``{}``)."""
    import yaml

    path = Path(path) if path is not None else LABELS_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping reason_id -> label, got {type(data).__name__}")
    return {str(k): str(v) for k, v in data.items() if v is not None and str(v).strip()}


def apply_labels(labels: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """``reason_id -> label`` with the analyst's overrides winning."""
    return {rid: overrides.get(rid, label) for rid, label in labels.items()}
