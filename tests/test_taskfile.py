"""Task-file loading and validation: every error names the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.task.taskfile import (
    RULE_KEYS,
    TaskFileError,
    load_task,
    name_matches,
    parse_task,
    path_matches,
)

FULL = """
[task]
name = "cnn"
description = "CIFAR-10 CNN"
url = "https://example.org/task5.md"
rounds = ["work4-6"]

[rules]
max_params = 20_000_000
forbid_pretrained = { allow = ["mylib.Glove"] }
forbid_model_zoo = { extra = ["mylib.zoo"], allow = ["torchvision.models.feature_extraction"] }
forbid_imports = ["d2l", { module = "timm", reason = "no timm", files = ["**/train*.py"] }]
forbid_calls = ["eval", { call = "os.system", reason = "no shell" }]
require_layers = ["LSTM|GRU", { any_of = ["Conv2d", "Conv1d"], reason = "a CNN" }]
forbid_loops = { files = ["**/broadcast*/**", "!**/test_*.py"], functions = ["distance*"], comprehensions = false }
require_type_hints = { files = ["game/**"], returns = false }
require_files = ["notes/|学习笔记/", { glob = "**/*.png", description = "loss curves" }]
forbid_files = [".idea/|venv/"]
require_attribution = { markers = ["抄自"], llm_use = ["copilot wrote"] }

[rules.severity]
NS302 = "info"
NS503 = "off"

