#!/usr/bin/env bash
# The one command: bootstraps (idempotent), builds, and runs `monoroute demo`, which starts the
# recorder, analysis and trainer services on free 127.0.0.1 ports, pretrains a TinyStories-1M-
# architecture model on a generated corpus, GLBL fine-tunes it with pathway routing, and writes
# llm_routing_results.json + llm_monosemanticity.png into ./out (or --out DIR). The analysis
# service also serves the pathway explorer (docs/explorer.md) on a free 127.0.0.1 port; the
# summary ends with its URL.
#   scripts/demo.sh                                   # everything from scratch
#   scripts/demo.sh --model DIR --data train.txt      # fine-tune a real TinyStories-1M download
#   scripts/demo.sh --arch gpt-neox                   # Pythia-70M's structure, demo-sized (or gpt2)
#   scripts/demo.sh --explore                         # then keep the explorer up until Ctrl-C
#   scripts/demo.sh --dry-run [ARGS]                  # print the commands, run nothing
#   scripts/demo.sh --help                            # this text (builds nothing)
# Extra arguments go to `monoroute demo` (see `build/bin/monoroute demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${MONOROUTE_BUILD_DIR:-build}"
JOBS="${MONOROUTE_JOBS:-$(nproc)}"

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options of this script (every other argument goes to `monoroute demo`):
  --explore   after the summary keep the recorder and analysis services (the explorer) up
              for browsing until Ctrl-C (SIGINT / SIGTERM stop them cleanly)
  --dry-run   print the bootstrap, build and demo commands instead of running them
  -h, --help  this text
Environment: MONOROUTE_BUILD_DIR (build), MONOROUTE_JOBS (nproc).
EOF
}

DRY_RUN=0
DEMO_ARGS=()
for arg in "$@"; do
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) DRY_RUN=1 ;;
    *) DEMO_ARGS+=("$arg") ;;
  esac
done

# Runs (or, with --dry-run, prints) one command.
run() {
  if [[ "$DRY_RUN" == 1 ]]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}

run scripts/bootstrap.sh
if [[ "$DRY_RUN" == 1 ]]; then
  run cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
else
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
run cmake --build "$BUILD_DIR" -j"$JOBS" \
  --target monoroute monoroute-recorder monoroute-analysis monoroute-trainer
if [[ "$DRY_RUN" == 1 ]]; then
  run "$BUILD_DIR/bin/monoroute" demo "${DEMO_ARGS[@]+"${DEMO_ARGS[@]}"}"
  exit 0
fi
exec "$BUILD_DIR/bin/monoroute" demo "${DEMO_ARGS[@]+"${DEMO_ARGS[@]}"}"
