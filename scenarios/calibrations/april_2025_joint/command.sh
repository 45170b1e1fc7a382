#!/bin/bash
# Joint recalibration of the rebuilt April scenario (issue 26 item 3, started 2026-12-06):
# every exports.* and price.* calibration row of data/observed_2025.csv, 12 free parameters
# with the priors below (documented in docs/scenarios.md), 1 worker, seeded.
# Stopped on its budget after 4 generations (1,302 simulations, ESS 12): run/ keeps its
# calibration.json and calibrated file, not its history.db (6 MB), so it cannot be resumed;
# a new run with a larger budget (and --workers 2) is the next step.
cd "$(dirname "$0")/../../.." && exec python -m resim calibrate scenarios/calibrations/april_2025_joint/april_markets.toml \
  --observed data/observed_2025.csv \
  --fit 'magnet_makers[Chinese magnet exporters].grades.NdFeB_free=0.05:0.6' \
  --fit 'automakers[*].approval_spread=0:0.8' \
  --fit 'automakers[*].adaptive_target.safety_days=0:150' \
  --fit 'automakers[*].anticipation.share_of_firms=0:1' \
  --fit 'automakers[*].target_days.weights[0]=0.02:0.4' \
  --fit 'controls.customs.share_held=0:1' \
  --fit 'controls.customs.delay.high=21:70' \
  --fit 'licensing.approval_path[1].rate=0.4:1' \
  --fit 'licensing.stages[issuance].duration.weights[1]=0.1:1' \
  --fit 'markets.speed_per_day=0.005:0.2:log' \
  --fit 'markets.elasticity=0.2:1' \
  --fit 'markets.contract_lag_days=14:180:log' \
  --budget 2000 --population 100 --seed 20250404 --workers 1 --out scenarios/calibrations/april_2025_joint/run "$@"
