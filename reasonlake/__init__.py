"""reasonlake's command line and the living system's composition (see docs/development.md)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # where workspace.yaml, dbt/ and feature_repo/ are
