#!/usr/bin/env bash
# Wall time of the full 9-pair lab (npm start), with and without the --json
# trace and --mermaid export, then the trace's own cost measured in-process.
# Loopback only: the lab starts its own broker on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! command -v hyperfine >/dev/null; then
  echo "bench-lab: hyperfine is not installed (apt-get install hyperfine); the in-process figure follows" >&2
else
hyperfine -N -w1 -r10 \
  'node --import tsx src/bin/lab.ts' \
  "node --import tsx src/bin/lab.ts --json $out/trace.jsonl" \
  "node --import tsx src/bin/lab.ts --json $out/trace.jsonl --mermaid $out/lab.md"
fi
node --import tsx scripts/bench-trace.ts "$out/in-process.jsonl"
