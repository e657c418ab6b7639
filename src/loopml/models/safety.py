"""Guards for untrusted model bytes: format sniffing, a pickle opcode scan and a credential-free environment.

Formats are told apart by their bytes, never by a file's extension (RELIABILITY.md §2.1). Pickle-family
streams (plain pickle, joblib-style compressed pickles, PyTorch ``.pt`` zips) can run code while they are
read, so loopml refuses them unless the caller trusts the file. :func:`scan_pickle` adds a second line of
defence for trusted pickles: every global the stream names (``GLOBAL``, ``STACK_GLOBAL``, ``INST``, however its
operands were built) is resolved to what it really is and must be on an allowlist and not a known gadget.
"""

from __future__ import annotations

import io
import json
import os
import pickletools
import re
import struct
import types
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from loopml.config import get_settings
from loopml.errors import UnsafeModelError, ValidationError

#: Formats that may run code while loaded; refused unless the caller passes ``trust=True``.
PICKLE_FAMILY = frozenset({"pickle", "compressed", "torch-zip", "keras"})

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_MAX_DEPTH = 8
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
                   "_posixsubprocess", "types", "functools", "operator", "builtins", "pdb", "timeit", "io", "_io",
                   "pathlib", "tempfile", "glob", "codecs", "zipimport", "dill", "cloudpickle", "joblib", "torch",
                   "asyncio", "threading", "_thread", "gc", "inspect", "ast", "linecache", "http", "urllib",
                   "ftplib", "smtplib", "telnetlib", "tarfile", "zipfile", "sqlite3", "commands", "popen2",
                   "platform", "sysconfig", "site", "distutils", "setuptools", "pip", "ensurepip", "venv",
                   "__builtin__", "posixpath", "ntpath", "genericpath", "fcntl", "mmap", "resource")
#: Parts of the numeric stack an allowlist prefix (``numpy.*``...) would admit but that read or write files,
#: load shared libraries, evaluate expressions or unpickle again.
_DENIED_STACK_MODULES = (
    "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy.lib._datasource",
    "numpy.lib.npyio", "numpy.lib._npyio_impl", "numpy.lib.format", "numpy.lib._format_impl", "numpy.lib.utils",
    "numpy.lib._utils_impl", "numpy._pytesttester", "pandas.io", "pandas.core.computation", "pandas.util._tester",
    "pandas._testing", "sklearn.datasets", "sklearn.utils._testing", "scipy.io", "scipy._lib._testutils",
    "skops.io", "xgboost.testing", "lightgbm.libpath")
#: Callables re-exported at the top of the numeric stack that read or write files or run code.
_DANGEROUS_OBJECTS = (
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.fromregex", "numpy.memmap",
    "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.DataSource",
    "pandas.read_pickle", "pandas.eval", "pandas.read_csv", "pandas.read_table", "pandas.read_json",
    "pandas.read_parquet", "pandas.read_feather", "pandas.read_orc", "pandas.read_sql", "pandas.read_hdf",
    "pandas.read_excel", "pandas.read_fwf", "pandas.read_xml", "pandas.read_html", "pandas.read_stata",
    "pandas.read_sas", "pandas.read_spss", "pandas.HDFStore", "pandas.ExcelWriter", "scipy.io.loadmat",
)
_DANGEROUS_CACHE: list[object] = []
#: Packages the scan may import to resolve a name (the numeric stack and the safe standard modules).
_IMPORTABLE = frozenset({"numpy", "pandas", "sklearn", "scipy", "xgboost", "lightgbm", "skops", "collections",
                         "copyreg", "_codecs", "datetime", "decimal"})


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


def check_relative_path(path: object) -> str:
    """Return ``path`` if it is ``a/b/c`` made of at most 8 plain names (see :func:`check_plain_name`).

    Raises:
        ValidationError: a part is not a plain name, or the path is absolute, empty or too deep.
    """
    parts = path.split("/") if isinstance(path, str) else [path]
    if len(parts) > _MAX_DEPTH:
        raise ValidationError(f"model file path {path!r} is not allowed: more than {_MAX_DEPTH} parts deep", name=path)
    for part in parts:
        try:
            check_plain_name(part)
        except ValidationError as exc:
            raise ValidationError(f"model file path {path!r} is not allowed: {exc.message}", name=path) from exc
    return str(path)


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
    """List the globals a pickle stream would import, refusing any that is dangerous or not allowed.

    The stream is only walked (:func:`pickle_report`); nothing is unpickled.

    Args:
        data: the pickle bytes.
        allowed: ``module.name`` entries, or ``module.*`` prefixes. Globals from modules that run code
            (``os``, ``subprocess``, ``builtins``, ``importlib``...) are refused even if a prefix admits them,
            unless listed exactly.

    Returns:
        Every ``module.name`` the stream references, in order, as spelt.

    Raises:
        UnsafeModelError: naming *every* refused global with what it resolves to and why, or the stream is
            malformed.
    """
    report = pickle_report(data, allowed=allowed)
    refused = report.refused
    if refused:
        listed = "; ".join(g.describe() for g in refused[:20])
        raise UnsafeModelError(
            f"the pickle stream imports {len(refused)} global(s) that are not on the allowlist or can run code: "
            f"{listed}. A pickle that names them can run code when loaded. Save the model in a safe format "
            "(skops, ONNX, XGBoost UBJ, LightGBM text) instead", globals=[g.to_dict() for g in refused],
            global_name=refused[0].spelt)
    return [g.spelt for g in report.globals]


