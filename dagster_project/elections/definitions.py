from dagster import Definitions

from dagster_project.elections.assets import elections
from dagster_project.elections.checks import elected_when_dissatisfied, election_is_consistent

defs = Definitions(assets=[elections], asset_checks=[elected_when_dissatisfied, election_is_consistent])
