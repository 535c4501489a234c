"""Where the repository and the shared data (``../shared`` beside the checkout) are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
BANKING77_TEST = SHARED_DATA / "banking77" / "test.csv"
CFPB = SHARED_DATA / "cfpb" / "complaints.csv"
PRODUCTS = SHARED_DATA / "product_complaints" / "complaints.csv"
FEATURE_REPO = REPO / "feature_repo"
