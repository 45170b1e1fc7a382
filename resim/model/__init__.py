"""The model of one replication: the simulation core.

The kernel (SimPy and its internals), the narrow context actors receive,
the calendar, named random streams, record tables and the KPIs computed from
them, the policy timeline, links (shipping), the actors and the licensing
authority, and ``replication.run_one`` which builds, wires and runs them.
It reads the frozen scenario (``resim.scenario``) and knows nothing of
experiments, output or commands.
"""
