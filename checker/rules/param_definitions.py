"""The learner's classes and functions, as the parameter estimate looks them up.

Which learner class or function a written name refers to (in the same file or imported from
another learner file), whether a class is an nn.Module (through learner base classes), and a
method looked up through learner base classes. Only reads the parsed files.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from checker.rules.names import CodeFile, SubmissionIndex, dotted_name, module_of_path
from checker.rules.param_values import LearnerDef

MODULE_BASES = (
    "torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.Sequential", "torch.nn.ModuleList",
    "pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule",
)


class LearnerDefinitions:
    """The top-level classes and functions of a learner's files, by file and by module name."""

    def __init__(self, files: Sequence[CodeFile], index: SubmissionIndex, max_depth: int):
        self.files = {f.path: f for f in files}
        self.index = index
        self.max_depth = max_depth
        self._top: dict[str, dict[str, cst.ClassDef | cst.FunctionDef]] = {
            f.path: {s.name.value: s for s in f.module.body if isinstance(s, (cst.ClassDef, cst.FunctionDef))}
            for f in files
        }
        self._module_paths: dict[str, list[str]] = {}
        for f in files:
            name = module_of_path(f.path)
            if name:
                self._module_paths.setdefault(name, []).append(f.path)

    def find_def(self, file: CodeFile, written: str) -> LearnerDef | None:
        """The learner class/function a written name refers to, in this file or another."""
        if "." not in written and written in self._top.get(file.path, {}):
            return LearnerDef(file, self._top[file.path][written])
        if not self.index.is_import_bound(file.path, written):
            return None
        qualified = self.index.resolve(file.path, written)[0]
        module, _, name = qualified.rpartition(".")
        for mod_name, paths in self._module_paths.items():
            if module and (mod_name == module or mod_name.endswith("." + module)):
                for p in paths:
                    node = self._top.get(p, {}).get(name)
                    if node is not None:
                        return LearnerDef(self.files[p], node)
        return None

    def is_module_class(self, file: CodeFile, node: cst.ClassDef, depth: int = 0) -> bool:
        """Whether a learner class derives from nn.Module (or Lightning's), directly or through learner classes."""
        if depth > self.max_depth:
            return False
        for base in node.bases:
            written = dotted_name(base.value)
            if not written:
                continue
            if self.index.is_import_bound(file.path, written):
                qualified = self.index.resolve(file.path, written)[0]
                if qualified in MODULE_BASES:
                    return True
            found = self.find_def(file, written)
            if found is not None and isinstance(found.node, cst.ClassDef) and found.node is not node:
                if self.is_module_class(found.file, found.node, depth + 1):
                    return True
        return False

    def method(self, d: LearnerDef, name: str) -> LearnerDef | None:
        """A method of a learner class, looked up through learner base classes."""
        assert isinstance(d.node, cst.ClassDef)
        for stmt in d.node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                return LearnerDef(d.file, stmt)
        for base in d.node.bases:
            written = dotted_name(base.value)
            found = self.find_def(d.file, written) if written else None
            if found is not None and isinstance(found.node, cst.ClassDef) and found.node is not d.node:
                method = self.method(found, name)
                if method is not None:
                    return method
        return None

