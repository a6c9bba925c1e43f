#!/usr/bin/env bash
# Regenerate the figures shown in README.md with the tool itself (about 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
aimc run scenarios/pulse_response.toml --out "$work/pulse_response" > /dev/null
aimc report "$work/pulse_response" > /dev/null
cp "$work/pulse_response/report/pulse_response.png" docs/figures/pulse_response.png
aimc run scenarios/zs_error_vs_steps.toml --out "$work/zs" > /dev/null
aimc report "$work/zs" > /dev/null
cp "$work/zs/report/calibration_error.png" docs/figures/zs_error_vs_steps.png
aimc budget --config scenarios/zs_pulses_vs_dwmin.toml --out "$work/budget" > /dev/null
cp "$work/budget/sweep.png" docs/figures/zs_pulses_vs_dwmin.png
aimc run scenarios/lsq_toy_rider.toml --out "$work/lsq_rider" > /dev/null
aimc report "$work/lsq_rider" > /dev/null
cp "$work/lsq_rider/report/training_vs_pulses.png" docs/figures/lsq_toy_rider_vs_pulses.png
cp "$work/lsq_rider/report/energy.png" docs/figures/lsq_toy_rider_energy.png
echo "figures written to docs/figures/"
