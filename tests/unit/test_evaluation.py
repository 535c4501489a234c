"""The yardstick's own arithmetic (pure): what counts as a week's true top reasons."""

import numpy as np
import pandas as pd

from reasons.evaluation import WeekQuality, _alerts, _mapped, true_top3
from reasons.naming import label_counts, label_set


def test_a_labellers_no_reason_is_never_a_true_top_reason() -> None:
    labels = ["late"] * 5 + ["can't tell"] * 4 + ["lost bag"] * 3 + ["rude staff"] * 2 + ["seat"]
    assert true_top3(labels) == ("late", "can't tell", "lost bag")
    assert true_top3(labels, no_reason={"can't tell"}) == ("late", "lost bag", "rude staff")


def test_a_row_of_several_labels_counts_once_for_each() -> None:
    labels = ["packaging; service", "packaging", "quality; packaging", "service", "fit"]
    assert label_set("packaging; service") == ("packaging", "service")
    assert label_counts(labels) == {"packaging": 3, "service": 2, "quality": 1, "fit": 1}
    assert true_top3(labels)[:2] == ("packaging", "service")


def _quality() -> WeekQuality:
    return WeekQuality(
        week="2026-W01", messages=0, topics=0, reasons=0, refused=0, quiet=0, group_threshold=0.0, truth=(),
        elected=(), elected_labels=(), hits=0, purity=0.0, nmi=0.0, ari=0.0,
    )  # fmt: skip


class _Assigned:
    def __init__(self, topic_id: int) -> None:
        self.topic_id, self.similarity = topic_id, 1.0


class _Model:
    """Assigns row i of the embeddings to topic int(row[0]) and alerts on anything assigned."""

    def assign_embeddings(self, embeddings):
        return [_Assigned(int(row[0])) for row in embeddings]

    def alert_similarity(self, topic_id: int) -> float:
        return 0.0


def test_an_alert_is_right_when_any_of_the_messages_labels_is_its_reasons_majority_label() -> None:
    following = pd.DataFrame(
        {
            "label": ["packaging; service", "service", "quality", "(no complaint)", "packaging"],
            "dissatisfied": [True, True, True, False, True],
            # what the pipeline's classifier said: it missed the last one and took the praise for a complaint
            "acted": [True, True, True, True, False],
        }
    )
    topics = np.array([[0], [0], [1], [0], [0]])
    reason_of, issue_of = {0: "R1", 1: "R2"}, {"R1": "packaging", "R2": "quality"}
    q = _alerts(_quality(), following, topics, _Model(), reason_of, issue_of, {"R1", "R2"})  # type: ignore[arg-type]
    assert q.alerts == 4
    assert q.alert_precision == 2 / 4  # rows 0 and 2 right; row 1 (service) and row 3 (praise) wrong
    assert q.alerts_not_complaining == 1 / 4
    # dissatisfied rows whose labels an elected reason stands for: 0, 2, 4 (row 4 was never alerted)
    assert q.alert_recall == 2 / 3


def test_families_map_each_of_a_rows_labels_once() -> None:
    assert _mapped("a; b; c", {"a": "F", "b": "F"}) == "F; c"
