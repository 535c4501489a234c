"""The analyst's edits laid over the registry's weekly update (``reasons/registry/edits.py``), on hand-made
topic embeddings (pure, fast)."""

from datetime import UTC, datetime

import numpy as np
import pytest

from reasons.registry import DEAD, MERGED, NOT_A_REASON_ID, TopicIn, update
from reasons.registry.edits import (
    EXCLUDED,
    MERGE,
    NOT_A_REASON,
    RENAME,
    SPLIT,
    Edit,
    ReasonEditError,
    apply_edits,
    check,
    current,
    edited_labels,
    in_force,
)

E = np.eye(6)
T = 0.80  # RegistryParams().match_threshold


def _t(topic_id, vec, label=None, size=10):
    return TopicIn(topic_id, label or f"topic {topic_id}", tuple(np.asarray(vec, dtype=float)), size)


def _edit(action, reason_id, *others, week="2026-W41", label=None, topics=(), n=1, by="ana"):
    return Edit(
        f"e{n}",
        week,
        action,
        reason_id,
        tuple(others),
        label,
        tuple(topics),
        made_by=by,
        made_at=datetime(2026, 10, 12, n, tzinfo=UTC),
        why="seen in the tickets",
    )


def _week(reasons, topics, week, edits):
    """The registry's update of ``week`` with ``edits`` laid over, as ``resolve_reasons`` does."""
    return apply_edits(update(reasons, topics, week), edits, topics, T)


THREE = [_t(0, E[0]), _t(1, E[1]), _t(2, E[2])]


def test_a_merge_folds_the_reason_this_week_and_its_return_later():
    w40 = update([], THREE, "2026-W40")
    merge = [_edit(MERGE, "R0001", "R0002")]  # made while 2026-W41 was the latest
    w41 = _week(w40.reasons, THREE, "2026-W41", merge)
    assert w41.reason_of() == {0: "R0001", 1: "R0001", 2: "R0003"}
    assert w41.by_id()["R0002"].status == MERGED and w41.by_id()["R0001"].size == 20
    [event] = [e for e in w41.events if e.event == "merged"]
    assert event.reason_ids == ("R0001", "R0002") and "edit e1 by ana" in event.detail
    # the registry no longer matches a merged reason: its topic is born again, and that birth is undone
    w42 = _week(w41.reasons, THREE, "2026-W42", merge)
    assert w42.reason_of() == {0: "R0001", 1: "R0001", 2: "R0003"}
    assert set(w42.by_id()) == {"R0001", "R0002", "R0003"}
    assert not [e for e in w42.events if e.event == "born"]


def test_an_edit_made_at_w_never_changes_an_earlier_week():
    w40 = update([], THREE, "2026-W40")
    edits = [_edit(MERGE, "R0001", "R0002"), _edit(RENAME, "R0003", label="late delivery", n=2)]
    assert in_force(edits, "2026-W40") == [] and in_force(edits, "2026-W41") == edits
    replayed = apply_edits(update([], THREE, "2026-W40"), edits, THREE, T)
    assert replayed == w40


def test_a_replay_and_a_second_application_give_the_same_registry():
    w40 = update([], THREE, "2026-W40")
    edits = [
        _edit(MERGE, "R0001", "R0002"),
        _edit(RENAME, "R0001", label="card declined", n=2),
        _edit(NOT_A_REASON, "R0003", n=3),
    ]
    first = _week(w40.reasons, THREE, "2026-W41", edits)
    assert _week(w40.reasons, THREE, "2026-W41", edits) == first  # the week replayed from the same snapshot
    assert apply_edits(first, edits, THREE, T) == first  # laid over its own result: nothing changes


def test_a_rename_wins_over_the_topic_label_and_the_labels_file():
    w40 = update([], THREE, "2026-W40")
    edits = [_edit(RENAME, "R0002", label="late delivery")]
    w41 = _week(w40.reasons, [_t(0, E[0]), _t(7, E[1], "where is my parcel"), _t(2, E[2])], "2026-W41", edits)
    assert w41.by_id()["R0002"].label == "late delivery"
    [event] = [e for e in w41.events if e.event == "renamed"]
    assert "was 'where is my parcel'" in event.detail
    from_file = {"R0001": "cards", "R0002": "parcels", "R0003": "topic 2"}  # reasons/reason_labels.yaml laid over
    assert edited_labels(from_file, w41, edits) == {"R0001": "cards", "R0002": "late delivery", "R0003": "topic 2"}


def test_not_a_reason_is_never_a_reason_again():
    w40 = update([], THREE, "2026-W40")
    edits = [_edit(NOT_A_REASON, "R0003")]
    w41 = _week(w40.reasons, THREE, "2026-W41", edits)
    assert w41.reason_of()[2] == NOT_A_REASON_ID and w41.by_id()["R0003"].status == EXCLUDED
    [m] = [m for m in w41.mappings if m.topic_id == 2]
    assert m.event == NOT_A_REASON_ID
    # the registry keeps matching it (its topics are recognised) and the edit keeps them out
    w42 = _week(w41.reasons, [_t(4, E[2] + 0.1 * E[5]), _t(0, E[0])], "2026-W42", edits)
    assert w42.reason_of() == {0: "R0001", 4: NOT_A_REASON_ID}
    assert w42.by_id()["R0003"].status == EXCLUDED and "R0004" not in w42.by_id()


