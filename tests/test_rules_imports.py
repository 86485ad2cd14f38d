"""Forbidden imports (NS101), forbidden module use (NS102) and forbidden calls (NS103)."""

from __future__ import annotations

from rules_helpers import code, codes, run

RULES = 'forbid_imports = ["d2l", "timm", "torchvision.models"]\nforbid_calls = ["eval", "os.system"]\n'


def test_aliased_from_import_of_a_forbidden_module_is_reported():
    findings = run(RULES, code("train.py", "from d2l import torch as d2l\nd2l.train_ch3(net)\n"))
    assert codes(findings) == ["NS101"]
    assert str(findings[0]).startswith("train.py:1:1 NS101 imports d2l.torch")


def test_import_as_and_submodule_imports_are_reported():
    findings = run(RULES, code("m.py", "import timm.models as tm\nfrom torchvision import models as M\n"))
    assert codes(findings) == ["NS101", "NS101"]
    assert [f.line for f in findings] == [1, 2]


def test_dynamic_imports_are_reported():
    findings = run(RULES, code("m.py", """
        import importlib
        tm = importlib.import_module("timm")
        d2l = __import__("d2l")
    """))
    assert [f.code for f in findings] == ["NS101", "NS101"]
    assert all("dynamically" in f.message for f in findings)


def test_reexport_through_a_learner_module_is_reported_where_it_is_used():
    utils = code("src/utils.py", "from d2l import torch as d2l\n")
    train = code("train.py", "from src.utils import d2l\nd2l.train_ch3()\n")
    findings = run(RULES, utils, train)
    assert [(f.path, f.code) for f in findings] == [("src/utils.py", "NS101"), ("train.py", "NS101")]
    assert "re-exports" in findings[1].message


def test_similar_names_strings_and_comments_are_not_imports():
    findings = run(RULES, code("m.py", """
        import d2lx
        import torchvision
        from torchvision import transforms, datasets
        # we do not use d2l or timm
        name = "timm"
    """))
    assert findings == []


def test_module_use_through_an_allowed_parent_import_is_reported():
    findings = run(RULES, code("m.py", "import torchvision\nnet = torchvision.models.vgg11(num_classes=10)\n"))
    assert codes(findings) == ["NS102"]
    assert findings[0].line == 2


def test_allowed_parts_of_a_parent_package_are_not_module_use():
    findings = run(RULES, code("m.py", "import torchvision\nt = torchvision.transforms.ToTensor()\n"))
    assert findings == []


def test_forbidden_call_is_found_through_an_alias():
    findings = run(RULES, code("m.py", "from os import system as run_shell\nrun_shell('ls')\nx = eval('1')\n"))
    assert codes(findings) == ["NS103", "NS103"]
    assert "os.system (written run_shell)" in findings[0].message


def test_methods_that_share_a_forbidden_name_are_not_calls_of_it():
    findings = run(RULES, code("m.py", "model.eval()\nimport os\nos.path.join('a', 'b')\n"))
    assert findings == []


def test_per_entry_file_scope_limits_a_forbidden_import():
    rules = 'forbid_imports = [{ module = "selenium", files = ["**/jwch/**"] }]\n'
    inside = code("jwch/crawl.py", "from selenium import webdriver\n")
    outside = code("zhihu/crawl.py", "from selenium import webdriver\n")
    findings = run(rules, inside, outside)
    assert [f.path for f in findings] == ["jwch/crawl.py"]


def test_plain_dotted_imports_bind_the_top_package():
    findings = run('forbid_calls = ["urllib.request.urlopen"]\n',
                   code("m.py", "import urllib.request, urllib.parse\nurllib.request.urlopen(url)\nurllib.parse.quote(s)\n"))
    assert [(f.code, f.line) for f in findings] == [("NS103", 2)]
    assert findings[0].message.startswith("calls urllib.request.urlopen:")
