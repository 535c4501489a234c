"""Composes the per-domain Definitions; nothing else belongs here."""

from dagster import Definitions

from dagster_project.cleaning.definitions import defs as cleaning
from dagster_project.elections.definitions import defs as elections
from dagster_project.ingestion.definitions import defs as ingestion
from dagster_project.resources import ReasonlakeResource
from dagster_project.serving.definitions import defs as serving
from dagster_project.topics.definitions import defs as topics
from dagster_project.weekly.definitions import defs as weekly

defs = Definitions.merge(
    ingestion, cleaning, topics, elections, serving, weekly,
    Definitions(resources={"reasonlake": ReasonlakeResource()}),
)
