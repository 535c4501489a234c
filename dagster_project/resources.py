"""Resources shared by every domain: where the lake lives, as typed fields.

:class:`ReasonlakeResource` holds every :class:`lake.settings.Settings` field as the string its
environment variable would hold. CLI runs build it from the command's settings
(:meth:`ReasonlakeResource.from_settings`); the UI's definitions bind each field to its
``EnvVar`` (:meth:`ReasonlakeResource.from_env_vars`), resolved by Dagster at launch, which
``reasonlake ui`` sets from its own settings. Either way the values are validated by ``Settings``.
"""

from __future__ import annotations

from dagster import ConfigurableResource, EnvVar
from pyiceberg.catalog import Catalog

from lake import catalog as lake_catalog
from lake.settings import ENV_VARS, Settings
from reasons.election.policy import ElectionPolicy, PromotionGates, load_policy


class ReasonlakeResource(ConfigurableResource):
    """Every setting of the home (see ``lake.settings``); empty string: the default."""

    home: str
    bootstrap_servers: str = ""
    broker_storage: str = "s3"
    broker_intake: str = "True"
    broker_intake_linger_ms: str = "50.0"
    broker_intake_at_once_per_s: str = "100.0"
    catalog_uri: str = ""
    catalog_warehouse: str = ""
    catalog_extra: str = "{}"
    catalog_busy_timeout_s: str = "60.0"
    online_store: str = "sqlite"
    flink_address: str = ""
    flink_parallelism: str = "1"
    flink_python_mode: str = ""
    flink_checkpoints: str = ""
    embedding_backend: str = "fp32"
    policy_file: str = ""
    raw_retention_days: str = ""
    broker_retention_days: str = "7"
    ops_webhook_url: str = ""
    first_week: str = ""
    contract_max_age_days: str = "3650"

    @classmethod
    def from_settings(cls, settings: Settings) -> ReasonlakeResource:
        return cls(**settings.to_strings())

    @classmethod
    def from_env_vars(cls) -> ReasonlakeResource:
        """Each field bound to its environment variable (read by Dagster when a run starts)."""
        return cls(**{name: EnvVar(var) for name, var in ENV_VARS.items()})

    def settings(self) -> Settings:
        return Settings.from_strings({name: getattr(self, name) for name in ENV_VARS})

    def catalog(self) -> Catalog:
        return lake_catalog.load(self.settings())

    def policy(self) -> tuple[ElectionPolicy, PromotionGates]:
        """The election policy and promotion gates of this run (one file for the election, its checks
        and serving)."""
        return load_policy(self.settings().policy_file)
