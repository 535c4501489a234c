"""Seeded reasons (reasons/registry/seeds.py): the seeds file read and validated, and the registry matching the
week's topics to the seeds first (reasons/registry/matching.py), on small hand-built embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from reasonlake.errors import CONFIGURATION, one_line
from reasons.registry import (
    MERGED,
    NOT_A_REASON_ID,
    Reason,
    RegistryParams,
    Seed,
    SeedsError,
    TopicIn,
    load_seeds,
    seed_reason_id,
    update,
)
from reasons.registry.seeds import read_seeds, with_home_seeds

# unit axes of a toy 4-d space: each is one issue
PACKAGING, QUALITY, SERVICE, PRICE = np.eye(4)


def toy_embed(texts: list[str]) -> np.ndarray:
    """Phrases about packing point along PACKAGING, about quality along QUALITY, anything else along PRICE."""
    axis = {"box": PACKAGING, "packed": PACKAGING, "flimsy": QUALITY, "broke": QUALITY}
    return np.array([next((v for k, v in axis.items() if k in t), PRICE) for t in texts])


def write(tmp_path, text: str):
    path = tmp_path / "reasons.yaml"
    path.write_text(text)
    return path


def test_seeds_are_read_and_embedded_as_the_mean_of_their_phrases(tmp_path):
    path = write(
        tmp_path,
        """
reasons:
  - name: Damaged packaging
    examples: ["box arrived crushed", "badly packed"]
  - name: Poor quality
    examples: ["flimsy", "broke in a week"]
    keywords: ["price"]
