"""Analyst edits through the CLI (`reasonlake reasons ...`) on a home with real registry tables, applied by
the reason-ids step (the ``reason_registry`` and ``topic_tables`` assets through Dagster's ``materialize``) to
the next week and to a replay of the edited week, never to an earlier one; shown in the assets' metadata.

The weeks' topic fits are written by hand (a fitted artefact's ``topics.json`` and its two parquet files, four
orthogonal topics a week): the topic fit itself is tested in ``tests/integration/test_topic_model.py``, and a
BERTopic fit per week would add minutes here for nothing these edits read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from dagster import materialize

from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.topics import assets as topic_assets
from lake import catalog as lake_catalog
from lake.audit import run_audit
from lake.weeks import week_to_partition_key
from reasonlake.cli import cli
from reasonlake.errors import run
from reasons.topics.artifact import ARTIFACT_FILE, topics_root, write_json
from reasons.weekly.topic_fit import FITTED_FILE

W1, W2, W3 = "2025-W10", "2025-W11", "2025-W12"
LABELS = ["card declined", "parcel late", "rude agent", "app crashes"]
AT = datetime(2025, 3, 3, tzinfo=UTC)


def _fit(settings, week: str, topic_ids: list[int]) -> None:
    """A fitted artefact of ``week``: topic ``topic_ids[i]`` is issue i (unit vector i), 20 messages each, all
    dissatisfied (what ``resolve_reasons`` and ``write_topic_tables`` read)."""
    version = f"{week}-v1"
    path = topics_root(settings) / week / version
    path.mkdir(parents=True)
    vectors = np.eye(8)
    topics = [
        {
            "topic_id": t,
            "label": LABELS[i],
            "keywords": LABELS[i].split(),
            "size": 20,
            "embedding": vectors[i].tolist(),
            "reason_embedding": (vectors[i] + 0.02 * vectors[7]).tolist(),
        }
        for i, t in enumerate(topic_ids)
    ]
    write_json(path / ARTIFACT_FILE, {"model_version": version, "week": week, "embedding_model": "m", "topics": topics})
    rows = [(t, f"{week}-{t}-{n}") for t in topic_ids for n in range(20)]
    pd.DataFrame(
        {
            "week": week,
            "message_id": [m for _, m in rows],
            "source": "crm",
            "topic_id": [t for t, _ in rows],
            "similarity": 0.9,
            "rating": None,
            "sentiment": -0.6,
            "dissatisfied": True,
            "model_version": version,
            "created_at": AT,
        }
    ).to_parquet(path / "message_topics.parquet", index=False)
    pd.DataFrame(
        {
            "week": week,
            "model_version": version,
            "topic_id": topic_ids,
            "keywords": [t["keywords"] for t in topics],
            "size": 20,
            "fitted_at": AT,
        }
    ).to_parquet(path / "topics.parquet", index=False)
    write_json(topics_root(settings) / week / FITTED_FILE, {"path": str(path), "model_version": version})


def _reason_ids_step(settings, week: str):
    """The weekly graph's reason-ids step for ``week`` (ml/reasons … and ml/topics …) through Dagster."""
    assets = topic_assets.build(weekly_partitions(W1))
    return materialize(
        [a for a in assets if a.node_def.name in ("reason_registry", "topic_tables")],
        partition_key=week_to_partition_key(week),
        resources={"reasonlake": ReasonlakeResource.from_settings(settings)},
    )


