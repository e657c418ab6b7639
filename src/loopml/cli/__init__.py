"""The ``loopml`` command line: thin Typer commands over the stages' Python APIs."""
