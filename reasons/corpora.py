"""Real labelled corpora as :mod:`reasons.evaluation` takes them (the data stays in ``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# CFPB's three credit-report issues overlap (a consumer picks one of three for the same complaint): one family
CFPB_CREDIT_REPORT = (
    "Incorrect information on your report",
    "Problem with a credit reporting company's investigation into an existing problem",
    "Improper use of your report",
)
CFPB_FAMILIES = {issue: "Credit report errors and their investigation" for issue in CFPB_CREDIT_REPORT}
# the CFPB writes removed personal data as XX/XX/XXXX and XXXX: no keyword
CFPB_STOP_WORDS = ("xx", "xxxx", "xxxxxxxx")


def cfpb_frame(path: Path | str) -> pd.DataFrame:
    """The CFPB complaints (``complaints.csv``): ``week`` (ISO week of ``date_received``), ``text`` (the
    narrative), ``label`` (the consumer's issue), ``dissatisfied`` (True: every row is a complaint), and
    the file's own columns (``company``, ``product``, …)."""
    frame = pd.read_csv(path, dtype=str)
    iso = pd.to_datetime(frame["date_received"].str[:10]).dt.isocalendar()
    frame["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    return frame.assign(text=frame["narrative"], label=frame["issue"], dissatisfied=True)


# Probes of the dissatisfaction rule (written here, not from any corpus): complaints from issue 12 and the
# like, without a negative word for a lexicon to catch; and praise and plain questions, which are no complaint.
COMPLAINTS = [
    "on hold for 2 hours and counting",
    "still waiting for a reply to my DM",
    "my card was charged twice",
    "ordered two weeks ago and it is still not delivered",
    "I cannot log in to my account since Monday",
    "this is the third time I'm asking for my refund",
    "been transferred between departments all morning",
]
NOT_COMPLAINTS = [
    "the app never crashes, love it",
    "Thanks, the new update works great",
    "Thank you for the quick help yesterday",
    "The parcel arrived this morning, thanks!",
    "What are your opening hours on Sunday?",
    "Can I change the delivery address on my order?",
    "Do you offer paperless statements?",
]
