"""Seeded reasons on real reviews (docs/seeded_reasons.md): the product reviews of ``../shared/data/product_complaints``
(CESAMARD-Aspect, MIT) seeded with their aspects, three example phrases each taken from the development part's
complaints, and graded on the held-out part (``reasons.corpora``) with the pipeline's dissatisfaction classifier
acting, as ``tests/integration/test_product_reviews.py`` does. The seeds file is written at test time from the
development part (nothing derived from the corpus is committed). Figures: docs/seeded_reasons.md, "Measured"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from reasons.corpora import product_frame
from reasons.election.policy import load_policy
from reasons.embedding.backends import load_embedder
from reasons.embedding.vectors import embed
from reasons.evaluation import evaluate_grains, summary
from reasons.naming import LABEL_SEPARATOR
from reasons.registry import SEEDS_FILE, RegistryParams, load_seeds
from reasons.registry.seeds import SEED_ID_PREFIX
from reasons.sentiment import score_messages
from tests.support.paths import PRODUCTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REMOVED = "packaging"  # the aspect whose seed is left out: it must still be found, as a new reason


def aspect_seeds(frame: pd.DataFrame, embed_texts, per_aspect: int = 3, min_complaints: int = 15) -> list[dict]:
    """One seed per aspect of the development part's complaints: its name, and as examples the titles (2 to 10
    words) of the complaints that name that aspect alone which sit nearest their aspect's titles and farthest
    from the other aspects' (cosine to their own centroid minus the highest to another). Aspects with fewer
    than ``min_complaints`` such titles have too few to choose from and get no seed."""
    dev = frame[~frame["held_out"] & frame["dissatisfied"]]
    single = dev[~dev["label"].str.contains(LABEL_SEPARATOR, regex=False)]
    titles = single.assign(phrase=single["title"].str.strip())
    titles = titles[titles["phrase"].str.split().str.len().between(2, 10)].drop_duplicates(["label", "phrase"])
    counts = titles["label"].value_counts()
    titles = titles[titles["label"].isin(counts[counts >= min_complaints].index)].reset_index(drop=True)
    vectors = np.asarray(embed_texts(titles["phrase"].tolist()), dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    aspects = sorted(titles["label"].unique())
    centroids = np.array([vectors[titles["label"].eq(a).to_numpy()].mean(axis=0) for a in aspects])
    sims = vectors @ (centroids / np.linalg.norm(centroids, axis=1, keepdims=True)).T
    seeds = []
    for k, aspect in enumerate(aspects):
        rows = np.flatnonzero(titles["label"].eq(aspect).to_numpy())
        margin = sims[rows, k] - np.delete(sims[rows], k, axis=1).max(axis=1)
        best = rows[np.argsort(-margin, kind="stable")[:per_aspect]]
        seeds.append({"name": aspect, "examples": titles.loc[best, "phrase"].tolist()})
    return seeds


def held_out_run(frame: pd.DataFrame, embeddings: np.ndarray, seeds) -> tuple[list, list[list[str]]]:
    """The held-out periods evaluated with ``seeds``: the weeks' qualities and each week's elected reason ids by
    rank (aligned with ``WeekQuality.elected``, their majority aspects)."""
    elected: list[list[str]] = []
    keep = lambda rows: elected.append(list(rows.query("elected").sort_values("rank")["reason_id"]))
    policy, _ = load_policy()
    registry = RegistryParams(seeds=tuple(seeds))
    weeks = evaluate_grains(frame, embeddings, policy, {"aspects": None}, registry=registry, on_election=keep)
    for q, ids in zip(weeks["aspects"], elected):
        print(q.week, "true top 3", q.truth, "elected", list(zip(ids, q.elected)), "precision", q.alert_precision)
    return weeks["aspects"], elected


@pytest.fixture(scope="module")
def runs(held_out_products, tmp_path_factory):
    held, embeddings = held_out_products  # tests/integration/conftest.py
    scored = score_messages(held[["text"]], embeddings)
    held = held.assign(predicted=scored["dissatisfied"].to_numpy(), alerting=scored["alertable"].to_numpy())
    model = load_embedder()
    embed_texts = lambda texts: embed(model, texts)
    specs = aspect_seeds(product_frame(PRODUCTS), embed_texts)
    assert REMOVED in {s["name"] for s in specs}
    home = tmp_path_factory.mktemp("seeded-home")
    notice = "# derived from CESAMARD-Aspect (MIT; ../shared/data/product_complaints/LICENSE): its development part\n"
    (home / SEEDS_FILE).write_text(notice + yaml.safe_dump({"reasons": specs}, allow_unicode=True))
    seeds = load_seeds(home / SEEDS_FILE, embed_texts)
    print("seeds:", specs)
    seeded = held_out_run(held, embeddings, seeds)
    without_one = held_out_run(held, embeddings, [s for s in seeds if s.name != REMOVED])
    return seeded, without_one


def test_seeded_reasons_are_elected_under_their_ids_week_after_week(runs):
    (weeks, elected), _ = runs
    seeded_ids = [rid for ids in elected for rid in ids if rid.startswith(SEED_ID_PREFIX)]
    assert seeded_ids, elected
    # one seed's reason is elected under the same id in several held-out periods
    assert max(seeded_ids.count(rid) for rid in set(seeded_ids)) >= 2, elected
    print(summary(weeks))


@pytest.mark.xfail(
    strict=True,
    reason="held-out strict alert precision with seeds: 0.892 (0.868 without); the 0.9 floor is not reached, nor by a "
    "gate on the message's cosine to the seed chosen on the development weeks (docs/seeded_reasons.md, 'Measured' "
    "and 'Tried: alerts on a seeded reason must read like the seed')",
)
def test_alerts_on_seeded_reasons_are_precise_on_held_out_weeks(runs):
    (weeks, _), _ = runs
    s = summary(weeks)
    print(s)
    assert sum(q.alerts for q in weeks) > 0
    assert s["alert_precision"] >= 0.9, s


def test_an_issue_whose_seed_is_removed_is_still_found_as_a_new_reason(runs):
    _, (weeks, elected) = runs
    found = [
        (q.week, rid)
        for q, ids in zip(weeks, elected)
        for rid, issue in zip(ids, q.elected)
        if issue == REMOVED and not rid.startswith(SEED_ID_PREFIX)
    ]
    assert found, [(q.week, list(zip(ids, q.elected))) for q, ids in zip(weeks, elected)]


def test_seeded_reasons_carry_the_teams_names(runs):
    """A seed's name is the reason's label, so the labels name the team's own taxonomy (here the aspects) far
    more often: held out, 0.42 of the week's reasons are named after their majority aspect with the seeds, 0.13
    without any (2026-12-07, docs/seeded_reasons.md, "Measured"), where a label rarely uses the aspect's word."""
    (weeks, _), _ = runs
    s = summary(weeks)
    print(s)
    assert s["reason_naming"] >= 0.35, s