def _split_weeks():
    """Week 40: topics 0 and 1 (one issue in two wordings, cosine 0.8) form R0001; topic 2 is R0002."""
    sub = E[0] + 0.75 * E[4]
    topics = [_t(0, E[0], "card declined", size=30), _t(1, sub, "card refused abroad", size=12), _t(2, E[1])]
    w40 = update([], topics, "2026-W40")
    assert w40.reason_of() == {0: "R0001", 1: "R0001", 2: "R0002"}
    return topics, w40


def test_a_split_gets_a_new_stable_id_and_stays_apart_in_later_weeks():
    topics, w40 = _split_weeks()
    edit = check(
        _edit(SPLIT, "R0001", week="2026-W40", topics=(1,), label="card refused abroad"),
        w40.reasons,
        [t for t in topics if t.topic_id in (0, 1)],
    )
    assert edit.other_ids == ("R0001.1",) and edit.topic_ids == (1,)
    replayed = _week([], topics, "2026-W40", [edit])  # the week it was made in, replayed
    assert replayed.reason_of() == {0: "R0001", 1: "R0001.1", 2: "R0002"}
    assert replayed.by_id()["R0001.1"].label == "card refused abroad"
    # next week the registry sees the two wordings as one candidate again; the split keeps them apart
    refit = [_t(5, E[0] + 0.05 * E[3], size=25), _t(3, E[0] + 0.8 * E[4], size=15), _t(4, E[1])]
    w41 = _week(replayed.reasons, refit, "2026-W41", [edit])
    assert w41.reason_of() == {3: "R0001.1", 4: "R0002", 5: "R0001"}
    assert {w41.by_id()[r].status for r in ("R0001", "R0001.1")} == {"alive"}
    assert not [e for e in w41.events if e.event == "merged"]
    # a second split of R0001 gets the next id
    again = check(_edit(SPLIT, "R0001", week="2026-W41", topics=(5,), n=2), w41.reasons, refit[:1] + refit[1:2])
    assert again.other_ids == ("R0001.2",)


def test_current_registry_shows_the_edits_before_the_next_run():
    topics, w40 = _split_weeks()
    split = check(_edit(SPLIT, "R0001", week="2026-W40", topics=(1,)), w40.reasons, topics[:2])
    view = {r.reason_id: r for r in current(w40.reasons, [split, _edit(MERGE, "R0002", "R0001", n=2)], "2026-W41")}
    assert view["R0001.1"].status == "alive" and view["R0001"].status == MERGED


def test_bad_edits_say_what_is_wrong():
    _, w40 = _split_weeks()
    dead = tuple(r if r.reason_id != "R0002" else r.__class__(**{**r.__dict__, "status": DEAD}) for r in w40.reasons)
    cases = [
        (_edit(MERGE, "R0001", "R0009"), "R0009 is not in the registry"),
        (_edit(MERGE, "R0001", "R0001"), "cannot be merged into itself"),
        (_edit(MERGE, "R0001", "R0002"), "R0002 is dead"),
        (_edit(RENAME, "R0001", label="  "), "label of R0001 is empty"),
        (Edit("e9", "2026-W40", RENAME, "R0001", label="x", why=" "), "--why is empty"),
        (_edit(SPLIT, "R0001", topics=(0, 1)), "every topic of R0001 would go"),
        (_edit(SPLIT, "R0001", topics=(2,)), "topic(s) 2 are not mapped to R0001"),
    ]
    topics = [_t(0, E[0]), _t(1, E[0] + 0.75 * E[4])]
    for edit, message in cases:
        with pytest.raises(ReasonEditError, match=message.replace("(", r"\(").replace(")", r"\)")):
            check(edit, dead, topics)
    merged = current(w40.reasons, [_edit(MERGE, "R0002", "R0001")], "2026-W41")
    with pytest.raises(ReasonEditError, match="R0001 was merged"):
        check(_edit(RENAME, "R0001", label="x"), merged)


def test_a_reason_merged_into_a_seeded_reason_keeps_going_to_the_seed():
    from reasons.registry import RegistryParams, Seed

    params = RegistryParams(seeds=(Seed("S-late-delivery", "Late delivery", tuple(E[0])),))
    w40 = update([], THREE, "2026-W40", params)
    assert w40.reason_of() == {0: "S-late-delivery", 1: "R0001", 2: "R0002"}
    merge = [_edit(MERGE, "S-late-delivery", "R0001")]  # the analyst: R0001 is late delivery too
    for week in ("2026-W41", "2026-W42"):  # the week it was made in and a later one
        edited = apply_edits(update(w40.reasons, THREE, week, params), merge, THREE, T)
        assert edited.reason_of() == {0: "S-late-delivery", 1: "S-late-delivery", 2: "R0002"}
        assert edited.by_id()["S-late-delivery"].label == "Late delivery"
        assert edited.by_id()["R0001"].status == MERGED
