"""The pipeline engine: ``@step`` and ``@pipeline`` build a DAG from plain Python; :func:`run` executes
it on an executor with caching, retries, timeouts and conditions, recording every execution (the
lineage backbone); :func:`resume` finishes a run whose orchestrator was killed.
"""

from loopml.pipelines._code import git_info, load_ref
from loopml.pipelines._records import ExecutionInfo, StepInfo
from loopml.pipelines._sdk import Condition, Output, Pipeline, Step, pipeline, step, when
from loopml.pipelines._task import current_step
from loopml.pipelines.engine import (
    execution_target,
    get_execution,
    known_pipelines,
    list_executions,
    output,
    pipeline_ref,
    reap,
    resume,
    run,
)
from loopml.pipelines.executors import (
    EXECUTORS,
    Executor,
    InlineExecutor,
    LocalExecutor,
    default_executor,
    executor_names,
    make_executor,
)

__all__ = [
    "EXECUTORS", "Condition", "ExecutionInfo", "Executor", "default_executor", "executor_names", "make_executor", "InlineExecutor", "LocalExecutor", "Output", "Pipeline", "Step",
    "StepInfo", "current_step", "execution_target", "get_execution", "git_info", "known_pipelines", "list_executions", "load_ref", "pipeline_ref", "output", "pipeline", "reap", "resume", "run", "step", "when",
]
