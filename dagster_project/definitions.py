"""Composes the per-domain Definitions; nothing else belongs here.

:func:`domains` are the domains' own Definitions over the home's weekly partitions (the weekly
domains are built for them: ``build_defs(weeks)``); :func:`defs` (what ``workspace.yaml`` loads,
lazily) adds the shared ``reasonlake`` resource bound to the environment variables, which
``reasonlake ui`` and ``reasonlake run`` set. CLI runs compose the same domains with a resource built
from the command's settings (``reasonlake.weekly.definitions_for``).
"""

from dagster import Definitions, definitions, in_process_executor

from dagster_project.alerting import definitions as alerting
from dagster_project.cleaning import definitions as cleaning
from dagster_project.elections import definitions as elections
from dagster_project.ingestion import definitions as ingestion
from dagster_project.maintenance import definitions as maintenance
from dagster_project.ops import definitions as ops
from dagster_project.partitions import first_week, weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.serving import definitions as serving
from dagster_project.topics import definitions as topics
from dagster_project.weekly import definitions as weekly
from lake.settings import Settings


def domains(first: str) -> list[Definitions]:
    """Every domain, the weekly ones partitioned by ISO week from ``first`` (``YYYY-Www``)."""
    weeks = weekly_partitions(first)
    return [
        ingestion.defs,
        cleaning.build_defs(weeks),
        topics.build_defs(weeks),
        elections.build_defs(weeks),
        serving.build_defs(weeks),
        weekly.build_defs(weeks),
        maintenance.defs,
        alerting.defs,
        ops.defs,
    ]


def compose(settings: Settings, resource: ReasonlakeResource) -> Definitions:
    """The domains over the home's first week (``partitions.first_week``), with ``resource``. Runs execute
    in process: the weekly graph is a chain (dbt -> embeddings -> fit -> registry -> election -> Feast),
    so a process per step would only load the model and the libraries again for each step."""
    return Definitions.merge(
        *domains(first_week(settings)),
        Definitions(resources={"reasonlake": resource}, executor=in_process_executor),
    )


@definitions
def defs() -> Definitions:
    """The code location of the UI and the daemon: read when it loads (not at import), from the
    environment ``reasonlake ui``/``run`` give it."""
    return compose(Settings.from_env(), ReasonlakeResource.from_env_vars())
