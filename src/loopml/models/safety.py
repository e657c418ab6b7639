"""Guards for untrusted model bytes: format sniffing, a pickle opcode scan and a credential-free environment.

Formats are told apart by their bytes, never by a file's extension (RELIABILITY.md §2.1). Pickle-family
streams (plain pickle, joblib-style compressed pickles, PyTorch ``.pt`` zips) can run code while they are
read, so loopml refuses them unless the caller trusts the file. :func:`scan_pickle` adds a second line of
defence for trusted pickles: every ``GLOBAL``/``STACK_GLOBAL`` must be on an allowlist.
"""

from __future__ import annotations

import io
import json
import os
import pickletools
import re
import struct
import zipfile
from collections.abc import Iterable, Mapping

from loopml.errors import UnsafeModelError, ValidationError

#: Formats that may run code while loaded; refused unless the caller passes ``trust=True``.
PICKLE_FAMILY = frozenset({"pickle", "compressed", "torch-zip", "keras"})

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_COMPRESSED = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00",
               b"\x04\x22\x4d\x18")

#: Globals a pickle may name without being code: numpy arrays, containers, copyreg helpers.
SAFE_GLOBALS = frozenset({
    "builtins.set", "builtins.frozenset", "builtins.complex", "builtins.slice", "builtins.bytearray",
    "builtins.range", "builtins.object", "collections.OrderedDict", "collections.defaultdict",
    "copyreg._reconstructor", "copyreg.__newobj__", "_codecs.encode", "datetime.datetime", "datetime.date",
    "datetime.timedelta", "decimal.Decimal", "numpy.ndarray", "numpy.dtype",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy._core.numeric._frombuffer",
})
#: Globals refused even when an allowlist prefix would admit them: each one runs or imports code.
_DENIED_MODULES = ("os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "pty", "socket", "shutil",
                   "ctypes", "code", "marshal", "pickle", "_pickle", "webbrowser", "multiprocessing", "signal",
                   "_posixsubprocess", "types", "functools", "operator", "builtins", "pdb", "timeit")


def is_plain_name(name: str) -> bool:
    """True when ``name`` is a plain file name: no directory parts, no ``..``, not absolute, at most 128 chars."""
    return bool(_NAME.match(name)) and ".." not in name


def check_plain_name(name: object) -> str:
    """Return ``name`` if it is a plain relative file name, else raise ValidationError.

    Raises:
        ValidationError: ``name`` has a slash, backslash, ``..``, a leading dot, or other characters.
    """
    if not isinstance(name, str) or not is_plain_name(name):
        raise ValidationError(
            f"model file name {name!r} is not allowed: names must be plain file names inside the model folder "
            "(letters, digits, '.', '_', '-'; no '/', '\\', '..' or absolute paths); re-save the model with "
            "loopml.models.save", name=name)
    return name


def detect_format(data: bytes) -> str:
    """Name the format of ``data`` from its bytes.

    Returns one of ``skops``, ``xgboost-ubj``, ``xgboost-json``, ``lightgbm-txt``, ``onnx``, ``safetensors``,
    ``pickle``, ``compressed``, ``torch-zip``, ``keras``, ``zip``, ``hdf5``, ``npy``, ``json`` or ``unknown``.
    Nothing is deserialised: zips are only listed, ONNX is parsed as protobuf (which runs no code).
    """
    head = data[:16]
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(data)
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if head.startswith(_COMPRESSED):
        return "compressed"
    if head.startswith(b"\x89HDF"):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"tree\n", b"tree\r\n")):
        return "lightgbm-txt"
    if head.startswith(b"{"):
        return _brace_format(data)
    if _is_safetensors(data):
        return "safetensors"
    if _is_onnx(data):
        return "onnx"
    return "pickle" if _parses_as_pickle(data) else "unknown"


def _zip_format(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError):
        return "unknown"
    if any(n.endswith((".pkl", ".pickle")) or n.endswith("/data.pkl") for n in names):
        return "torch-zip"
    if "config.json" in names and any(n.endswith(".h5") for n in names):
        return "keras"
    if "schema.json" in names and all(n == "schema.json" or n.endswith(".npy") or "/" not in n for n in names):
        return "skops"
    return "zip"


def _brace_format(data: bytes) -> str:
    if b"learner" in data[:32] and data[1:2] in (b"L", b"i", b"U", b"I", b"l", b"$", b"#"):
        return "xgboost-ubj"
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return "unknown"
    return "xgboost-json" if isinstance(doc, dict) and "learner" in doc else "json"


def _is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (size,) = struct.unpack("<Q", data[:8])
    return 2 <= size <= len(data) - 8 and data[8:9] == b"{"


def _is_onnx(data: bytes) -> bool:
    if not data.startswith(b"\x08"):
        return False
    try:
        import onnx

        model = onnx.load_model_from_string(data)
    except Exception:  # noqa: BLE001 - any parse failure means "not ONNX"
        return False
    return model.ir_version > 0 and len(model.opset_import) > 0


