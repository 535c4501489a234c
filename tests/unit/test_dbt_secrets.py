"""The catalog's secrets never reach dbt's command line (which Dagster logs): they go to a file only the
owner reads, and the profile's iceberg plugin (reasonlake/dbt_iceberg.py) reads them back."""

from __future__ import annotations

import json
import stat

from dagster_project.cleaning.resources import secrets_path, split_secrets, vars_args
from lake.settings import Settings
from reasonlake.dbt_iceberg import Plugin


def test_secret_properties_and_passwords_in_uris_are_told_apart():
    public, secret = split_secrets(
        {
            "uri": "postgresql+psycopg://app:pw@db:5432/lake",
            "warehouse": "s3://warehouse/lake",
            "s3.secret-access-key": "k",
            "s3.access-key-id": "id",
            "token": "t",
            "client.password": "p",
        }
    )
    assert public == {"warehouse": "s3://warehouse/lake", "s3.access-key-id": "id"}
    assert set(secret) == {"uri", "s3.secret-access-key", "token", "client.password"}
    assert split_secrets({"uri": "postgresql+psycopg://postgres@db/lake"}) == (
        {"uri": "postgresql+psycopg://postgres@db/lake"},
        {},
    )


def test_the_command_line_holds_no_secret_and_the_plugin_gets_them_back(tmp_path):
    extra = {"s3.secret-access-key": "s3cr3t-value", "s3.access-key-id": "id"}
    settings = Settings.from_env({}, home=tmp_path, catalog_extra=json.dumps(extra))
    args = vars_args(settings)
    assert "s3cr3t-value" not in " ".join(args)
    config = json.loads(args[1])["reasonlake_iceberg"]
    assert config["s3.access-key-id"] == "id" and config["secrets_file"] == str(secrets_path(settings))
    assert stat.S_IMODE(secrets_path(settings).stat().st_mode) == 0o600
    assert json.loads(secrets_path(settings).read_text()) == {"s3.secret-access-key": "s3cr3t-value"}

    plugin = Plugin(name="iceberg", plugin_config=config)  # what dbt-duckdb builds from the profile
    assert plugin._catalog.properties["s3.secret-access-key"] == "s3cr3t-value"
    assert "secrets_file" not in plugin._catalog.properties
    assert plugin._catalog.properties["uri"] == settings.catalog_properties()["uri"]


def test_without_secrets_no_file_is_written(tmp_path):
    settings = Settings.from_env({}, home=tmp_path)
    assert "secrets_file" not in json.loads(vars_args(settings)[1])["reasonlake_iceberg"]
    assert not secrets_path(settings).exists()