@dataclass(frozen=True)
class PickleGlobal:
    """One global a pickle names: as spelt, what it resolves to, and why it is refused (None: allowed)."""

    module: str
    name: str
    resolves_to: str | None = None
    reason: str | None = None

    @property
    def spelt(self) -> str:
        return f"{self.module}.{self.name}"

    def describe(self) -> str:
        target = f" (resolves to {self.resolves_to})" if self.resolves_to and self.resolves_to != self.spelt else ""
        return f"{self.spelt!r}{target}: {self.reason}"

    def to_dict(self) -> dict[str, str | None]:
        return {"global": self.spelt, "resolves_to": self.resolves_to, "reason": self.reason}


@dataclass(frozen=True)
class PickleReport:
    """What :func:`pickle_report` found: every global in stream order."""

    globals: list[PickleGlobal]

    @property
    def refused(self) -> list[PickleGlobal]:
        """The globals that make the stream unsafe."""
        return [g for g in self.globals if g.reason is not None]


def pickle_report(data: bytes, *, allowed: Iterable[str] = SAFE_GLOBALS) -> PickleReport:
    """Every global a pickle stream names, each resolved and judged, without unpickling anything.

    The stream is run on a symbolic stack (so ``STACK_GLOBAL`` operands built through ``MEMOIZE``/``GET``,
    ``POP``, ``DUP`` or marks are the real ones). Each global is judged by its spelling (module and every
    attribute in a dotted name) and, when its module is one the allowlist admits, by the object it
    resolves to: a re-export of ``os.system`` through ``numpy.lib._datasource.os`` is reported as
    ``posix.system``. Modules outside the numeric stack are imported for this only when they are
    installed, non-standard-library packages named by the allowlist.

    Raises:
        UnsafeModelError: the stream is malformed or uses opcodes the scan cannot follow.
    """
    allow = set(allowed)
    return PickleReport([_judge(module, name, allow) for module, name in _globals_in(data)])


def _judge(module: str, name: str, allow: set[str]) -> PickleGlobal:
    spelt = f"{module}.{name}"
    if spelt in allow:
        return PickleGlobal(module, name, spelt)
    admitted = _admitted(spelt, allow)
    reason = _static_reason(module, name) or (None if admitted else "not on the allowlist")
    if not admitted and module.split(".")[0] not in _IMPORTABLE:
        return PickleGlobal(module, name, None, reason)
    try:
        obj, via_module = _resolve(module, name)
    except _Unresolved as exc:
        return PickleGlobal(module, name, None, reason or str(exc))
    canonical = _canonical(obj, spelt)
    return PickleGlobal(module, name, canonical,
                        reason or _object_reason(obj, canonical, via_module, name, allow))


class _Unresolved(Exception):
    pass


def _is_denied_module(module: str) -> bool:
    if module.split(".")[0] in _DENIED_MODULES:
        return True
    return any(module == p or module.startswith(p + ".") for p in _DENIED_STACK_MODULES)


def _static_reason(module: str, name: str) -> str | None:
    if _is_denied_module(module):
        return f"module {module!r} can run code, import code or touch files"
    for part in name.split("."):
        if part.startswith("__") and part.endswith("__"):
            return f"reaches through the special attribute {part!r}"
        if part in _DENIED_MODULES:
            return f"reaches the module {part!r} through an attribute (a re-export of code that runs commands)"
    return None


def _admitted(spelt: str, allow: set[str]) -> bool:
    return spelt in allow or any(e.endswith(".*") and spelt.startswith(e[:-1]) for e in allow)


def _resolve(module: str, name: str) -> tuple[object, list[str]]:
    """Import ``module`` (when that is safe to do) and walk ``name``'s attributes; also returns every module
    object met on the way."""
    import importlib
    import sys
    from importlib.util import find_spec

    top = module.split(".")[0]
    if top not in _IMPORTABLE and module not in sys.modules:
        if top in getattr(sys, "stdlib_module_names", ()) or find_spec(top) is None:
            raise _Unresolved(f"module {module!r} is not importable here, so what it names cannot be checked")
    try:
        obj: object = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure means "cannot be checked"
        raise _Unresolved(f"module {module!r} cannot be imported here ({type(exc).__name__})") from exc
    met = []
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise _Unresolved(f"{module!r} has no attribute path {name!r}") from exc
        if isinstance(obj, types.ModuleType):
            met.append(obj.__name__)
    return obj, met


