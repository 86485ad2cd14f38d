"""The task file (task.toml): its tables, their validation and the catalogue of rule codes.

Its own package below the analyses, not inside checker/rules: the rules, the retrain stage and
the notes check all read the task file, and analyses never import each other.
"""
