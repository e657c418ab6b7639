"""Entry point of the background worker started by :mod:`loopml.api._jobs`: ``python -m loopml.api._worker``."""

from __future__ import annotations

import json
import sys
from typing import Any


def _run(verb: str, args: dict[str, Any]) -> Any:
    if verb == "resume":
        from loopml.pipelines import resume

        return resume(args["execution_id"], executor="local").status
    if verb == "run":
        from loopml.pipelines import pipeline_ref, run

        info = run(pipeline_ref(args["name"]), params=args["params"], executor="local")
        return {"execution_id": info.id, "status": info.status}
    from loopml import serve

    actions = {"endpoint.create": serve.create, "endpoint.update": serve.update,
               "endpoint.rollback": serve.rollback, "endpoint.delete": serve.delete}
    return actions[verb](**args)


def main(argv: list[str]) -> int:
    """Run one job; exit 0 when it finished without error."""
    from loopml.errors import LoopmlError

    verb, args = argv[0], json.loads(argv[1])
    try:
        result = _run(verb, args)
    except LoopmlError as exc:
        print(f"{verb} failed: {exc.message}", file=sys.stderr)
        return 2
    print(json.dumps({"verb": verb, "result": result}, default=str))
    status = result.get("status") if isinstance(result, dict) else result
    return 0 if status != "FAILED" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
