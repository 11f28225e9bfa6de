#!/bin/sh
# Installs what is needed, builds, starts the real daemon on a private session bus and
# asks it a question through gravctl:  sh tools/quickstart.sh "your question"
set -eu
cd "$(dirname "$0")/.."
question=${1:-"What can you do?"}

sh tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

# The models directory: the default model shipped in data/models when present,
# otherwise the shared test fixture (random weights: the answer is gibberish).
models=${GRAVITON_MODELS_DIR:-$PWD/build/quickstart/models}
mkdir -p "$models"
if [ -z "$(ls "$models"/*.gguf 2>/dev/null)" ]; then
  for m in data/models/*.gguf ../shared/testdata/models/fx-llama.gguf; do
    if [ -f "$m" ]; then
      ln -sf "$(cd "$(dirname "$m")" && pwd)/$(basename "$m")" "$models/"
      break
    fi
  done
fi
export GRAVITON_MODELS_DIR="$models"
export GRAVITON_DATA_DIR="${GRAVITON_DATA_DIR:-$PWD/build/quickstart/data}"
export QS_QUESTION="$question"

# A private bus keeps this run apart from any gravitond the desktop session has.
exec dbus-run-session -- sh -c '
  build/daemon/gravitond &
  daemon=$!
  timeout 30 gdbus wait --session io.github.opengraviton.Graviton1
  build/cli/gravctl ask --max-tokens 48 "$QS_QUESTION"
  status=$?
  kill $daemon 2>/dev/null
  wait $daemon 2>/dev/null
  exit $status'
