#!/usr/bin/env bash
# Refresh the lock files from pyproject.toml's ranges: the newest versions they allow, pinned with hashes.
#   bash requirements/lock.sh            (then run the tests and commit requirements/*.txt)
# uv resolves one lock for every platform and Python the project supports (Linux x86_64 and aarch64 images
# alike), unlike a lock taken from whatever machine ran it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet 'uv==0.13.*'
compile() {
    "$tools/bin/uv" pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
        --no-header --annotation-style line --quiet "$@"
}
{ echo "# The bot's dependencies, pinned with hashes. Refresh: bash requirements/lock.sh"; compile; } > requirements/app.txt
{ echo "# The bot's and the test suite's dependencies, pinned with hashes. Refresh: bash requirements/lock.sh"
  compile --extra test; } > requirements/test.txt
echo "requirements/app.txt and requirements/test.txt refreshed"
