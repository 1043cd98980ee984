#!/usr/bin/env bash
# Hardware-in-the-loop check: generate, build, flash and evaluate on BOARD, with gates.
#
#   scripts/hil.sh BOARD [PORT]
#
# BOARD: qemu-m55 | host | STM32N6570-DK (alias STM32N6). Without PORT, virtual boards
# (qemu-m55, host) are started by `reidtool flash` and stopped on exit; a real board is flashed
# and then needs PORT (e.g. /dev/ttyACM0) to be reached. With PORT and SKIP_FLASH=1, the board
# already running at PORT is evaluated as it is.
#
# Environment (all optional):
#   CONFIG      the run's config               (default configs/quickstart.yaml)
#   RUN_DIR     the run directory              (default experiments_outputs/hil_<board>)
#   MODEL       the int8 .tflite               (default: RUN_DIR/quantized_models/*_int8.tflite,
#                                                 else model.model_path of CONFIG)
#   BAUD        line rate                      (default 921600)
#   GATES       extra --fail-under gates, space separated, e.g. "device.mAP=0.5 device.rank1=0.6"
#   REIDTOOL    the command                    (default .venv/bin/reidtool, else reidtool)
# Exit: 0 all gates passed; 1 a gate failed or the board's bytes differ from the oracle's;
#       2 bad usage or a missing tool.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
case "$1" in -h|--help) usage ;; esac

BOARD=$1
PORT=${2:-}
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${REIDTOOL:-}" ]; then
  if [ -x "$HERE/.venv/bin/reidtool" ]; then REIDTOOL=$HERE/.venv/bin/reidtool; else REIDTOOL=reidtool; fi
fi
CONFIG=${CONFIG:-$HERE/configs/quickstart.yaml}
RUN_DIR=${RUN_DIR:-experiments_outputs/hil_${BOARD}}
BAUD=${BAUD:-921600}
FW_DIR=$RUN_DIR/firmware

if [ -z "${MODEL:-}" ]; then
  MODEL=$(ls "$RUN_DIR"/quantized_models/*_int8.tflite 2>/dev/null | head -n1 || true)
fi
MODEL_OVERRIDE=()
[ -n "${MODEL:-}" ] && MODEL_OVERRIDE=("++model.model_name=null" "++model.model_path=$MODEL")

STARTED=0
cleanup() {
  if [ "$STARTED" = 1 ]; then
    "$REIDTOOL" board stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [ "${SKIP_FLASH:-0}" != 1 ]; then
  if [ -z "${MODEL:-}" ]; then
    echo "hil.sh: no int8 model: set MODEL=path/to/model_int8.tflite or quantize into $RUN_DIR first" >&2
    exit 2
  fi
  echo "== generate $MODEL for $BOARD in $FW_DIR"
  "$REIDTOOL" generate "$MODEL" --out "$FW_DIR" --board "$BOARD"
  echo "== build"
  "$REIDTOOL" build "$FW_DIR"
  echo "== flash"
  FLASH_OUT=$("$REIDTOOL" flash "$FW_DIR" --board "$BOARD")
  echo "$FLASH_OUT"
  URL=$(printf '%s\n' "$FLASH_OUT" | grep -E '^(socket://|/dev/|COM[0-9])' | head -n1 || true)
  if [ -n "$URL" ]; then
    STARTED=1
    PORT=${PORT:-$URL}
  fi
fi
if [ -z "$PORT" ]; then
  echo "hil.sh: board $BOARD gave no URL: pass its serial port, e.g. scripts/hil.sh $BOARD /dev/ttyACM0" >&2
  exit 2
fi

# hil-eval itself fails (exit 1) when any byte differs from the oracle; this gate says it twice.
FAIL_UNDER=(--fail-under device.exact_match_fraction=1.0)
for gate in ${GATES:-}; do FAIL_UNDER+=(--fail-under "$gate"); done

echo "== hil-eval on $PORT at $BAUD baud"
"$REIDTOOL" hil-eval "$CONFIG" "hydra.run.dir=$RUN_DIR" "${MODEL_OVERRIDE[@]}" \
  --port "$PORT" --baud "$BAUD" "${FAIL_UNDER[@]}"
echo "== hil.sh: $BOARD passed (metrics in $RUN_DIR/metrics.json, block \"device\")"
