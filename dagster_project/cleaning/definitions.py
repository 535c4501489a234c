from dagster import Definitions

from dagster_project.cleaning.assets import dbt_cleaning
from dagster_project.cleaning.resources import build_dbt_resource

# The shared "reasonlake" resource is provided once by dagster_project/definitions.py.
defs = Definitions(assets=[dbt_cleaning], resources={"dbt": build_dbt_resource()})
