import pandas as pd

from reasons.sentiment import DissatisfactionRule, is_dissatisfied, score_messages, sentiment


def test_rating_wins_over_text_and_vader_decides_without_rating():
    messages = pd.DataFrame(
        {
            "text": [
                "I love this, great service!",  # glowing text but 1 star
                "This is terrible and I am furious",  # angry text but 5 stars
                "The app crashes, awful experience",  # no rating, negative
                "Thanks, everything works great",  # no rating, positive
                "What are your opening hours",  # no rating, neutral
                "meh",
            ],
            "rating": pd.array([1, 5, None, None, None, 2], dtype="Int64"),
        }
    )
    scored = score_messages(messages)
    assert list(scored["dissatisfied"]) == [True, False, True, False, False, True]
    assert list(scored.index) == list(messages.index)
    assert scored["sentiment"].iloc[0] > 0.5 and scored["sentiment"].iloc[1] < -0.5
    assert scored["sentiment"].iloc[4] == 0.0


def test_thresholds_are_configurable_and_strict():
    assert is_dissatisfied(3, 0.9, DissatisfactionRule(max_rating=3))
    assert not is_dissatisfied(3, -0.9)
    assert is_dissatisfied(None, -0.06)
    assert not is_dissatisfied(None, -0.05)  # strictly below the threshold
    assert not is_dissatisfied(None, -0.3, DissatisfactionRule(compound_threshold=-0.5))
    assert sentiment("") == 0.0


def test_missing_rating_column_and_float_nan_ratings():
    assert list(score_messages(pd.DataFrame({"text": ["awful, terrible"]}))["dissatisfied"]) == [True]
    frame = pd.DataFrame({"text": ["great", "great"], "rating": [float("nan"), 2.0]})
    assert list(score_messages(frame)["dissatisfied"]) == [False, True]