def _cli(settings, capsys, *args: str) -> tuple[int, str, str]:
    """``reasonlake --home H args``, as the command runs it: exit code, stdout, stderr."""
    capsys.readouterr()  # what ran before (Dagster's log)
    code = run(cli, ["--home", str(settings.home), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _registry(settings, week: str) -> dict[str, tuple[str, str]]:
    table = lake_catalog.read(lake_catalog.load(settings), "ml.reasons").to_pandas()
    return {r.reason_id: (r.status, r.label) for r in table[table["week"] == week].itertuples()}


def _reason_of_label(settings, week: str) -> dict[str, str]:
    """The week's ``ml.topics``: topic label (the issue) → reason id."""
    table = lake_catalog.read(lake_catalog.load(settings), "ml.topics").to_pandas()
    mapping = lake_catalog.read(lake_catalog.load(settings), "ml.reason_mappings").to_pandas()
    week_map = mapping[mapping["week"] == week].set_index("topic_id")["reason_id"].to_dict()
    art = json.loads((topics_root(settings) / week / f"{week}-v1" / ARTIFACT_FILE).read_text())
    assert set(table[table["week"] == week]["reason_id"]) == set(week_map.values())
    return {t["topic_label"]: week_map[int(t["topic_id"])] for t in art["topics"]}


def _metadata(result, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset]
    return event.step_materialization_data.materialization.metadata


def test_merge_and_rename_survive_the_next_week_and_a_replay_never_an_earlier_week(settings, capsys):
    for week, ids in ((W1, [0, 1, 2, 3]), (W2, [3, 2, 1, 0]), (W3, [1, 0, 3, 2])):  # refits number topics anew
        _fit(settings, week, ids)
    _reason_ids_step(settings, W1)
    _reason_ids_step(settings, W2)
    assert _reason_of_label(settings, W2) == dict(zip(LABELS, ["R0001", "R0002", "R0003", "R0004"]))

    # bad edits: one line each, exit 2, nothing recorded
    for args, says in (
        (["merge", "R0001", "R0001", "--why", "x"], "R0001 cannot be merged into itself"),
        (["merge", "R0001", "R0042", "--why", "x"], "R0042 is not in the registry"),
        (["rename", "R0003", "rude staff"], "--why is required"),
        (
            ["split", "R0004", "--topics", "9", "--why", "x"],
            f"topic(s) 9 are not mapped to R0004 in {W2}: its topics are 0",
        ),
    ):
        code, out, err = _cli(settings, capsys, "reasons", *args)
        assert (code, out) == (2, "") and err.strip().count("\n") == 0 and says in err, (args, err)

    code, out, _ = _cli(
        settings, capsys, "reasons", "merge", "R0001", "R0002", "--why", "one card issue", "--by", "ana"
    )
    assert code == 0 and "R0002 folded into R0001" in out and f"in force from {W2} on" in out
    # the Dagster UI shows it at once: an observation of ml/reason_events in the home's instance
    from dagster import AssetKey, DagsterInstance

    from reasonlake.weekly import dagster_home

    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        [observed] = instance.fetch_observations(AssetKey(["ml", "reason_events"]), limit=5).records
    seen = observed.asset_observation
    assert seen is not None and "R0002 folded into R0001" in (seen.description or "")
    assert seen.metadata["made_by"].value == "ana" and seen.metadata["why"].value == "one card issue"
    code, out, _ = _cli(settings, capsys, "reasons", "rename", "R0003", "rude staff", "--why", "the team's name")
    assert code == 0
    code, _, err = _cli(settings, capsys, "reasons", "rename", "R0002", "x", "--why", "y")  # merged now
    assert code == 2 and "R0002 was merged" in err
    code, out, _ = _cli(settings, capsys, "reasons", "list")
    listed = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:]}
    assert listed == {"R0001": "alive", "R0002": "merged", "R0003": "alive", "R0004": "alive"}
    assert "rude staff" in out

    # the next weekly run applies both
    result = _reason_ids_step(settings, W3)
    assert _reason_of_label(settings, W3) == dict(zip(LABELS, ["R0001", "R0001", "R0003", "R0004"]))
    assert _registry(settings, W3)["R0002"][0] == "merged" and _registry(settings, W3)["R0003"][1] == "rude staff"
    edits_md = _metadata(result, "reason_events")["edits"].value
    assert "one card issue" in edits_md and "rude staff" in edits_md and "ana" in edits_md
    assert "folded into R0001" in _metadata(result, "reason_events")["events"].value
    assert _metadata(result, "reasons")["edits_in_force"].value == 2
    topics = lake_catalog.read(lake_catalog.load(settings), "ml.topics").to_pandas()
    assert set(topics[(topics["week"] == W3) & (topics["reason_id"] == "R0003")]["label"]) == {"rude staff"}

    # a replay of the edited week gives the edited result; an earlier week replayed is left as it was
    _reason_ids_step(settings, W2)
    assert _reason_of_label(settings, W2) == dict(zip(LABELS, ["R0001", "R0001", "R0003", "R0004"]))
    assert _registry(settings, W2)["R0003"] == ("alive", "rude staff")
    result = _reason_ids_step(settings, W1)
    assert _reason_of_label(settings, W1) == dict(zip(LABELS, ["R0001", "R0002", "R0003", "R0004"]))
    assert _registry(settings, W1)["R0003"] == ("alive", "rude agent")
    assert _metadata(result, "reasons")["edits_in_force"].value == 0

    # the history, and the audit trail
    code, out, _ = _cli(settings, capsys, "reasons", "history", "R0002")
    assert code == 0 and "one card issue" in out and "edits (1)" in out
    rows = run_audit(settings, "select action, reason_id, made_by, why from ml.reason_edits order by made_at")
    made = [(r["action"], r["reason_id"], r["made_by"]) for r in rows.to_pylist()]
    assert len(made) == 2 and made[0] == ("merge", "R0001", "ana") and made[1][:2] == ("rename", "R0003")
