#!/usr/bin/env bash
# Fetches mongo-java-server and its dependencies from Maven Central into .cache/jars (git-ignored).
# Idempotent: does nothing when the jars are already there.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/.cache/jars"
stamp="$dest/.complete-1.47.0"
if [ -f "$stamp" ]; then exit 0; fi
command -v java >/dev/null || { echo "embedded-mongo: java (17+) is required to run the embedded database" >&2; exit 1; }
command -v mvn >/dev/null || { echo "embedded-mongo: maven (mvn) is required to fetch the embedded database jars" >&2; exit 1; }
mkdir -p "$dest"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dest" -DincludeScope=runtime
touch "$stamp"
echo "embedded-mongo: jars ready in $dest"
