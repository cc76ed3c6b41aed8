"""A chain's eval paths and program forms: switching paths, and what the backend compiled."""

from __future__ import annotations

from anethru.errors import UnsupportedError
from anethru.native.lib import ffi, lib, new_status, raise_for, status_message
from anethru.native.vocab import EVAL_PATHS, PATH_IDS


class EvalPathsAndForms:
    """The eval-path and program-form methods of :class:`anethru.Chain`, which supplies
    ``_lock``, ``_live``, ``label``, ``backend``, ``eval_path`` and ``eval_clients``."""

    def _switch_path(self, path: str):
        if path not in EVAL_PATHS:
            raise ValueError(f"eval path must be one of {', '.join(EVAL_PATHS)}; got {path!r}")
        st = new_status()
        with self._lock:
            rc = lib.anethru_chain_set_eval_path(self._live(), PATH_IDS[path], st)
        if rc not in (lib.ANETHRU_OK, lib.ANETHRU_E_UNSUPPORTED):
            raise_for(rc, st, f"switching {self.label} on {self.backend} to the {path} eval path")
        if rc == lib.ANETHRU_OK:
            self.eval_path = path
            note = status_message(st)  # the ANE says which _ANEClient the path evaluates through
            if note.startswith("through "):
                self.eval_clients[path] = note[len("through "):]
            return ""
        return status_message(st)

    def set_eval_path(self, path: str) -> None:
        """Evaluate every kernel through ``path`` from now on (between measurements; the
        chain must have been opened with that path, or "all").  UnsupportedError, with the
        backend's reason (for the ANE the framework's message from the probe), if it cannot."""
        why = self._switch_path(path)
        if why:
            raise UnsupportedError(f"{self.backend} cannot evaluate {self.label} through the "
                                   f"{path} eval path: {why}")

    def eval_path_support(self) -> dict[str, str]:
        """Every eval path -> "" if this chain can use it, else why not.  Leaves the chain on
        the path it was on."""
        current = self.eval_path
        out = {path: self._switch_path(path) for path in EVAL_PATHS}
        self.set_eval_path(current)
        return out

    def forms(self) -> dict[str, dict]:
        """The program forms the backend compiled, where it has forms (the ANE):
        {"kernels": {"form": "ios16", "rejected": ["ios16: ..."]}, "chained": {...}}; {} else.
        Once a realtime or direct path has been switched to, each also has "clients": that
        path -> the _ANEClient it evaluates through."""
        out = {}
        for key, chained in (("kernels", 0), ("chained", 1)):
            form, rejected = ffi.new("char[]", 64), ffi.new("char[]", 4096)
            with self._lock:
                has = lib.anethru_chain_form(self._live(), chained, form, len(form), rejected,
                                             len(rejected))
            if has:
                lines = ffi.string(rejected).decode("utf-8", "replace").splitlines()
                out[key] = {"form": ffi.string(form).decode(), "rejected": [ln for ln in lines if ln]}
                if self.eval_clients:
                    out[key]["clients"] = dict(self.eval_clients)
        return out