def _canonical(obj: object, spelt: str) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{module}.{qualname}" if isinstance(module, str) and isinstance(qualname, str) else spelt


def _object_reason(obj: object, canonical: str, via_module: list[str], name: str, allow: set[str]) -> str | None:
    denied = [m for m in via_module if _is_denied_module(m)]
    if denied:
        return f"reaches the module {denied[0]!r} through an attribute"
    if isinstance(obj, types.ModuleType):
        return "names a module, not a class or function"
    if _is_denied_module(canonical.rsplit(".", 1)[0]) or _is_denied_module(canonical.split(".")[0]):
        return f"it is {canonical}, from a module that can run code, import code or touch files"
    if any(obj is bad for bad in _dangerous_objects()):
        return f"it is {canonical}, which reads or writes files or runs code"
    if "." in name and not isinstance(obj, type) and callable(obj):
        return "a method reached through a class: methods can read or write files"
    if canonical not in allow and not _admitted(canonical, allow):
        return f"it is {canonical}, which is not on the allowlist"
    return None


def _dangerous_objects() -> list[object]:
    """Callables inside the numeric stack that read or write files or run code (resolved on first use)."""
    if _DANGEROUS_CACHE:
        return _DANGEROUS_CACHE
    import importlib

    for spelt in _DANGEROUS_OBJECTS:
        module, _, attr = spelt.rpartition(".")
        try:
            _DANGEROUS_CACHE.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            continue
    return _DANGEROUS_CACHE


def _globals_in(data: bytes) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    machine = _StackMachine()
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name in ("GLOBAL", "INST"):
                module, _, name = str(arg).partition(" ")
                found.append((module, name))
            elif opcode.name == "STACK_GLOBAL":
                found.append(machine.stack_global())
                continue
            elif opcode.name.startswith("EXT"):
                raise UnsafeModelError(f"the pickle stream uses the extension registry ({opcode.name}); refused")
            machine.step(opcode, arg)
    except UnsafeModelError:
        raise
    except Exception as exc:
        raise UnsafeModelError(f"the pickle stream is malformed ({type(exc).__name__}); refused") from exc
    return found


_MARK = object()
_STRING_OPS = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                         "BINUNICODE8"})


class _StackMachine:
    """The unpickler's stack and memo, with only strings known (every other value is None)."""

    def __init__(self) -> None:
        self.stack: list[object] = []
        self.memo: dict[int, object] = {}

    def stack_global(self) -> tuple[str, str]:
        name, module = self.stack.pop(), self.stack.pop()
        if not isinstance(module, str) or not isinstance(name, str):
            raise UnsafeModelError("the pickle stream builds a STACK_GLOBAL from values the scan cannot resolve; "
                                   "refused")
        self.stack.append(None)
        return module, name

    def step(self, opcode: pickletools.OpcodeInfo, arg: object) -> None:
        name = opcode.name
        if name == "MEMOIZE":
            self.memo[len(self.memo)] = self.stack[-1]
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            self.memo[int(str(arg))] = self.stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            self.stack.append(self.memo[int(str(arg))])
        elif name == "DUP":
            self.stack.append(self.stack[-1])
        elif name == "MARK":
            self.stack.append(_MARK)
        else:
            self._generic(opcode, arg)

    def _generic(self, opcode: pickletools.OpcodeInfo, arg: object) -> None:
        before = [s.name for s in opcode.stack_before]
        if "mark" in before:
            while self.stack.pop() is not _MARK:
                pass
            for _ in range(before.index("mark")):
                self.stack.pop()
        else:
            for _ in before:
                if self.stack.pop() is _MARK:
                    raise ValueError(f"{opcode.name} consumed a mark")
        value = arg if opcode.name in _STRING_OPS and isinstance(arg, str) else None
        self.stack.extend(value for _ in opcode.stack_after)


_SECRET_KEY = re.compile(
    r"(^AWS_|^AZURE_|^GOOGLE_APPLICATION_CREDENTIALS$|^GCP_|^GCLOUD_|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|"
    r"API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|^LOOPML_DB|^LOOPML_ARTIFACTS|^LOOPML_QUEUE|^LOOPML_ONLINE|"
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
    import resource

    memory = get_settings().replica_memory_mb * 2**20
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, 2 * 2**30),
                         (resource.RLIMIT_CORE, 0)):
        _soft, hard = resource.getrlimit(limit)
        resource.setrlimit(limit, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
