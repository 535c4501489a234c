"""The reason registry's matching rules on hand-made topic embeddings (pure, fast)."""

import numpy as np
import pytest

from reasons.registry import (
    ALIVE,
    DEAD,
    LABELS_FILE,
    MERGED,
    NOT_A_REASON_ID,
    RegistryParams,
    TopicIn,
    apply_labels,
    fit_space_coherence,
    group_threshold,
    load_label_overrides,
    reason_candidates,
    update,
)

E = np.eye(6)


def _t(topic_id, vec, label=None, size=10):
    return TopicIn(topic_id, label or f"topic {topic_id}", tuple(np.asarray(vec, dtype=float)), size)


def test_first_week_births_then_stable_ids_across_refits():
    w1 = update([], [_t(0, E[0]), _t(1, E[1]), _t(2, E[2])], "2026-W40")
    assert [m.reason_id for m in w1.mappings] == ["R0001", "R0002", "R0003"] and w1.count("born") == 3
    # the refit numbers topics differently and the vectors moved a little: same reasons
    noisy = [_t(5, E[2] + 0.1 * E[3]), _t(0, E[1] + 0.05 * E[4]), _t(1, E[0])]
    w2 = update(w1.reasons, noisy, "2026-W41")
    assert w2.reason_of() == {5: "R0003", 0: "R0002", 1: "R0001"}
    assert w2.count("matched") == 3 and w2.count("born") == 0
    assert all(m.similarity > 0.95 for m in w2.mappings)
    assert {r.last_seen_week for r in w2.reasons} == {"2026-W41"}
    assert w2.by_id()["R0003"].label == "topic 5"  # labels follow the latest topic


def test_assignment_is_one_to_one_and_thresholded():
    w1 = update([], [_t(0, E[0]), _t(1, E[1])], "2026-W40")
    # both new topics are closest to R0001; the Hungarian assignment gives R0001 to the better one only
    a, b = E[0] + 0.05 * E[1], E[0] + 0.3 * E[2]
    # (group_threshold 0.99: a and b are close enough to be one candidate at the default 0.68)
    w2 = update(w1.reasons, [_t(0, a), _t(1, b)], "2026-W41", RegistryParams(match_threshold=0.8, group_threshold=0.99))
    assert w2.reason_of()[0] == "R0001" and w2.reason_of()[1] == "R0003"
    assert w2.count("split") == 1  # topic 1 is also similar to R0001: one reason became two
    assert w2.count("merged") == 0
    # below the threshold nothing matches: a new reason
    w3 = update(w2.reasons, [_t(0, E[5])], "2026-W42")
    assert w3.reason_of() == {0: "R0004"} and w3.count("born") == 1


def test_merge_when_one_topic_covers_two_reasons():
    w1 = update(
        [],
        [_t(0, E[0] + 0.3 * E[1]), _t(1, E[0] - 0.3 * E[1] + 0.1 * E[2])],
        "2026-W40",
        RegistryParams(match_threshold=0.99, group_threshold=0.99),
    )
    assert w1.count("born") == 2
    w2 = update(w1.reasons, [_t(0, E[0])], "2026-W41", RegistryParams(match_threshold=0.8))
    [merge] = [e for e in w2.events if e.event == "merged"]
    kept = w2.reason_of()[0]
    gone = ({"R0001", "R0002"} - {kept}).pop()
    assert merge.reason_ids == (gone, kept) and w2.by_id()[gone].status == MERGED
    # a merged reason is never matched again
    w3 = update(w2.reasons, [_t(0, E[0]), _t(1, w1.by_id()[gone].embedding)], "2026-W42")
    assert gone not in w3.reason_of().values()


def test_close_topics_form_one_reason_and_satisfied_topics_none():
    # topics 0 and 3: one issue in two wordings (cosine 0.8); 1: another issue; 2: praise
    sub = E[0] + 0.75 * E[4]
    topics = [
        _t(0, E[0], "card declined", size=30),
        _t(1, E[1], "refund late"),
        _t(3, sub, "card refused", size=12),
        TopicIn(2, "thank great", tuple(E[2]), 40, dissatisfied_share=0.05),
    ]
    w1 = update([], topics, "2026-W40")
    assert w1.reason_of() == {0: "R0001", 1: "R0002", 2: NOT_A_REASON_ID, 3: "R0001"}
    assert w1.count("born") == 2 and "topics 0+3 'card declined'" in w1.events[0].detail
    assert [r.reason_id for r in w1.reasons] == ["R0001", "R0002"]  # praise is never a reason
    assert w1.by_id()["R0001"].size == 42
    # next week the issue comes as one topic: same reason, nothing born
    w2 = update(
        w1.reasons,
        [_t(7, E[0] + 0.2 * E[4]), _t(8, E[1]), TopicIn(9, "love it", tuple(E[5]), 40, dissatisfied_share=0.0)],
        "2026-W41",
    )
    assert w2.reason_of() == {7: "R0001", 8: "R0002", 9: NOT_A_REASON_ID} and w2.count("born") == 0
    # below the threshold topics stay apart; an unknown dissatisfied share counts as a reason
    apart = update([], [_t(0, E[0]), _t(1, sub)], "2026-W40", RegistryParams(group_threshold=0.9))
    assert apart.count("born") == 2
    # a mostly satisfied candidate is no reason, however large
    assert update([], [TopicIn(0, "ok", tuple(E[0]), 500, dissatisfied_share=0.2)], "2026-W40").reasons == ()


