"""The weekly assets' run config maps onto the core's parameters: defaults equal, each field passed on."""

from dataclasses import asdict

from dagster_project.topics.assets import RegistryConfig, TopicFitConfig
from reasons.registry import RegistryParams
from reasons.topics.params import TopicModelParams


def test_fit_config_defaults_are_the_cores_and_every_field_is_passed_on():
    assert TopicFitConfig().params() == TopicModelParams()
    changed = TopicFitConfig(
        seed=7,
        min_topic_size=9,
        min_topic_share=0.02,
        outlier_threshold=0.5,
        fit_sample=None,
        split_min_share=0.3,
        alert_coherence_ratio=1.3,
        alert_quantile=0.25,
        assign_min_similarity=0.45,
    ).params()
    assert {k: v for k, v in asdict(changed).items() if v != asdict(TopicModelParams())[k]} == {
        "seed": 7,
        "min_topic_size": 9,
        "min_topic_share": 0.02,
        "outlier_threshold": 0.5,
        "fit_sample": None,
        "split_min_share": 0.3,
        "alert_coherence_ratio": 1.3,
        "alert_quantile": 0.25,
        "assign_min_similarity": 0.45,
    }


def test_registry_config_defaults_are_the_cores():
    assert RegistryConfig().params() == RegistryParams()
    assert RegistryConfig(min_coherence_ratio=0.5).params().min_coherence_ratio == 0.5
    assert RegistryConfig(min_alert_coherence_ratio=None).params().min_alert_coherence_ratio is None
    assert RegistryConfig(min_group_coherence_ratio=None).params().min_group_coherence_ratio is None
    assert RegistryConfig(min_week_relative_coherence=None).params().min_week_relative_coherence is None
    assert RegistryConfig(min_group_fit_coherence_ratio=0.5).params().min_group_fit_coherence_ratio == 0.5
