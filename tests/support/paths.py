"""Where the repository and the shared data (``../shared`` beside the checkout) are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
BANKING77_TEST = SHARED_DATA / "banking77" / "test.csv"
CFPB = SHARED_DATA / "cfpb" / "complaints.csv"
PRODUCTS = SHARED_DATA / "product_complaints" / "complaints.csv"
FEATURE_REPO = REPO / "feature_repo"


def require_shared(path: Path) -> Path:
    """``path`` under the shared data, or the test fails saying where the data must be: the real-data tests are
    part of the suite (a fresh clone sits beside ``shared/``, README.md "Tests"), never skipped silently."""
    import pytest

    if not path.exists():
        pytest.fail(f"{path} is missing: clone the repository beside the shared data (../shared/data)", pytrace=False)
    return path
