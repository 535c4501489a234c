from dagster import Definitions

from dagster_project.elections.assets import elections
from dagster_project.elections.checks import (
    elected_when_dissatisfied,
    election_is_consistent,
    gate_change_against_last_week,
    gate_covered_share,
    gate_outlier_share,
)

defs = Definitions(
    assets=[elections],
    asset_checks=[
        elected_when_dissatisfied,
        election_is_consistent,
        gate_outlier_share,
        gate_covered_share,
        gate_change_against_last_week,
    ],
)
