"""Real labelled corpora as :mod:`reasons.evaluation` takes them (the data stays in ``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lake.weeks import weeks_of

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
    frame["week"] = weeks_of(frame["date_received"].str[:10])
    return frame.assign(text=frame["narrative"], label=frame["issue"], dissatisfied=True)


# Twitter US Airline Sentiment: tweets the crowd did not call negative carry no reason
AIRLINE_NOT_NEGATIVE = "(not negative)"
# the crowd marked the tweet negative but named no reason: never one of a week's true top reasons
AIRLINE_NO_REASON = "Can't Tell"


def airline_frame(path: Path | str) -> pd.DataFrame:
    """Twitter US Airline Sentiment (``Tweets.csv``; Crowdflower's "Data for Everyone", CC BY-NC-SA 4.0, so
    not shipped here: give its path): tweets to six US airlines, February 2015, each marked negative,
    neutral or positive by the crowd and, when negative, with its reason ("Customer Service Issue",
    "Late Flight", … "Can't Tell"). ``week`` (ISO week of ``tweet_created``), ``text``, ``label`` (the
    reason; :data:`AIRLINE_NOT_NEGATIVE` for the others), ``dissatisfied`` (the crowd's "negative"),
    ``company`` (the airline: a brand); the @handles a tweet names come with its cleaning, as in the
    pipeline (``bench/quality.py``'s ``cleaned``). Either ``tweet_created`` form is read: the original's ``2015-02-24 11:35:52 -0800`` or ``2/24/2015 11:35``."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    created = pd.to_datetime(frame["tweet_created"].str.slice(0, 19), format="mixed")
    frame["week"] = weeks_of(created)
    negative = frame["airline_sentiment"].eq("negative")
    reason = frame["negativereason"].where(frame["negativereason"].ne(""), AIRLINE_NO_REASON)
    frame = frame.assign(
        created=created,
        label=reason.where(negative, AIRLINE_NOT_NEGATIVE),
        dissatisfied=negative,
        company=frame["airline"],
    )
    return frame.sort_values(["created", "tweet_id"], kind="stable").reset_index(drop=True)


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