""",
    )
    seeds = load_seeds(path, toy_embed)
    assert [s.name for s in seeds] == ["Damaged packaging", "Poor quality"]
    assert [s.reason_id for s in seeds] == ["S-damaged-packaging", "S-poor-quality"]
    assert np.allclose(seeds[0].embedding, PACKAGING)
    # two quality phrases and one keyword along PRICE: the unit mean of the three
    expected = (2 * QUALITY + PRICE) / np.linalg.norm(2 * QUALITY + PRICE)
    assert np.allclose(seeds[1].embedding, expected)


def test_a_missing_or_empty_file_has_no_seeds(tmp_path):
    assert load_seeds(tmp_path / "reasons.yaml", toy_embed) == ()
    assert load_seeds(write(tmp_path, ""), toy_embed) == ()
    # no file in the home: the parameters are returned as they were, no model loaded
    params = RegistryParams()
    assert with_home_seeds(params, tmp_path / "elsewhere", "any-model") is params


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("reasons: [", "cannot read the seeded reasons"),
        ("- name: x", "expected one key, reasons"),
        ("reasons:\n  - just a phrase\n", "reasons[0]: expected a mapping"),
        ("reasons:\n  - examples: [a]\n", "reasons[0]: name must be a text"),
        ("reasons:\n  - name: '!!'\n    examples: [a]\n", "reasons[0]: name must be a text"),
        ("reasons:\n  - name: Late\n", "reasons[0] ('Late'): examples must be a list"),
        ("reasons:\n  - name: Late\n    examples: []\n", "reasons[0] ('Late'): examples must list at least one"),
        ("reasons:\n  - name: Late\n    examples: [a, '']\n", "reasons[0] ('Late'): examples must be a list"),
        ("reasons:\n  - name: Late\n    examples: [a]\n    keywords: slow\n", "('Late'): keywords must be a list"),
        ("reasons:\n  - name: Late\n    examples: [a]\n    label: x\n", "('Late'): unknown keys ['label']"),
        (
            "reasons:\n  - name: Late parcel\n    examples: [a]\n  - name: late  PARCEL\n    examples: [b]\n",
            "have one reason id S-late-parcel",
        ),
    ],
)
def test_an_invalid_file_is_one_configuration_error_naming_the_file_and_the_entry(tmp_path, text, says):
    path = write(tmp_path, text)
    with pytest.raises(SeedsError) as caught:
        read_seeds(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and says in message, message
    code, line = one_line(caught.value)
    assert code == CONFIGURATION and "\n" not in line


def topic(topic_id: int, direction, size: int = 20) -> TopicIn:
    vector = np.asarray(direction, dtype=np.float64)
    return TopicIn(topic_id, f"topic {topic_id}", tuple(vector / np.linalg.norm(vector)), size, 0.9)


def seed(name: str, direction) -> Seed:
    vector = np.asarray(direction, dtype=np.float64)
    return Seed(seed_reason_id(name), name, tuple(vector / np.linalg.norm(vector)))


# no grouping of the toy topics (each stays its own candidate), no coherence bars: only matching is tested
PARAMS = RegistryParams(
    group_threshold=0.99,
    min_group_coherence_ratio=None,
    min_alert_coherence_ratio=None,
    min_week_relative_coherence=None,
    seeds=(seed("Damaged packaging", PACKAGING), seed("Poor quality", QUALITY)),
    seed_threshold=0.8,
)


def test_a_seed_wins_over_an_older_reason_which_merges_into_it():
    older = Reason("R0001", "box crushed", tuple(PACKAGING), "2024-W01", "2024-W01")
    upd = update([older], [topic(0, PACKAGING + 0.1 * SERVICE)], "2024-W02", PARAMS)
    assert upd.reason_of() == {0: "S-damaged-packaging"}
    reasons = upd.by_id()
    assert reasons["S-damaged-packaging"].label == "Damaged packaging"
    assert reasons["S-damaged-packaging"].born_week == "2024-W02"
    assert reasons["R0001"].status == MERGED
    assert any(e.event == "merged" and e.reason_ids == ("R0001", "S-damaged-packaging") for e in upd.events)


def test_a_topic_below_the_threshold_becomes_a_new_reason_and_several_topics_can_take_one_seed():
    topics = [topic(0, QUALITY), topic(1, QUALITY + 0.3 * PRICE), topic(2, SERVICE), topic(3, PACKAGING + SERVICE)]
    upd = update([], topics, "2024-W01", PARAMS)
    reason_of = upd.reason_of()
    assert reason_of[0] == reason_of[1] == "S-poor-quality"
    # SERVICE is at cosine 0 to both seeds; PACKAGING + SERVICE at 0.71 < 0.8 to the packaging seed
    assert reason_of[2] == "R0001" and reason_of[3] == "R0002"
    assert upd.by_id()["S-poor-quality"].size == 40
    assert "S-damaged-packaging" not in upd.by_id()  # no topic of its issue this week: not yet in the registry


def test_a_seeds_id_and_name_are_stable_across_weeks_while_its_topics_words_change():
    first = update([], [topic(0, QUALITY), topic(1, SERVICE)], "2024-W01", PARAMS)
    second = update(first.reasons, [topic(5, SERVICE), topic(7, QUALITY + 0.2 * SERVICE)], "2024-W02", PARAMS)
    assert second.reason_of() == {5: "R0001", 7: "S-poor-quality"}
    quality = second.by_id()["S-poor-quality"]
    assert quality.label == "Poor quality" and quality.born_week == "2024-W01" and quality.last_seen_week == "2024-W02"
    assert [m.event for m in second.mappings if m.reason_id == "S-poor-quality"] == ["matched"]
    # unseen for weeks, the seed's reason dies; when its issue returns, the same id comes back to life
    later = update(second.reasons, [topic(1, SERVICE)], "2024-W07", PARAMS)
    assert later.by_id()["S-poor-quality"].status == "dead"
    back = update(later.reasons, [topic(2, QUALITY)], "2024-W08", PARAMS)
    assert back.reason_of() == {2: "S-poor-quality"} and back.by_id()["S-poor-quality"].status == "alive"


def test_a_seeds_reason_is_matched_only_through_its_seed():
    """Once the seed is above the threshold no more, its topic is a new reason, not the seed's by embedding."""
    first = update([], [topic(0, QUALITY)], "2024-W01", PARAMS)
    drifted = update(first.reasons, [topic(3, QUALITY + 0.9 * PRICE)], "2024-W02", PARAMS)  # cosine 0.74
    assert drifted.reason_of() == {3: "R0001"}
    # without the seed in the file, its old reason is an ordinary one, matched by its embedding
    unseeded = update(first.reasons, [topic(3, QUALITY + 0.2 * PRICE)], "2024-W02", RegistryParams(seeds=()))
    assert unseeded.reason_of() == {3: "S-poor-quality"}


def test_a_mostly_satisfied_topic_is_no_reason_even_close_to_a_seed():
    praise = TopicIn(0, "love the box", tuple(PACKAGING), 20, 0.1, 0.9)
    upd = update([], [praise], "2024-W01", PARAMS)
    assert upd.reason_of() == {0: NOT_A_REASON_ID}
