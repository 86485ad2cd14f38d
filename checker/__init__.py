"""noshortcut: a plagiarism and rules checker for machine-learning training programmes.

The package is a library with a thin CLI on top (`checker.cli.main`). Heavy adapters (torch,
sentence-transformers, faiss) are imported lazily inside functions, never at import time.
"""

__version__ = "0.1.0"
