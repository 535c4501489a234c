"""The configurations ``bench/quality.py`` compares (see its docstring for what each name changes)."""

from __future__ import annotations

from dataclasses import replace


def configs():
    """Name → (fit parameters, registry parameters, whether channel text is handled as the pipeline handles
    it: the modelling text of :func:`cleaned` for keywords and labels, brand words kept out of them)."""
    from reasons.registry import RegistryParams
    from reasons.topics.params import TopicModelParams

    current = (TopicModelParams(), RegistryParams(), True)
    baseline = (
        replace(
            TopicModelParams(), center_embeddings=False, alert_quantile=0.0, phrase_labels=False, umap_init="spectral"
        ),
        RegistryParams(
            group_threshold=0.68,
            min_coherence_ratio=0.0,
            min_group_coherence_ratio=None,
            min_alert_coherence_ratio=None,
            min_week_relative_coherence=None,
        ),
        False,
    )
    # the catch-all refusal's ratio (current: RegistryParams' default), as chosen in
    # docs/history/results-journal.md, section "Reasons on real complaints"
    sweep = {
        f"coherence-{ratio}": (TopicModelParams(), RegistryParams(min_coherence_ratio=ratio), True)
        for ratio in (0.5, 0.85, 0.9, 0.95)
    }
    split = {
        "split-off": (replace(TopicModelParams(), split_coherence_ratio=None), RegistryParams(), True),
        "split-all": (replace(TopicModelParams(), split_min_share=0.0), RegistryParams(), True),
        "split-all-0.85": (
            replace(TopicModelParams(), split_min_share=0.0),
            RegistryParams(min_coherence_ratio=0.85),
            True,
        ),
    }
    # alerts only at or above an absolute cosine to the topic's centroid besides the topic's own core
    # (``assign_min_similarity``; the default is the outlier threshold, 0.4): precision traded for recall
    floors = {
        f"alert-floor-{floor}": (replace(TopicModelParams(), assign_min_similarity=floor), RegistryParams(), True)
        for floor in (0.3, 0.35, 0.5, 0.6, 0.7)
    } | {
        f"alert-coherence-{ratio}": (
            replace(TopicModelParams(), alert_coherence_ratio=ratio),
            RegistryParams(),
            True,
        )
        for ratio in (1.0, 1.15, 1.3)
    }
    # reasons too loose to alert on (under R × the week's median topic coherence) elected but quiet
    quiet = {"quiet-off": (TopicModelParams(), RegistryParams(min_alert_coherence_ratio=None), True)} | {
        f"quiet-{ratio}": (TopicModelParams(), RegistryParams(min_alert_coherence_ratio=ratio), True)
        for ratio in (0.9, 1.0)
    }
    # loose groups of topics kept whole (only the catch-all bar splits them) or split under 0.9 × the median
    groups = {
        "group-split-off": (TopicModelParams(), RegistryParams(min_group_coherence_ratio=None), True),
        "group-split-0.9": (TopicModelParams(), RegistryParams(min_group_coherence_ratio=0.9), True),
    } | {
        f"fit-space-{ratio}": (TopicModelParams(), RegistryParams(min_group_fit_coherence_ratio=ratio), True)
        for ratio in (0.5, 0.6)
    }
    # a reason no tighter than the week (its raw coherence over the week's) refused under another bar, or never
    week_bar = {"week-bar-off": (TopicModelParams(), RegistryParams(min_week_relative_coherence=None), True)} | {
        f"week-bar-{bar}": (TopicModelParams(), RegistryParams(min_week_relative_coherence=bar), True)
        for bar in (1.0, 1.1)
    }
    # topics grouped into one reason at the week's mean pairwise centroid cosine + another number of sds
    grouping = {
        f"group-sd-{sd}": (TopicModelParams(), RegistryParams(group_sd=sd), True) for sd in (0.5, 0.75, 1.5, 2.0, 3.0)
    }
    # UMAP started from its own default (spectral: not reproducible) or a random layout instead of PCA
    inits = {
        f"init-{init}": (replace(TopicModelParams(), umap_init=init), RegistryParams(), True)
        for init in ("spectral", "random")
    }
    # near-duplicate topics merged at another centroid cosine (``merge_similarity``; None: never merged)
    merging = {
        f"merge-{m}": (replace(TopicModelParams(), merge_similarity=m), RegistryParams(), True)
        for m in (0.6, 0.65, 0.7, 0.75, 0.85)
    }
    # an alert needs the message inside another share of its topic's core (``alert_quantile``; 0: any member's)
    cores = {
        f"core-{q}": (replace(TopicModelParams(), alert_quantile=q), RegistryParams(), True) for q in (0.0, 0.1, 0.4)
    }
    return {
        "baseline": baseline,
        "current": current,
        **sweep,
        **split,
        **floors,
        **quiet,
        **groups,
        **week_bar,
        **grouping,
        **inits,
        **merging,
        **cores,
    }
