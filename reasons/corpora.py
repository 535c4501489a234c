"""Real labelled corpora as :mod:`reasons.evaluation` takes them (the data stays in ``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lake.weeks import weeks_of
from reasons.naming import LABEL_SEPARATOR

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


# Probes of the dissatisfaction rule, written for this file without looking at any training line (a test checks
# that none sits within cosine 0.7 of one): complaints without a negative word for a lexicon to catch, and praise, thanks
# and plain questions, which are no complaint.
COMPLAINTS = [
    "been on the phone with your agents since lunch and nobody picks up",
    "the replacement you promised last month never showed up",
    "my deposit from Friday is still missing from the balance",
    "third email about the same invoice and still no answer",
    "I have explained my change of address to four different agents now",
    "why do I need to send my passport again, I did it twice already",
    "the trousers came in a size that is nowhere near what I ordered",
]
NOT_COMPLAINTS = [
    "the blender arrived a day early and works like a charm",
    "cheers for sorting out my address so quickly",
    "Is the store on Main Street open on public holidays?",
    "Do you ship to Norway, and how long does it take?",
    "Lovely fabric, fits perfectly, will order another colour",
    "Your agent Priya was patient and helpful, thank you",
    "Does the warranty cover accidental damage?",
]


# CESAMARD-Aspect product reviews (``product_complaints/complaints.csv``, MIT: its LICENSE notice goes with
# anything derived). A complaint names one or more aspects that went wrong, joined by LABEL_SEPARATOR.
# The reviews come 25–110 a week, under the weekly fit's 30-message floor in some weeks: a period of four ISO
# weeks stands for one week of a busier shop (``product_frame``).
PRODUCT_PERIOD_WEEKS = 4
# Development part: reviews created before this day (2016 to 2020-W48); held out: from it on (2020-W49 to
# 2021-W21). Nothing is chosen on the held-out part.
PRODUCT_HELD_OUT_FROM = "2020-11-30"
# CFPB: weeks 2023-W22 and W23 are the development part, W24 to W26 held out
CFPB_HELD_OUT_FROM = "2023-W24"
# the CFPB narratives the dissatisfaction classifier trains on (every one a complaint): a fixed sample of the
# development weeks (``development_messages``)
CFPB_TRAINING_SAMPLE = 400
PRODUCT_NOT_COMPLAINT = "(no complaint)"
# periods of fewer reviews are left out of the evaluation (a fit needs 30 messages; most of 2016–2018)
PRODUCT_MIN_PERIOD = 60


def product_frame(path: Path | str) -> pd.DataFrame:
    """The product reviews: ``text`` (the review's title and body, as a review portal sends them), ``label``
    (the aspects complained about, :data:`LABEL_SEPARATOR`-joined; :data:`PRODUCT_NOT_COMPLAINT` for the others),
    ``dissatisfied`` (the annotators' complaint flag), ``created``, ``held_out`` (from
    :data:`PRODUCT_HELD_OUT_FROM` on) and ``week``: the first ISO week of the row's period of
    :data:`PRODUCT_PERIOD_WEEKS` weeks (periods count from the Monday of 2020-W01). The 10 undated rows and
    complaints that name no aspect are left out; the file's own columns stay."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame[frame["created_at"].ne("")].copy()
    complaint = frame["complaint"].eq("true")
    frame = frame[~complaint | frame["reason"].ne("")]
    complaint = frame["complaint"].eq("true")
    created = pd.to_datetime(frame["created_at"].str[:10])
    origin = pd.Timestamp("2019-12-30")  # the Monday of 2020-W01
    period = ((created - origin).dt.days // (7 * PRODUCT_PERIOD_WEEKS)).astype(int)
    starts = origin + pd.to_timedelta(period * 7 * PRODUCT_PERIOD_WEEKS, unit="D")
    title = frame["title"].str.strip()
    text = (title + "\n" + frame["text"]).where(title.ne(""), frame["text"]).str.strip()
    frame = frame.assign(
        text=text,
        label=frame["reason"].str.split("; ").str.join(LABEL_SEPARATOR).where(complaint, PRODUCT_NOT_COMPLAINT),
        dissatisfied=complaint,
        created=created,
        held_out=created >= pd.Timestamp(PRODUCT_HELD_OUT_FROM),
        week=weeks_of(starts),
    )
    return frame[frame["text"].ne("")].sort_values(["created", "message_id"], kind="stable").reset_index(drop=True)


def development_messages(product_path: Path | str, cfpb_path: Path | str) -> pd.DataFrame:
    """Labelled messages of the channels the dissatisfaction classifier trains on beside its sentences, from
    the development parts only: every product review before :data:`PRODUCT_HELD_OUT_FROM` (complaint or
    not) and :data:`CFPB_TRAINING_SAMPLE` CFPB narratives of the weeks before :data:`CFPB_HELD_OUT_FROM`
    (long complaints). Columns ``source``, ``text``, ``dissatisfied``, as ``reasons.sentiment``'s sentences."""
    products = product_frame(product_path)
    products = products[~products["held_out"]]
    cfpb = cfpb_frame(cfpb_path)
    cfpb = cfpb[cfpb["week"] < CFPB_HELD_OUT_FROM].sample(CFPB_TRAINING_SAMPLE, random_state=0)
    return pd.concat(
        [
            products.assign(source="product_reviews")[["source", "text", "dissatisfied"]],
            cfpb.assign(source="cfpb")[["source", "text", "dissatisfied"]],
        ],
        ignore_index=True,
    ).astype({"dissatisfied": bool})


def product_part(frame: pd.DataFrame, held_out: bool) -> pd.DataFrame:
    """The development (``held_out`` False) or held-out part of :func:`product_frame`, periods of at least
    :data:`PRODUCT_MIN_PERIOD` reviews only."""
    part = frame[frame["held_out"] == held_out]
    sizes = part.groupby("week")["text"].transform("size")
    return part[sizes >= PRODUCT_MIN_PERIOD]


def cfpb_part(frame: pd.DataFrame, held_out: bool) -> pd.DataFrame:
    """The development weeks (before :data:`CFPB_HELD_OUT_FROM`) or the held-out weeks of :func:`cfpb_frame`."""
    return frame[(frame["week"] >= CFPB_HELD_OUT_FROM) == held_out]
