"""Experiments: many replications of one or more scenarios.

Executors only schedule ``replications.simulate_replication`` (serial,
process pool, Dask); designs only make scenario variants; the sequential rule
decides how many replications are needed; sweeps, comparisons, sensitivity
indices and PRIM boxes are built on top. Folders are written under one
writer's lock (``runfolder``) and interrupts keep what finished.
"""