def _parses_as_pickle(data: bytes) -> bool:
    if not data or data[:1] not in b"c(]})NIFLSVX\x8a\x8c\x95GJKMTU\x80":
        return False
    try:
        ops = list(pickletools.genops(data[:1 << 20]))
        return bool(ops) and ops[-1][0].name == "STOP"
    except Exception:  # noqa: BLE001 - not a well-formed pickle stream
        return False


def scan_pickle(data: bytes, *, allowed: Iterable[str] = SAFE_GLOBALS) -> list[str]:
    """List the globals a pickle stream would import, refusing any outside ``allowed``.

    The stream is only walked with :func:`pickletools.genops`; nothing is unpickled.

    Args:
        data: the pickle bytes.
        allowed: ``module.name`` entries, or ``module.*`` prefixes. Globals from modules that run code
            (``os``, ``subprocess``, ``builtins``, ``importlib``...) are refused even if a prefix admits them,
            unless listed exactly.

    Returns:
        Every ``module.name`` the stream references, in order.

    Raises:
        UnsafeModelError: a global is outside the allowlist, cannot be resolved, or the stream is malformed.
    """
    allow = set(allowed)
    found = _globals_in(data)
    for name in found:
        if not _is_allowed(name, allow):
            raise UnsafeModelError(
                f"the pickle stream imports {name!r}, which is not on the allowlist; a pickle that names it can "
                "run code when loaded. Save the model in a safe format (skops, ONNX, XGBoost UBJ, LightGBM "
                "text) instead", global_name=name)
    return found


def _is_allowed(name: str, allow: set[str]) -> bool:
    if name in allow:
        return True
    module = name.rsplit(".", 1)[0]
    if module.split(".")[0] in _DENIED_MODULES:
        return False
    return any(entry.endswith(".*") and name.startswith(entry[:-1]) for entry in allow)


def _globals_in(data: bytes) -> list[str]:
    found: list[str] = []
    recent: list[object] = []  # what the last significant opcodes pushed (a non-string push is None)
    memo: dict[int, object] = {}
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            name = opcode.name
            if name in ("GLOBAL", "INST"):
                found.append(str(arg).replace(" ", "."))
            elif name == "STACK_GLOBAL":
                found.append(_stack_global(recent))
            elif name.startswith("EXT"):
                raise UnsafeModelError(f"the pickle stream uses the extension registry ({name}); refused")
            elif name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if name == "MEMOIZE" else int(str(arg))] = recent[-1] if recent else None
                continue
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(int(str(arg))))
                continue
            recent.append(arg if isinstance(arg, str) and ("UNICODE" in name or "STRING" in name) else None)
    except UnsafeModelError:
        raise
    except Exception as exc:
        raise UnsafeModelError(f"the pickle stream is malformed ({type(exc).__name__}); refused") from exc
    return found


def _stack_global(recent: list[object]) -> str:
    module, name = recent[-2:] if len(recent) >= 2 else (None, None)
    if not isinstance(module, str) or not isinstance(name, str):
        raise UnsafeModelError("the pickle stream builds a STACK_GLOBAL from values the scan cannot resolve; "
                               "refused")
    return f"{module}.{name}"


_SECRET_KEY = re.compile(
    r"(^AWS_|^AZURE_|^GOOGLE_APPLICATION_CREDENTIALS$|^GCP_|^GCLOUD_|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|"
    r"API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|^LOOPML_DB|^LOOPML_ARTIFACTS|^LOOPML_REDIS|^LOOPML_ONLINE|"
    r"^DATABASE_URL$|_DSN$|^PG(PASSWORD|PASSFILE|SERVICEFILE)$|^REDIS_URL$|^SSH_AUTH_SOCK$|^NETRC$|"
    r"^KUBECONFIG$|^DOCKER_AUTH|^VAULT_|^GH_|^GITHUB_|^HF_|^HUGGING_FACE|^OPENAI_|^ANTHROPIC_|^MLFLOW_TRACKING_)",
    re.IGNORECASE)
_URL_WITH_PASSWORD = re.compile(r"://[^/@\s]+:[^/@\s]*@")


def sandbox_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) without credentials, for model-loading subprocesses.

    Drops cloud keys (``AWS_*``, ``AZURE_*``, ``GOOGLE_APPLICATION_CREDENTIALS``), anything named like a
    token, secret, password, credential or API key, the loopml store URLs (``LOOPML_DB``,
    ``LOOPML_ARTIFACTS``...), ``DATABASE_URL`` and any value that is a URL with a password in it.

    Example:
        >>> sandbox_env({"PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "x", "LOOPML_DB": "sqlite:///m.db"})
        {'PATH': '/bin'}
    """
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if not _SECRET_KEY.search(k) and not _URL_WITH_PASSWORD.search(v)}


def limit_resources() -> None:
    """Bound the current process before it deserializes a model (RELIABILITY §2.4): address space
    (``LOOPML_REPLICA_MEMORY_MB``, default 8192), file size 2 GiB, no core dumps. Call it first thing in a
    sandbox subprocess started with :func:`sandbox_env`."""
    import os
    import resource

    memory = int(os.environ.get("LOOPML_REPLICA_MEMORY_MB", "8192")) * 2**20
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, 2 * 2**30),
                         (resource.RLIMIT_CORE, 0)):
        _soft, hard = resource.getrlimit(limit)
        resource.setrlimit(limit, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