def _domain(n_reasons: int, shared: float) -> list[np.ndarray]:
    """Unit vectors of ``n_reasons`` distinct reasons (orthogonal own directions) that all share one strong
    domain direction: every pair of them is cosine ``shared² / (shared² + (1 - shared)²)`` apart."""
    space = np.eye(n_reasons + 1)
    return [(v := shared * space[0] + (1 - shared) * space[k + 1]) / np.linalg.norm(v) for k in range(n_reasons)]


def test_grouping_adapts_to_a_domain_where_every_centroid_is_close():
    reasons = _domain(8, shared=0.7)
    cosines = [float(a @ b) for i, a in enumerate(reasons) for b in reasons[i + 1 :]]
    assert min(cosines) > 0.8  # a fixed 0.68 joins every reason into one catch-all
    fixed = RegistryParams(group_threshold=0.68)
    assert len(reason_candidates([_t(i, v) for i, v in enumerate(reasons)], fixed)[0]) == 1
    # two sub-topics of reason 0 (closer to each other than any two reasons) still group
    twin = reasons[0] + 0.1 * np.eye(9)[1]
    topics = [_t(i, v) for i, v in enumerate(reasons)] + [_t(8, twin)]
    kept, refused, used = reason_candidates(topics, RegistryParams())
    assert used == group_threshold(topics, RegistryParams()) and max(cosines) < used < 0.99
    assert sorted(c.topic_ids for c in kept) == [(0, 8)] + [(i,) for i in range(1, 8)] and refused == []
    # the floor holds for a few far-apart topics (under 3 topics: no statistics)
    assert group_threshold([_t(0, E[0]), _t(1, E[1])], RegistryParams()) == RegistryParams().group_floor


def test_a_catch_all_is_split_or_refused():
    a, b = E[0], E[0] + 0.3 * E[1]
    coherent = [TopicIn(i, f"t{i}", tuple(v), 20, 1.0, 0.6) for i, v in enumerate([E[2], E[3], E[4]])]
    # a lone topic far less coherent than the week's median (0.6): refused, never a reason
    loose = TopicIn(9, "everything", tuple(E[5]), 400, 1.0, 0.2)
    week = update([], [*coherent, loose], "2026-W40")
    assert week.reason_of()[9] == NOT_A_REASON_ID and week.count("refused") == 1
    assert {week.reason_of()[i] for i in range(3)} == {"R0001", "R0002", "R0003"}
    # a group whose topics are coherent enough on their own is split back into them
    pair = [TopicIn(5, "a", tuple(a), 30, 1.0, 0.25), TopicIn(6, "b", tuple(b), 30, 1.0, 0.25)]
    kept, refused, _ = reason_candidates([*coherent, *pair], RegistryParams(group_threshold=0.9))
    assert (5, 6) not in [c.topic_ids for c in kept] and {c.topic_ids for c in refused} == {(5,), (6,)}
    kept, refused, _ = reason_candidates(
        [*coherent, *(TopicIn(t.topic_id, t.label, t.embedding, 30, 1.0, 0.6) for t in pair)],
        RegistryParams(group_threshold=0.9),
    )
    assert (5, 6) in [c.topic_ids for c in kept] and refused == []


