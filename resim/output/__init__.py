"""What a run or a sweep leaves behind: tables and files, figures, the report, terminal tables.

Two layers, and presentation depends on results, never the reverse:

* results (no matplotlib, Jinja2 or rich): ``tables`` (``RunTables``: the
  run's tables, ``summary()`` and the data files of SPEC §4), ``rundata``
  (``RunData``: a finished run as the presentation reads it, from memory or
  from its directory) and ``formatting`` (the one number formatter and the
  metric labels, pure Python);
* presentation: ``figures`` (one module per subject), ``report`` with
  ``report_text`` and ``templates/`` (the HTML report), ``console`` (the
  terminal tables) and ``results`` (``Results``, what ``resim.simulate``
  returns: the tables plus plot methods and the report).

This package module imports nothing, so importing one layer never loads the
other.
"""
