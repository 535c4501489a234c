"""Dissatisfaction: the rating wins, the classifier's probability against the threshold otherwise, frames
stay aligned; the committed model matches the committed data. A tiny hand-made model keeps it pure."""

import json

import numpy as np
import pandas as pd
import pytest

from reasons.embedding.backends import EMBEDDING_MODEL
from reasons.sentiment import (
    MODEL_FILE,
    DissatisfactionModel,
    DissatisfactionRule,
    data_digest,
    held_out_mask,
    is_alertable,
    is_dissatisfied,
    labelled_sentences,
    load_model,
    score_messages,
    sentence_sentiment,
    sentiment,
)

# two "embedding" dimensions: the first pushes towards dissatisfied; VADER's negative side too
TINY = DissatisfactionModel(coef=np.array([4.0, 0.0]), vader_coef=-3.0, intercept=-1.0, threshold=0.5)
RULE = DissatisfactionRule(max_rating=2, threshold=0.5)


def logistic(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


def test_the_probability_is_the_logistic_of_the_linear_score():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    vader = [0.0, 0.5, -0.8]
    expected = [logistic(4.0 * e[0] - 3.0 * v - 1.0) for e, v in zip(emb, vader)]
    assert np.allclose(TINY.probability(emb, vader), expected)
    assert TINY.probability(np.zeros((0, 2)), []).shape == (0,)
    with pytest.raises(ValueError, match="2 dimensions"):
        TINY.probability(np.zeros((1, 3)), [0.0])
    with pytest.raises(ValueError, match="expected 2 embeddings"):
        TINY.probability(np.zeros((1, 2)), [0.0, 0.0])


def test_the_rating_wins_and_the_probability_decides_without_one():
    messages = pd.DataFrame(
        {
            "text": ["I love this, great service!", "This is terrible and I am furious", "x", "y", "z"],
            "rating": pd.array([1, 5, None, None, 2], dtype="Int64"),
        }
    )
    # rows 0 and 4 look happy, row 1 unhappy: their ratings decide; rows 2-3 have no rating
    emb = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    scored = score_messages(messages, emb, RULE, TINY)
    p = scored["dissatisfaction"].to_numpy()
    # a rating decides: those rows are not even scored (the text alone would say the opposite)
    assert np.isnan(p[[0, 1, 4]]).all() and TINY.score_texts(messages["text"][:2].tolist(), emb[:2])[1] > 0.5
    assert list(scored["dissatisfied"]) == [True, False, p[2] >= 0.5, p[3] >= 0.5, True]
    assert scored["dissatisfied"].iloc[2] and not scored["dissatisfied"].iloc[3]
    assert scored["sentiment"].iloc[0] > 0.5 and scored["sentiment"].iloc[1] < -0.5
    assert scored["dissatisfied"].dtype == bool and scored["dissatisfaction"].dtype == np.float64


def test_threshold_semantics_at_or_above():
    assert is_dissatisfied(None, 0.5, RULE)  # at the threshold
    assert not is_dissatisfied(None, 0.4999, RULE)
    assert not is_dissatisfied(None, 0.7, DissatisfactionRule(threshold=0.8))
    assert is_dissatisfied(float("nan"), 0.9, RULE)  # a missing rating is no rating
    assert is_dissatisfied(3, 0.0, DissatisfactionRule(max_rating=3, threshold=0.5))  # the rating wins
    assert not is_dissatisfied(3, 1.0, RULE)
    emb = np.array([[0.0, 0.0], [0.0, 0.0]])
    frame = pd.DataFrame({"text": ["same", "same"]})
    p = float(TINY.score_texts(["same"], emb[:1])[0])
    at = score_messages(frame, emb, DissatisfactionRule(threshold=p), TINY)["dissatisfied"]
    above = score_messages(frame, emb, DissatisfactionRule(threshold=np.nextafter(p, 1.0)), TINY)["dissatisfied"]
    assert list(at) == [True, True] and list(above) == [False, False]


def test_an_alert_needs_a_surer_call_than_counting_but_a_rating_still_decides():
    rule = DissatisfactionRule(max_rating=2, threshold=0.5, alert_threshold=0.75)
    assert is_dissatisfied(None, 0.6, rule) and not is_alertable(None, 0.6, rule)  # counted, raises no alert
    assert is_alertable(None, 0.75, rule) and is_alertable(1, 0.0, rule) and not is_alertable(5, 1.0, rule)
    # an alert bar under the counting threshold never lets an undissatisfied message alert
    assert not is_alertable(None, 0.4, DissatisfactionRule(threshold=0.5, alert_threshold=0.3))
    emb = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    frame = pd.DataFrame({"text": ["same", "same", "same"], "rating": pd.array([None, 2, None], dtype="Int64")})
    p = TINY.score_texts(["same"], emb[2:])[0]  # sigmoid(3): about 0.95
    scored = score_messages(frame, emb, DissatisfactionRule(threshold=0.2, alert_threshold=0.5), TINY)
    assert p > 0.5 > TINY.score_texts(["same"], emb[:1])[0] > 0.2
    assert list(scored["dissatisfied"]) == [True, True, True] and list(scored["alertable"]) == [False, True, True]


def test_scores_are_aligned_with_the_frame_index():
    messages = pd.DataFrame({"text": ["a", "b", "c"], "rating": [np.nan, np.nan, 5.0]}, index=[10, 3, 7])
    emb = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    scored = score_messages(messages, emb, RULE, TINY)
    assert list(scored.index) == [10, 3, 7] and list(scored.columns) == [
        "sentiment",
        "dissatisfaction",
        "dissatisfied",
        "alertable",
    ]
    assert np.allclose(scored["dissatisfaction"].iloc[:2], TINY.score_texts(["a", "b"], emb[:2]))
    assert np.isnan(scored["dissatisfaction"].iloc[2])  # rated: the rating decides
    assert list(scored.loc[[10, 3, 7], "dissatisfied"]) == [True, False, False]  # 7: rated 5
    joined = messages.join(scored)
    assert joined.loc[3, "text"] == "b" and not joined.loc[3, "dissatisfied"]
    empty = score_messages(pd.DataFrame({"text": []}), np.zeros((0, 0)), RULE, TINY)
    assert empty.empty and list(empty.columns) == list(scored.columns)


def test_missing_rating_column_and_float_nan_ratings():
    emb = np.array([[1.0, 0.0]])
    assert list(score_messages(pd.DataFrame({"text": ["x"]}), emb, RULE, TINY)["dissatisfied"]) == [True]
    frame = pd.DataFrame({"text": ["great", "great"], "rating": [float("nan"), 2.0]})
    assert list(score_messages(frame, np.zeros((2, 2)), RULE, TINY)["dissatisfied"]) == [False, True]


def test_vader_feature_is_the_most_negative_sentence():
    letter = "Thank you for your help. The refund never arrived and I am furious. Please advise."
    parts = ["Thank you for your help.", "The refund never arrived and I am furious.", "Please advise."]
    assert sentence_sentiment(letter) == min(sentiment(p) for p in parts) < sentiment(letter)
    assert sentence_sentiment("just one sentence, awful") == sentiment("just one sentence, awful")
    assert sentiment("") == 0.0 and sentence_sentiment("") == 0.0


def test_a_known_whole_text_score_spares_vader_a_second_run_on_one_sentence():
    # the caller's whole-text score is the answer for one sentence (0.123 is no VADER score of it) ...
    assert sentence_sentiment("just one sentence, awful", whole=0.123) == 0.123
    # ... and is ignored where the text has several sentences
    letter = "Thank you for your help. The refund never arrived and I am furious."
    assert sentence_sentiment(letter, whole=0.123) == sentence_sentiment(letter) < 0
    texts = ["awful, simply awful", letter]
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    given = TINY.score_texts(texts, emb, [sentiment(t) for t in texts])
    assert np.allclose(given, TINY.score_texts(texts, emb))


def test_model_json_round_trips():
    data = json.loads(json.dumps(TINY.to_json()))
    back = DissatisfactionModel.from_json({**data, "metrics": {"f1": 0.9}})
    assert np.allclose(back.coef, TINY.coef) and (back.vader_coef, back.intercept, back.threshold) == (-3.0, -1.0, 0.5)
    assert back.meta == {"metrics": {"f1": 0.9}}


def test_the_committed_model_matches_the_committed_data():
    """Stale weights are caught: rebuild with `python scripts/train_dissatisfaction.py` after changing the data."""
    model = load_model()
    assert model.meta["data_digest"] == data_digest(), "retrain: scripts/train_dissatisfaction.py"
    assert model.embedding_model == EMBEDDING_MODEL and model.coef.shape == (384,)
    assert DissatisfactionRule().threshold == model.threshold and 0.0 < model.threshold < 1.0
    assert load_model() is model and load_model(MODEL_FILE) is model  # cached per process
    recipe = model.meta["recipe"]
    assert recipe["n_held_out"] == int(held_out_mask(labelled_sentences()).sum())


def test_the_held_out_split_is_fixed_and_stratified():
    frame = labelled_sentences()
    held = held_out_mask(frame)
    assert len(frame) == 3000 and frame["dissatisfied"].sum() == 1500
    assert (held == held_out_mask(frame)).all() and not (held == held_out_mask(frame, seed=1)).all()
    shares = frame.assign(held=held).groupby(["source", "dissatisfied"])["held"].mean()
    assert np.allclose(shares, 0.2)