def test_a_group_of_topics_must_hold_together_about_as_well_as_a_topic():
    coherent = [TopicIn(i, f"t{i}", tuple(v), 20, 1.0, 0.6) for i, v in enumerate([E[2], E[3], E[4]])]
    joined = RegistryParams(group_threshold=0.1)  # both pairs below are grouped
    # sub-topics of one issue (centroids at cosine 0.95): the group sits at 0.6 × 0.99, over 0.8 × 0.6
    near = [TopicIn(5, "a", tuple(E[0]), 30, 1.0, 0.6), TopicIn(6, "b", tuple(E[0] + 0.33 * E[1]), 30, 1.0, 0.6)]
    kept, refused, _ = reason_candidates([*coherent, *near], joined)
    assert (5, 6) in [c.topic_ids for c in kept] and refused == []
    # loose neighbours (cosine 0.16): 0.6 × 0.76 = 0.46, under 0.48: split back into two reasons, none refused
    far = [near[0], TopicIn(6, "b", tuple(E[0] + 6 * E[1]), 30, 1.0, 0.6)]
    kept, refused, _ = reason_candidates([*coherent, *far], joined)
    assert {(5,), (6,)} <= {c.topic_ids for c in kept} and refused == []
    week = update([], [*coherent, *far], "2026-W40", joined)
    assert week.reason_of()[5] != week.reason_of()[6] and week.count("refused") == 0
    # switched off, only the catch-all bar (0.7 × 0.6 = 0.42) splits: the neighbours stay one reason
    kept, _, _ = reason_candidates(
        [*coherent, *far], RegistryParams(group_threshold=0.1, min_group_coherence_ratio=None)
    )
    assert (5, 6) in [c.topic_ids for c in kept]


def test_a_group_of_topics_pointing_many_ways_in_the_fit_space_is_split_back():
    coherent = [TopicIn(i, f"t{i}", tuple(v), 20, 1.0, 0.6) for i, v in enumerate([E[2], E[3], E[4]])]
    joined = RegistryParams(group_threshold=0.9, min_group_fit_coherence_ratio=0.6)
    # four topics whose raw centroids all share the domain's direction (cosine 0.99: grouped, and the raw
    # estimate 0.6 × 0.99 passes the group bar) ...
    raw = [E[0] + 0.1 * E[1], E[0] - 0.1 * E[1], E[0] + 0.1 * E[5], E[0] - 0.1 * E[5]]
    fit = np.eye(4)

    def group(fit_embeddings):
        return [
            TopicIn(10 + i, f"g{i}", tuple(r), 25, 1.0, 0.6, tuple(f))
            for i, (r, f) in enumerate(zip(raw, fit_embeddings))
        ]

    # ... but in the fit's space they point four ways: the group's messages sit at 0.6 × |sum of four
    # orthogonal units| / 4 = 0.3 from its centre, under 0.6 × the median 0.6: four reasons, none refused
    spread = group(fit)
    assert fit_space_coherence(spread) == pytest.approx(0.3)
    kept, refused, _ = reason_candidates([*coherent, *spread], joined)
    assert {(10,), (11,), (12,), (13,)} <= {c.topic_ids for c in kept} and refused == []
    # sub-topics of one issue point one way there too (pairwise cosines 0.6-0.8): one reason
    one_way = group([0.55 * fit[0] + 0.45 * f for f in fit])
    assert fit_space_coherence(one_way) > 0.5
    kept, _, _ = reason_candidates([*coherent, *one_way], joined)
    assert (10, 11, 12, 13) in [c.topic_ids for c in kept]
    # off (the default), or without the fit's centroids (an older artefact): judged on the raw estimate alone
    off = RegistryParams(group_threshold=0.9)
    assert (10, 11, 12, 13) in [c.topic_ids for c in reason_candidates([*coherent, *spread], off)[0]]
    unknown = [TopicIn(t.topic_id, t.label, t.embedding, t.size, 1.0, 0.6) for t in spread]
    assert fit_space_coherence(unknown) is None
    assert (10, 11, 12, 13) in [c.topic_ids for c in reason_candidates([*coherent, *unknown], joined)[0]]


def test_a_loose_reason_is_kept_and_elected_but_does_not_alert():
    coherent = [TopicIn(i, f"t{i}", tuple(v), 20, 1.0, 0.6) for i, v in enumerate([E[2], E[3], E[4]])]
    # above the catch-all bar (0.7 × the median 0.6 = 0.42), under the alert bar (0.8 × 0.6 = 0.48)
    loose = TopicIn(9, "a bit of everything", tuple(E[5]), 200, 1.0, 0.45)
    week = update([], [*coherent, loose], "2026-W40")
    reason_of = week.reason_of()
    assert reason_of[9] not in (NOT_A_REASON_ID, None) and week.count("refused") == 0
    assert {m.topic_id: m.alerts for m in week.mappings} == {0: True, 1: True, 2: True, 9: False}
    (quiet,) = [e for e in week.events if e.event == "quiet"]
    assert quiet.reason_ids == (reason_of[9],) and "0.450 < 0.480" in quiet.detail
    # judged as a group: two loose topics of one reason, each 0.45, grouped at cosine 0.95 → 0.45 × 0.99
    # (with loose groups kept whole: by default a group under 0.9 × the median is split back first)
    twin = TopicIn(10, "b", tuple(E[5] + 0.33 * E[1]), 200, 1.0, 0.45)
    whole = RegistryParams(group_threshold=0.9, min_group_coherence_ratio=None)
    week = update([], [*coherent, loose, twin], "2026-W40", whole)
    assert week.reason_of()[9] == week.reason_of()[10] and week.count("quiet") == 1
    # switched off, or with every topic as coherent as the week: every topic alerts
    off = update([], [*coherent, loose], "2026-W40", RegistryParams(min_alert_coherence_ratio=None))
    assert all(m.alerts for m in off.mappings) and off.count("quiet") == 0
    assert all(m.alerts for m in update([], coherent, "2026-W40").mappings)


