from dagster import Definitions

from dagster_project.serving.assets import reasons
from dagster_project.serving.checks import online_matches_election

defs = Definitions(assets=[reasons], asset_checks=[online_matches_election])
