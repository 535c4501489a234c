"""Composes the per-domain Definitions; nothing else belongs here.

``DOMAINS`` are the domains' own Definitions; ``defs`` (what ``workspace.yaml`` loads) adds the shared
``reasonlake`` resource bound to the environment variables, which ``reasonlake ui`` sets. CLI runs
compose the same domains with a resource built from the command's settings (``reasonlake.weekly``).
"""

from dagster import Definitions

from dagster_project.alerting import definitions as alerting
from dagster_project.cleaning import definitions as cleaning
from dagster_project.elections import definitions as elections
from dagster_project.ingestion import definitions as ingestion
from dagster_project.maintenance import definitions as maintenance
from dagster_project.ops import definitions as ops
from dagster_project.resources import ReasonlakeResource
from dagster_project.serving import definitions as serving
from dagster_project.topics import definitions as topics
from dagster_project.weekly import definitions as weekly

DOMAINS = (
    ingestion.defs,
    cleaning.defs,
    topics.defs,
    elections.defs,
    serving.defs,
    weekly.defs,
    maintenance.defs,
    alerting.defs,
    ops.defs,
)

defs = Definitions.merge(*DOMAINS, Definitions(resources={"reasonlake": ReasonlakeResource.from_env_vars()}))
