"""The ``script`` flavor: a SageMaker script-mode model — what ``SM_MODEL_DIR`` held plus ``code/inference.py``.

The entry point defines the handlers SageMaker's scikit-learn and XGBoost containers call:
``model_fn(model_dir)`` (required), ``input_fn(request_body, request_content_type)``,
``predict_fn(input_data, model)``, ``output_fn(prediction, accept)`` — or ``transform_fn(model, request_body,
request_content_type, accept)`` instead of the last three. Any handler may take one more argument, the
request's :class:`RequestContext` (``None`` for ``model_fn``, which runs before any request): the caller's
``CustomAttributes`` and ``InferenceId`` reach the script there. Missing handlers get the container's
defaults (see :data:`CONTAINERS`). A body
of ``application/json`` or ``text/csv`` is decoded to ``str`` first, and an absent or ``*/*`` Accept
becomes the model's default (``application/json``), as the SageMaker inference toolkit does.

It is code: loading needs ``trust=True`` (the registry records who vouched for it). Loading writes the
verified files into a fresh private folder, puts its ``code/`` first on ``sys.path`` (as SageMaker does)
and imports the entry point from there; nothing is installed (``code/requirements.txt`` must already be
satisfied — checked when saving).
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import UnsafeModelError, ValidationError
from loopml.models.manifest import ModelInfo

FILE_FORMAT = None  # Python source, checked by :func:`inspect`
MODEL_FILE = "code/inference.py"
RUNS_CODE = True
WHAT_RUNS = "the inference script {info.model_file!r}"
NEEDS_FILES = True
CONTAINERS = ("sklearn", "xgboost")
HANDLERS = {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2, "transform_fn": 4}
JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"
_UTF8 = (JSON, CSV)


@dataclass(frozen=True)
class RequestContext:
    """What a request carries besides its body, for handlers that take one more argument.

    The attribute names are those of SageMaker's TensorFlow Serving container (``context.custom_attributes``,
    ``context.request_content_type``, ``context.accept_header``); :meth:`get_request_header` answers as a
    TorchServe context does (``context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")``), so a
    script written for either container reads them unchanged.
    """

    request_content_type: str
    accept_header: str
    custom_attributes: str | None = None
    inference_id: str | None = None

    def get_request_header(self, idx: int, key: str) -> str | None:
        """The request header ``key`` (any case) of request ``idx`` of the batch (always one request here)."""
        headers = {"content-type": self.request_content_type, "accept": self.accept_header,
                   "x-amzn-sagemaker-custom-attributes": self.custom_attributes,
                   "x-amzn-sagemaker-inference-id": self.inference_id}
        return headers.get(key.lower()) if idx == 0 else None


class UnsupportedContent(ValidationError):
    """The default handlers do not decode this content type or encode this Accept type."""

    http_status = 415
    code = "unsupported_media_type"


def handles(model: Any) -> bool:
    """Never detected from an object: build script models with :func:`loopml.models.save_script`."""
    return False


def save(model: Any, folder: Path) -> Any:
    raise ValidationError("a script-mode model is a folder, not an object; use loopml.models.save_script(model_dir, "
                          "path, entry_point='inference.py')")


# -- saving ---------------------------------------------------------------------------------------------------
def save_script(model_dir: str | Path, path: str | Path, *, entry_point: str | Path | None = None,
                source_dir: str | Path | None = None, container: str = "sklearn", signature: Any = None,
                input_example: Any = None, default_accept: str = JSON, metadata: dict[str, Any] | None = None
                ) -> ModelInfo:
    """Save a SageMaker script-mode model (``model_dir`` as ``SM_MODEL_DIR`` left it) in the model format.

    Args:
        model_dir: the model's files; it may already hold ``code/inference.py`` (SageMaker's model.tar.gz
            layout) or ``inference.py``.
        path: the model folder to create.
        entry_point: the inference script, copied to ``code/`` (default: the one in ``model_dir``).
        source_dir: a folder of helper modules copied to ``code/`` next to the entry point.
        container: whose default handlers fill in the missing ones: ``sklearn`` or ``xgboost``.
        signature / input_example: the input columns, when requests are rows of named columns (used by
            batch transform, OIP v2 and the monitors; SageMaker requests need none).
        default_accept: the response type when a request sends no Accept (SageMaker's
            ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``).
        metadata: JSON data stored in the manifest.

    Raises:
        ValidationError: links or special files in the folders, no entry point, a script that breaks the
            handler contract, or ``code/requirements.txt`` naming packages this environment lacks.
    """
    from loopml.models import folder as _folder
    from loopml.models.signature import as_signature, infer_signature

    if container not in CONTAINERS:
        raise ValidationError(f"container {container!r} is not one of {CONTAINERS}", container=container)
    files, model_file = _script_files(Path(model_dir), entry_point, source_dir)
    handlers_in(files[model_file], model_file)
    _check_requirements(files.get(str(Path(model_file).parent / "requirements.txt")))
    sig = as_signature(signature) or (infer_signature(input_example) if input_example is not None else None)
    options = {"container": container, "default_accept": default_accept}
    framework = (container, _version("scikit-learn" if container == "sklearn" else "xgboost"))
    return _folder.save_files(files, path, flavor="script", model_file=model_file, framework=framework,
                              model_class="sagemaker.script_mode", signature=sig, options=options,
                              metadata=metadata, python_version=platform.python_version())


def _script_files(model_dir: Path, entry_point: Any, source_dir: Any) -> tuple[dict[str, bytes], str]:
    from loopml.models._tree import read_tree

    files = read_tree(model_dir)
    if source_dir is not None:
        files.update({f"code/{rel}": data for rel, data in read_tree(Path(source_dir)).items()})
    if entry_point is not None:
        entry = Path(entry_point)
        files[f"code/{entry.name}"] = read_tree(entry.parent, only=[entry.name])[entry.name]
        return files, f"code/{entry.name}"
    for candidate in ("code/inference.py", "inference.py"):
        if candidate in files:
            return files, candidate
    raise ValidationError(f"{model_dir} holds no code/inference.py or inference.py; pass entry_point= (the script "
                          "with model_fn, input_fn, predict_fn, output_fn)", path=str(model_dir))


def _check_requirements(text: bytes | None) -> None:
    """Every line of requirements.txt must already be satisfied here: replicas install nothing."""
    if not text:
        return
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for line in text.decode("utf-8", "replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            req = Requirement(line)
            installed = version(req.name)
        except (InvalidRequirement, PackageNotFoundError):
            missing.append(line)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            missing.append(f"{line} (installed: {installed})")
    if missing:
        raise ValidationError(f"code/requirements.txt names packages this environment does not have: {missing}; "
                              "loopml's replicas install nothing — install them where loopml runs, or drop them",
                              missing=missing)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


# -- checks (no code runs) -----------------------------------------------------------------------------
def handlers_in(source: bytes, name: str) -> dict[str, int]:
    """The handlers a script defines at top level, with their positional-argument counts (parsed, not run).

    Raises:
        ValidationError: the script does not parse, lacks ``model_fn``, mixes ``transform_fn`` with the
            others, or a handler takes the wrong number of arguments.
    """
    try:
        tree = ast.parse(source.decode("utf-8"), filename=name)
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"the inference script {name!r} is not valid Python: {exc}") from exc
    found = {n.name: len(n.args.posonlyargs) + len(n.args.args) for n in tree.body
             if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name in HANDLERS}
    problems = [] if "model_fn" in found else ["it defines no model_fn(model_dir) (both containers require one)"]
    if "transform_fn" in found and found.keys() & {"input_fn", "predict_fn", "output_fn"}:
        problems.append("transform_fn cannot be used together with input_fn, predict_fn or output_fn")
    problems += [f"{h} takes {n} arguments; SageMaker calls it with {HANDLERS[h]} (or {HANDLERS[h] + 1} with the "
                 "context)" for h, n in found.items() if n not in (HANDLERS[h], HANDLERS[h] + 1)]
    if problems:
        raise ValidationError(f"the inference script {name!r} does not follow SageMaker's contract: "
                              + "; ".join(problems), problems=problems)
    return found


def inspect(data: bytes, info: ModelInfo, *, trust: bool) -> None:
    """Check the entry point against the handler contract and the options (the caller required trust)."""
    handlers_in(data, info.model_file)
    options = info.options
    if options.get("container", "sklearn") not in CONTAINERS:
        raise ValidationError(f"container {options.get('container')!r} is not one of {CONTAINERS}")
    if not trust:
        raise UnsafeModelError(f"{info.path} is an inference script; it runs only with trust=True")


# -- loading ---------------------------------------------------------------------------------------------
def load(data: bytes, info: ModelInfo, *, trust: bool, files: dict[str, bytes]) -> ScriptModel:
    """Write the verified files to a private folder, import the entry point, call ``model_fn``."""
    root = Path(tempfile.mkdtemp(prefix="loopml-script-"))
    for rel, blob in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        target.chmod(0o444)
    entry = root / info.model_file
    sys.path.insert(0, str(entry.parent))
    name = f"loopml_inference_{info.digest.split(':')[-1][:16]}"
    spec = importlib.util.spec_from_file_location(name, entry)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]  # trusted by the caller
    return ScriptModel(module, root, container=str(info.options.get("container", "sklearn")),
                       default_accept=str(info.options.get("default_accept", JSON)),
                       columns=info.signature.names if info.signature else None)


def _adapt(fn: Any, arity: int) -> Any:
    """``fn`` as a callable of its arguments and the request context, which it gets only if it takes one
    more argument than SageMaker's contract names."""
    import inspect as pyinspect

    takes = len(pyinspect.signature(fn).parameters)
    return fn if takes == arity + 1 else (lambda *args: fn(*args[:-1]))