[retrain]
command = "python train.py"
metric = "accuracy"
target = 0.65
anything_else = { nested = true }
"""


def test_full_task_file_is_read_into_typed_rules():
    task = parse_task(FULL, "task.toml")
    rules = task.rules
    assert task.name == "cnn" and task.rounds == ("work4-6",)
    assert rules.max_params == 20_000_000
    assert [f.pattern for f in rules.forbid_imports] == ["d2l", "timm"]
    assert rules.forbid_imports[1].scope.files == ("**/train*.py",)
    assert rules.require_layers[0].any_of == ("LSTM", "GRU")
    assert rules.require_layers[1].any_of == ("Conv2d", "Conv1d")
    assert rules.forbid_loops.scope.functions == ("distance*",) and not rules.forbid_loops.comprehensions
    assert not rules.require_type_hints.returns
    assert rules.require_files[0].any_of == ("notes/", "学习笔记/")
    assert rules.severity == {"NS302": "info", "NS503": "off"}


def test_retrain_table_is_kept_raw_without_validating_its_keys():
    task = parse_task(FULL, "task.toml")
    assert task.retrain_table == {"command": "python train.py", "metric": "accuracy", "target": 0.65,
                                  "anything_else": {"nested": True}}
    assert parse_task("[rules]\n", "t.toml").retrain_table is None


def test_simple_keys_other_tools_rely_on():
    task = parse_task('[rules]\nmax_params = 20_000_000\nforbid_pretrained = true\n'
                      'forbid_imports = ["d2l", "timm"]\nrequire_layers = ["LSTM|GRU"]\nforbid_loops = true\n', "t.toml")
    assert task.rules.forbid_pretrained is not None and task.rules.forbid_loops is not None
    assert task.rules.forbid_loops.scope.files == ()


def test_false_switches_a_rule_off():
    task = parse_task("[rules]\nforbid_loops = false\nforbid_pretrained = false\n", "t.toml")
    assert task.rules.forbid_loops is None and task.rules.forbid_pretrained is None


@pytest.mark.parametrize("text,value", [('"20M"', 20_000_000), ('"1.5M"', 1_500_000), ('"500k"', 500_000), ("42", 42)])
def test_max_params_accepts_sizes_with_suffixes(text, value):
    assert parse_task(f"[rules]\nmax_params = {text}\n", "t.toml").rules.max_params == value


def test_unknown_rule_key_suggests_the_close_one():
    with pytest.raises(TaskFileError) as err:
        parse_task('[rules]\nforbid_import = ["d2l"]\n', "round/task.toml")
    message = str(err.value)
    assert message.startswith("round/task.toml: [rules].forbid_import:")
    assert "did you mean 'forbid_imports'" in message


def test_unknown_top_level_table_is_rejected_with_a_suggestion():
    with pytest.raises(TaskFileError) as err:
        parse_task("[rule]\nmax_params = 1\n", "t.toml")
    assert "rule" in err.value.key and "did you mean 'rules'" in str(err.value)


def test_unknown_key_inside_a_rule_table_is_named_with_its_path():
    with pytest.raises(TaskFileError) as err:
        parse_task('[rules]\nforbid_loops = { file = ["x"] }\n', "t.toml")
    assert err.value.key == "[rules].forbid_loops.file"
    assert "did you mean 'files'" in str(err.value)


@pytest.mark.parametrize("toml,key", [
    ("max_params = -5", "[rules].max_params"),
    ("max_params = true", "[rules].max_params"),
    ("forbid_imports = \"d2l\"", "[rules].forbid_imports"),
    ("forbid_imports = [3]", "[rules].forbid_imports[0]"),
    ("forbid_imports = [\"torch hub\"]", "[rules].forbid_imports[0]"),
    ("forbid_calls = [{ reason = \"x\" }]", "[rules].forbid_calls[0]"),
    ("forbid_loops = 1", "[rules].forbid_loops"),
    ("forbid_loops = { comprehensions = \"yes\" }", "[rules].forbid_loops.comprehensions"),
    ("require_layers = [\"\"]", "[rules].require_layers[0]"),
    ("require_attribution = { markers = [\"(unclosed\"] }", "[rules].require_attribution.markers[0]"),
])
def test_wrong_values_name_the_key_and_reason(toml, key):
    with pytest.raises(TaskFileError) as err:
        parse_task("[rules]\n" + toml + "\n", "t.toml")
    assert err.value.key == key
    assert err.value.reason


def test_notes_table_sets_the_notes_norms_and_is_validated():
    task = parse_task("[rules]\n[notes]\nmin_words = 300\nmin_own_share = 0.6\n", "t.toml")
    assert (task.notes.min_words, task.notes.min_own_share) == (300, 0.6)
    unset = parse_task("[rules]\n", "t.toml").notes
    assert (unset.min_words, unset.min_own_share) == (None, None)
    for toml, key in (("min_words = -1", "[notes].min_words"), ("min_words = 1.5", "[notes].min_words"),
                      ("min_own_share = 50", "[notes].min_own_share"),
                      ("min_own_share = true", "[notes].min_own_share"),
                      ("min_word = 3", "[notes].min_word")):
        with pytest.raises(TaskFileError) as err:
            parse_task("[rules]\n[notes]\n" + toml + "\n", "t.toml")
        assert err.value.key == key and err.value.reason
    with pytest.raises(TaskFileError) as err:
        parse_task("[rules]\n[notes]\nmin_word = 3\n", "t.toml")
    assert "did you mean 'min_words'" in str(err.value)


def test_severity_table_checks_codes_and_levels():
    with pytest.raises(TaskFileError) as err:
        parse_task('[rules.severity]\nNS310 = "warning"\n', "t.toml")
    assert "unknown rule code" in str(err.value) and "did you mean" in str(err.value)
    with pytest.raises(TaskFileError) as err:
        parse_task('[rules.severity]\nNS301 = "fatal"\n', "t.toml")
    assert err.value.key == "[rules].severity.NS301"


def test_toml_syntax_error_names_the_file(tmp_path: Path):
    path = tmp_path / "task.toml"
    path.write_text("[rules\nmax_params = 1\n", encoding="utf-8")
    with pytest.raises(TaskFileError) as err:
        load_task(path)
    assert str(path) in str(err.value) and "not valid TOML" in str(err.value)


def test_missing_file_and_missing_rules_table_are_errors(tmp_path: Path):
    with pytest.raises(TaskFileError, match="cannot read"):
        load_task(tmp_path / "absent.toml")
    with pytest.raises(TaskFileError, match=r"\[rules\]"):
        parse_task('[task]\nname = "x"\n', "t.toml")


def test_task_name_defaults_to_the_file_stem(tmp_path: Path):
    path = tmp_path / "numpy-task.toml"
    path.write_text("[rules]\nforbid_loops = true\n", encoding="utf-8")
    assert load_task(path).name == "numpy-task"


def test_path_globs_follow_gitignore_conventions():
    assert path_matches("Broadcasting/solution.ipynb", "**/*broadcast*/**")  # case-insensitive
    assert path_matches("task3/broadcastapply/main.py", "**/*broadcast*/**")
    assert path_matches("deep/a/.idea/workspace.xml", ".idea/")  # no slash: any depth
    assert path_matches("notes/week1.md", "notes/")
    assert not path_matches("src/notes.md", "notes/")
    assert path_matches("a/b/train.py", "train.py")
    assert not path_matches("a/b/train.py", "b/train.py")  # with a slash: anchored at the root
    assert not path_matches("idea/x", ".idea/")


def test_negated_globs_exclude_files_from_a_scope():
    task = parse_task('[rules]\nforbid_loops = { files = ["**/*.py", "!**/*_answer.py"] }\n', "t.toml")
    scope = task.rules.forbid_loops.scope
    assert scope.covers_file("game/manage.py")
    assert not scope.covers_file("game/Campus_IF_Love_answer.py")


def test_function_scope_covers_nested_functions_and_methods():
    task = parse_task('[rules]\nforbid_loops = { functions = ["distance*", "Net.forward"] }\n', "t.toml")
    scope = task.rules.forbid_loops.scope
    assert scope.covers_function("distance_matrix")
    assert scope.covers_function("distance_matrix.inner")
    assert scope.covers_function("Net.forward")
    assert not scope.covers_function("Net.__init__")
    assert not scope.covers_function("")


def test_qualified_name_patterns_cover_submodules_only_on_dot_boundaries():
    assert name_matches("torchvision.models.resnet18", "torchvision.models")
    assert not name_matches("torchvision.models_extra", "torchvision.models")
    assert name_matches("transformers.BertModel.from_pretrained", "transformers.*Model*")
    assert not name_matches("d2lx", "d2l")


def test_every_example_task_file_loads():
    folder = Path(__file__).resolve().parents[1] / "examples" / "tasks"
    paths = sorted(folder.glob("*.toml"))
    assert len(paths) >= 5
    for path in paths:
        task = load_task(path)
        assert task.name and task.url


def test_docs_describe_every_rule_key():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "task-file.md").read_text(encoding="utf-8")
    for key in RULE_KEYS:
        assert f"`{key}`" in doc, key


def test_docs_describe_every_rule_code():
    from checker.task.catalogue import RULES

    doc = (Path(__file__).resolve().parents[1] / "docs" / "task-file.md").read_text(encoding="utf-8")
    for code in RULES:
        assert code in doc, code
