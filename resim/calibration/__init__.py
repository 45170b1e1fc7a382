"""Calibration to observed data (issue 15): ``resim calibrate`` and ``--posterior``.

Modules, each one job: ``observed`` (the CSV), ``series`` (the grammar and its
checks), ``measure`` (model numbers from a replication), ``priors``
(``--fit``), ``particle`` (one particle's simulation), ``distance``,
``sampler`` (seeded pyabc sampler), ``abc_smc`` (the fit), ``predictive``,
``outputs``, ``figures``, ``report``, ``posterior`` (``--posterior``),
``command`` and ``workflow`` (the command), ``update`` and ``bridge``
(``--update``: a finished calibration continued with new rows). Nothing is imported here, so
``--posterior`` (``resim.calibration.posterior``) needs neither pyabc nor
the simulation code.
"""