class ScriptModel:
    """A loaded inference script: :meth:`invoke` is the SageMaker request path; :meth:`predict` runs a frame
    through the same handlers as headerless CSV (batch transform, OIP v2, evaluation)."""

    def __init__(self, module: Any, model_dir: Path, *, container: str, default_accept: str,
                 columns: list[str] | None) -> None:
        self.container, self.default_accept, self.columns = container, default_accept, columns
        found = {h: _adapt(getattr(module, h), HANDLERS[h]) for h in HANDLERS if callable(getattr(module, h, None))}
        self.model = found["model_fn"](str(model_dir), None)
        self.transform_fn = found.get("transform_fn")
        self.input_fn = found.get("input_fn", self._default_input)
        self.predict_fn = found.get("predict_fn", self._default_predict)
        self.output_fn = found.get("output_fn", _default_output)

    def invoke(self, body: bytes, content_type: str, accept: str | None, *, custom_attributes: str | None = None,
               inference_id: str | None = None) -> tuple[bytes, str]:
        """One request, as SageMaker's model server handles it: returns (response body, its content type).
        ``custom_attributes`` and ``inference_id`` reach handlers that take the context argument."""
        accept = self.default_accept if not accept or accept.strip() == "*/*" else accept
        ctx = RequestContext(content_type, accept, custom_attributes, inference_id)
        payload: Any = body.decode("utf-8") if _media(content_type) in _UTF8 else body
        if self.transform_fn is not None:
            result = self.transform_fn(self.model, payload, content_type, accept, ctx)
        else:
            data = self.input_fn(payload, content_type, ctx)
            result = self.output_fn(self.predict_fn(data, self.model, ctx), accept, ctx)
        out, out_type = result if isinstance(result, tuple) else (result, accept)
        return (out.encode() if isinstance(out, str) else bytes(out)), str(out_type)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if len(frame) == 0:
            return np.empty(0)
        text = frame.to_csv(header=False, index=False)
        if self.transform_fn is not None:
            return np.asarray(json.loads(self.invoke(text.encode(), CSV, JSON)[0]))
        ctx = RequestContext(CSV, JSON)
        return np.asarray(self.predict_fn(self.input_fn(text, CSV, ctx), self.model, ctx))

    # The containers' defaults (sagemaker-scikit-learn-container, sagemaker-xgboost-container).
    def _default_input(self, data: Any, content_type: str, context: RequestContext | None = None) -> Any:
        media = _media(content_type)
        if self.container == "xgboost":
            return _xgb_input(data, media)
        if media == JSON:
            return np.array(json.loads(data)).astype(np.float32)
        if media == CSV:
            return np.genfromtxt(io.StringIO(data), delimiter=",").astype(np.float32)
        if media == NPY:
            return np.load(io.BytesIO(data), allow_pickle=False)
        raise UnsupportedContent(f"content type {content_type!r} is not decoded by the default input_fn; send "
                                 f"{JSON}, {CSV} or {NPY}, or define input_fn in the script", content_type=media)

    def _default_predict(self, data: Any, model: Any, context: RequestContext | None = None) -> Any:
        if self.container == "xgboost":
            return model.predict(data, validate_features=False)
        return model.predict(data)


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _xgb_input(data: Any, media: str) -> Any:
    import xgboost

    if media == CSV:
        rows = [[x if x != "" else "nan" for x in line.split(",")] for line in data.strip().split("\n")]
        return xgboost.DMatrix(np.array(rows).astype(np.float32))
    if media in ("text/libsvm", "text/x-libsvm"):
        with tempfile.NamedTemporaryFile(suffix=".libsvm") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode())
            fh.flush()
            return xgboost.DMatrix(f"{fh.name}?format=libsvm")
    raise UnsupportedContent(f"content type {media!r} is not decoded by the XGBoost container's input_fn; send "
                             f"{CSV} or text/libsvm, or define input_fn in the script", content_type=media)


def _default_output(prediction: Any, accept: str, context: RequestContext | None = None) -> bytes:
    media = _media(accept)
    if media == JSON:
        return json.dumps(prediction, default=lambda a: a.tolist() if hasattr(a, "tolist") else str(a)).encode()
    if media == CSV:
        out = io.StringIO()
        np.savetxt(out, np.asarray(prediction), delimiter=",", fmt="%s")
        return out.getvalue().encode()
    if media == NPY:
        out_bytes = io.BytesIO()
        np.save(out_bytes, np.asarray(prediction), allow_pickle=False)
        return out_bytes.getvalue()
    raise UnsupportedContent(f"Accept {accept!r} is not encoded by the default output_fn; ask for {JSON}, {CSV} or "
                             f"{NPY}, or define output_fn in the script", accept=media)
