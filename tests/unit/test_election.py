from datetime import UTC, datetime

import pandas as pd
import pytest

from lake.catalog import to_arrow
from reasons.election.elect import COLUMNS, elect
from reasons.election.policy import ElectionPolicy
from reasons.election.report import top_reasons_markdown

AT = datetime(2026, 11, 16, 3, tzinfo=UTC)
LABELS = {
    0: "card declined payment",
    1: "refund waiting weeks",
    2: "app crashes update",
    3: "login password reset",
    4: "delivery late parcel",
    5: "thanks great service",
}


def _messages(**dissatisfied_by_topic) -> pd.DataFrame:
    """topic -> (dissatisfied, satisfied) counts."""
    rows = []
    for key, (bad, good) in dissatisfied_by_topic.items():
        topic = int(key.removeprefix("t").replace("m", "-"))
        rows += [{"topic_id": topic, "dissatisfied": True}] * bad + [{"topic_id": topic, "dissatisfied": False}] * good
    return pd.DataFrame(rows)


def _elect(frame, policy=ElectionPolicy()):
    return elect(frame, LABELS, policy, "2026-W46", "2026-W46-abc", elected_at=AT)


def test_top_k_elected_in_order_with_shares():
    # 100 dissatisfied: t0 40, t1 25, t2 15, t3 10, t4 4, outliers 6; t5 only satisfied messages
    frame = _messages(t0=(40, 5), t1=(25, 0), t2=(15, 3), t3=(10, 0), t4=(4, 9), t5=(0, 30), tm1=(6, 2))
    result = _elect(frame)
    assert list(result.columns) == COLUMNS
    assert list(result["topic_id"]) == [0, 1, 2, 3, 4, 5, -1]
    assert list(result["rank"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(result["message_count"]) == [40, 25, 15, 10, 4, 0, 6]
    assert list(result["share"]) == pytest.approx([0.40, 0.25, 0.15, 0.10, 0.04, 0.0, 0.06])
    assert list(result.loc[result["elected"], "label"]) == [
        "card declined payment",
        "refund waiting weeks",
        "app crashes update",
    ]
    assert list(result["reason_id"])[:2] == ["2026-W46-abc/0", "2026-W46-abc/1"]
    assert result.loc[result["topic_id"] == 3, "why"].item().startswith("not elected: rank 4 is beyond the top 3")
    assert "outliers" in result.loc[result["topic_id"] == -1, "why"].item()
    assert result["elected_at"].eq(AT).all() and result["week"].eq("2026-W46").all()
    to_arrow("ml.elections", result.to_dict("records"))  # fits the table contract


def test_outliers_are_never_elected_even_when_largest():
    result = _elect(_messages(tm1=(90, 0), t0=(10, 0)))
    assert list(result.loc[result["elected"], "topic_id"]) == [0]
    outliers = result[result["topic_id"] == -1]
    assert not outliers["elected"].item() and outliers["rank"].item() == len(result)


def test_min_count_and_min_share_are_honoured():
    frame = _messages(t0=(30, 0), t1=(4, 0), t2=(3, 0))  # t1 has fewer than min_count 5
    result = _elect(frame)
    assert list(result.loc[result["elected"], "topic_id"]) == [0]
    assert "fewer than the minimum 5" in result.loc[result["topic_id"] == 1, "why"].item()

    frame = _messages(t0=(200, 0), t1=(8, 0), t2=(6, 0))  # t1: 8 of 214 = 3.7% < 5%
    result = _elect(frame, ElectionPolicy(top_k=3, min_count=5, min_share=0.05))
    assert list(result.loc[result["elected"], "topic_id"]) == [0]
    assert "below the minimum 5%" in result.loc[result["topic_id"] == 1, "why"].item()


def test_ties_rank_by_topic_id_and_no_dissatisfied_elects_nothing():
    result = _elect(_messages(t2=(10, 0), t1=(10, 0), t0=(5, 0)), ElectionPolicy(top_k=1))
    assert list(result["topic_id"])[:3] == [1, 2, 0] and list(result.loc[result["elected"], "topic_id"]) == [1]

    quiet = _elect(_messages(t0=(0, 20), t1=(0, 5)))
    assert not quiet["elected"].any() and quiet["share"].eq(0).all()
    assert top_reasons_markdown(quiet) == "_no reason elected this week_"
    assert "| 1 | refund waiting weeks | 10 |" in top_reasons_markdown(result)


def test_the_built_in_policy_is_the_shipped_one():
    """``ElectionPolicy()`` and ``PromotionGates()`` (what tests and benches build) hold the values of the
    shipped ``policy.yaml`` (what the pipeline runs): one set of values, not two that drift apart."""
    from dataclasses import replace

    from reasons.election.policy import PromotionGates, load_policy

    policy, gates = load_policy()
    assert replace(policy, policy_version="builtin", source_weights=()) == ElectionPolicy()
    assert all(weight == 1.0 for _, weight in policy.source_weights)  # listed at the default weight
    assert gates == PromotionGates()


def test_policy_file_weights_growth_persistence_and_explanation(tmp_path):
    from dataclasses import replace

    from reasons.election.policy import PromotionGates, load_policy
    from reasons.election.report import explanation_markdown

    policy, gates = load_policy()  # the repo's versioned policy
    assert policy.policy_version and policy.top_k == 3 and isinstance(gates, PromotionGates)
    bad = tmp_path / "bad.yaml"
    bad.write_text("top_k: 3\n")
    with pytest.raises(ValueError):
        load_policy(bad)

    frame = pd.DataFrame(
        {
            "topic_id": [0] * 10 + [1] * 8,
            "dissatisfied": True,
            "source": ["crm"] * 10 + ["review_portal"] * 8,
            "message_id": [f"m{i}" for i in range(18)],
        }
    )
    weighted = replace(policy, source_weights=(("review_portal", 2.0),), top_k=1)
    result = elect(
        frame,
        LABELS,
        weighted,
        "2026-W46",
        "v",
        elected_at=AT,
        reason_ids={0: "R0001", 1: "R0002"},
        snapshot_ids={"ml.message_topics": 7},
    )
    top = result.iloc[0]
    assert (top["reason_id"], top["score"], top["message_count"]) == ("R0002", 16.0, 8)  # 8 x 2.0 beats 10 x 1.0
    assert top["share"] == pytest.approx(16 / 26) and top["policy_version"] == policy.policy_version
    assert top["sources"] == '{"review_portal": 8}' and list(top["example_message_ids"]) == ["m10", "m11", "m12"]
    assert top["snapshot_ids"] == '{"ml.message_topics": 7}' and pd.isna(top["previous_count"])

    previous = pd.DataFrame({"reason_id": ["R0001", "R0002"], "message_count": [2, 8]})
    growth = elect(
        frame,
        LABELS,
        replace(policy, min_growth=0.5),
        "2026-W46",
        "v",
        elected_at=AT,
        reason_ids={0: "R0001", 1: "R0002"},
        previous=previous,
    )
    assert list(growth.loc[growth["elected"], "reason_id"]) == ["R0001"]  # 2 -> 10 grew; 8 -> 8 did not
    assert growth.set_index("reason_id").loc["R0001", "count_change"] == 8
    assert "growth rule" in growth.set_index("reason_id").loc["R0002", "why"]

    young = elect(
        frame,
        LABELS,
        replace(policy, min_age_weeks=2),
        "2026-W46",
        "v",
        elected_at=AT,
        reason_ids={0: "R0001", 1: "R0002"},
        born_weeks={"R0001": "2026-W46", "R0002": "2026-W40"},
    )
    assert list(young.loc[young["elected"], "reason_id"]) == ["R0002"]
    assert "persistence rule" in young.set_index("reason_id").loc["R0001", "why"]
    assert "R0001" in explanation_markdown(growth) and "| 2 |" in explanation_markdown(growth)
    to_arrow("ml.elections", growth.to_dict("records"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("top_k: 3", "top_k: three"), "top_k='three' is not valid"),
        (("min_share: 0.03", "min_share: 5"), "min_share=5.0 is not valid: a share between 0 and 1"),
        (("  crm: 1.0", "  crm: heavy"), "source_weights.crm='heavy' is not valid"),
        (("  max_outlier_share: 0.25", "  max_outlier_share: [0.25]"), "max_outlier_share=[0.25] is not valid"),
        (("top_k: 3", "top_k: 3\nbogus: 1"), "unknown keys ['bogus']"),
    ],
)
def test_policy_file_values_are_type_checked(tmp_path, change, message):
    from reasons.election.policy import POLICY_FILE, PolicyError, load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_FILE.read_text().replace(*change))
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert message in str(raised.value) and str(path) in str(raised.value)
    assert "\n" not in str(raised.value)
