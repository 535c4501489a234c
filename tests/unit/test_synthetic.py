import json
from collections import Counter
from datetime import UTC, datetime

from flink.contract import Accepted, KafkaEnvelope, Rejected, validate
from reasonlake.synthetic import ISSUES, SyntheticSpec, generate, incoming, iter_jsonl, topic_issues

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _validate_all(records):
    return [validate(KafkaEnvelope(r.topic, 0, i, 0, r.value), NOW) for i, r in enumerate(records)]


def test_generation_is_seeded_and_matches_ground_truth():
    spec = SyntheticSpec(messages=1200, weeks=3, seed=3, now=NOW)
    records, truth = generate(spec)
    again, _ = generate(spec)
    assert [r.value for r in records] == [r.value for r in again]
    assert truth.weeks == ["2026-W44", "2026-W45", "2026-W46"]
    assert truth.records == len(records)
    kinds = Counter(r.kind for r in records)
    assert kinds["invalid"] == truth.invalid and kinds["duplicate"] == truth.duplicates
    for week in truth.weeks:
        assert (
            sum(truth.per_week[week]["issues"].values())
            + truth.per_week[week]["praise"]
            + truth.per_week[week]["neutral"]
            == 400
        )


def test_surge_tops_its_week_and_only_its_week():
    _, truth = generate(
        SyntheticSpec(messages=4000, weeks=4, seed=11, surge_issue="hidden_fees", surge_week_index=1, now=NOW)
    )
    assert truth.surge["week"] == truth.weeks[1]
    assert truth.top_issues(truth.weeks[1], 1) == ["hidden_fees"]
    assert all(truth.top_issues(w, 1) != ["hidden_fees"] for w in truth.weeks if w != truth.weeks[1])


def test_valid_records_pass_the_contract_and_invalid_ones_do_not():
    records, _ = generate(SyntheticSpec(messages=2000, weeks=2, seed=5, invalid_rate=0.05, now=NOW))
    outcomes = _validate_all(records)
    for record, outcome in zip(records, outcomes):
        if record.kind == "invalid":
            assert isinstance(outcome, Rejected), record.value
        else:
            assert isinstance(outcome, Accepted), (record.value, outcome)
    crm = [o for o, r in zip(outcomes, records) if isinstance(o, Accepted) and o.row["source"] == "crm"]
    assert crm and all(o.row["rating"] is None and "channel" in json.loads(o.row["attributes"]) for o in crm)


def test_incoming_messages_are_recent_and_mostly_the_surge():
    records, labels = incoming(200, seed=1, now=NOW, surge_issue="app_crash")
    assert all(isinstance(o, Accepted) for o in _validate_all(records))
    assert 0.4 < Counter(labels.values())["app_crash"] / 200 < 0.6
    assert set(labels.values()) <= set(ISSUES) | {"praise", "neutral"}


def test_topic_issues_takes_the_majority():
    labels = {"a": "app_crash", "b": "app_crash", "c": "praise", "d": "praise"}
    rows = [{"message_id": m, "topic_id": t} for m, t in (("a", 1), ("b", 1), ("c", 1), ("d", 2), ("zz", 2))]
    assert topic_issues(labels, rows) == {1: "app_crash", 2: "praise"}


def test_jsonl_routes_by_source_and_keeps_garbage(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"source": "crm", "text": "x"}\n\nnot json\n{"source": "Bad Name"}\n')
    assert [t for t, _ in iter_jsonl(str(path))] == ["feedback.crm", "feedback.unknown", "feedback.unknown"]