def test_a_reason_no_tighter_than_the_week_is_refused():
    def topic(topic_id, vec, relative, size=20):
        return TopicIn(topic_id, f"t{topic_id}", tuple(vec), size, 1.0, 0.6, relative_coherence=relative)

    tight = [topic(i, v, 1.3) for i, v in enumerate([E[2], E[3], E[4]])]
    # as coherent as any topic in the fit's space, but its messages sit no closer to their raw centre than
    # the week's to theirs: a little of everything, refused and said why
    everything = topic(9, E[5], 1.01, size=40)
    week = update([], [*tight, everything], "2026-W40")
    assert week.reason_of()[9] == NOT_A_REASON_ID and week.reason_of()[0] != NOT_A_REASON_ID
    (refused,) = [e for e in week.events if e.event == "refused"]
    assert "a little of everything (1.01 × the week's coherence < 1.05)" in refused.detail
    # above the bar, switched off, unknown (an older artefact), or most of the week: not judged on it
    assert update([], [*tight, topic(9, E[5], 1.1, size=40)], "2026-W40").count("refused") == 0
    off = RegistryParams(min_week_relative_coherence=None)
    assert update([], [*tight, everything], "2026-W40", off).reason_of()[9] != NOT_A_REASON_ID
    assert update([], [*tight, topic(9, E[5], None, size=40)], "2026-W40").count("refused") == 0
    assert update([], [*tight, topic(9, E[5], 1.0, size=61)], "2026-W40").count("refused") == 0
    # two tight topics at cosine 0.5, grouped: together their messages sit at 1.15 × |u + v| / 2 = 0.996 of
    # the week's: split back into two reasons, neither refused
    a, b = E[0], (E[0] + np.sqrt(3) * E[1]) / 2
    pair = [topic(5, a, 1.15), topic(6, b, 1.15)]
    kept, refused_, _ = reason_candidates([*tight, *pair], RegistryParams(group_threshold=0.4))
    assert {(5,), (6,)} <= {c.topic_ids for c in kept} and refused_ == []
    kept, _, _ = reason_candidates(
        [*tight, *pair], RegistryParams(group_threshold=0.4, min_week_relative_coherence=None)
    )
    assert (5, 6) in {c.topic_ids for c in kept}


def test_unseen_reasons_die_and_can_revive():
    p = RegistryParams(death_after_weeks=2)
    w1 = update([], [_t(0, E[0]), _t(1, E[1])], "2026-W40", p)
    w2 = update(w1.reasons, [_t(0, E[0])], "2026-W41", p)
    assert w2.by_id()["R0002"].status == ALIVE
    w3 = update(w2.reasons, [_t(0, E[0])], "2026-W42", p)
    assert w3.by_id()["R0002"].status == DEAD and w3.count("died") == 1
    w4 = update(w3.reasons, [_t(0, E[0]), _t(3, E[1])], "2026-W43", p)
    assert w4.reason_of()[3] == "R0002" and w4.by_id()["R0002"].status == ALIVE
    assert any("revived" in e.detail for e in w4.events)


def test_replaying_a_week_from_the_same_snapshot_gives_the_same_ids():
    w1 = update([], [_t(0, E[0]), _t(1, E[1])], "2026-W40")
    topics = [_t(0, E[1]), _t(1, E[3])]
    assert update(w1.reasons, topics, "2026-W41") == update(w1.reasons, topics, "2026-W41")


def test_analyst_label_overrides(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("R0001: Card payments declined\nR0002: \n")
    overrides = load_label_overrides(path)
    assert overrides == {"R0001": "Card payments declined"}
    assert apply_labels({"R0001": "card declined", "R0002": "refund"}, overrides) == {
        "R0001": "Card payments declined",
        "R0002": "refund",
    }
    assert load_label_overrides(tmp_path / "missing.yaml") == {}
    (tmp_path / "bad.yaml").write_text("- a\n- b\n")
    with pytest.raises(ValueError):
        load_label_overrides(tmp_path / "bad.yaml")
    assert LABELS_FILE.name == "reason_labels.yaml" and LABELS_FILE.is_file()  # the default is the repo's file
    assert isinstance(load_label_overrides(), dict)  # ... and it parses
