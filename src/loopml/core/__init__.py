"""The shared foundation every stage stands on: metadata database, content-addressed artifact store,
identity, the hash-chained audit log, leases, ids, the clock and fault-injection points.

Stages import from here; nothing here imports a stage.
"""
