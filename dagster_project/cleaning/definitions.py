from dagster import Definitions, WeeklyPartitionsDefinition

from dagster_project.cleaning import assets
from dagster_project.cleaning.resources import build_dbt_resource


def build_defs(weeks: WeeklyPartitionsDefinition) -> Definitions:
    return Definitions(assets=assets.build(weeks), resources={"dbt": build_dbt_resource()})
