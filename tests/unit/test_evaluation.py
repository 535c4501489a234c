"""The yardstick's own arithmetic (pure): what counts as a week's true top reasons."""

from reasons.evaluation import true_top3


def test_a_labellers_no_reason_is_never_a_true_top_reason() -> None:
    labels = ["late"] * 5 + ["can't tell"] * 4 + ["lost bag"] * 3 + ["rude staff"] * 2 + ["seat"]
    assert true_top3(labels) == ("late", "can't tell", "lost bag")
    assert true_top3(labels, no_reason={"can't tell"}) == ("late", "lost bag", "rude staff")
