"""``loopml demo``: the most complete loop loopml can run today, on data the package generates."""
