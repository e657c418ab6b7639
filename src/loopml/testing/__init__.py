"""Contract suites every back end must pass, importable by third-party back ends too.

Usage: ``from loopml.testing.artifact_contract import CONTRACT`` then parametrize a test over it.
"""
