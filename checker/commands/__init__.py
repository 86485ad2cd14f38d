"""Click commands, one module per command family; `checker.cli` registers them on the group."""
