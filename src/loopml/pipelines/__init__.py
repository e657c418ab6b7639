"""The pipeline engine: ``@step`` and ``@pipeline`` build a DAG from plain Python; :func:`run` executes
it on an executor with caching, retries, timeouts and conditions, recording every execution (the
lineage backbone); :func:`resume` finishes a run whose orchestrator was killed.
"""

from loopml.pipelines._records import ExecutionInfo, StepInfo
from loopml.pipelines._sdk import Condition, Output, Pipeline, Step, pipeline, step, when
from loopml.pipelines.engine import (
    get_execution,
    known_pipelines,
    list_executions,
    output,
    pipeline_ref,
    reap,
    resume,
    run,
)
from loopml.pipelines.executors import Executor, InlineExecutor, LocalExecutor

__all__ = [
    "Condition", "ExecutionInfo", "Executor", "InlineExecutor", "LocalExecutor", "Output", "Pipeline", "Step",
    "StepInfo", "get_execution", "known_pipelines", "list_executions", "pipeline_ref", "output", "pipeline", "reap", "resume", "run", "step", "when",
]
