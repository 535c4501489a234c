from dagster import Definitions, WeeklyPartitionsDefinition

from dagster_project.elections import assets, checks


def build_defs(weeks: WeeklyPartitionsDefinition) -> Definitions:
    return Definitions(assets=assets.build(weeks), asset_checks=checks.build(weeks))
