"""Pretrained weights (NS201), model zoos (NS202) and foreign checkpoints (NS203)."""

from __future__ import annotations

from rules_helpers import code, codes, run

PRETRAINED = "forbid_pretrained = true\n"
ZOO = "forbid_model_zoo = true\n"


def test_pretrained_true_through_an_aliased_zoo_is_reported():
    findings = run(PRETRAINED, code("m.py", "from torchvision import models as M\nnet = M.resnet18(pretrained=True)\n"))
    assert codes(findings) == ["NS201"]
    assert "torchvision.models.resnet18(pretrained=True)" in findings[0].message


def test_weights_argument_and_weights_enum_are_reported():
    findings = run(PRETRAINED, code("m.py", """
        import torchvision.models as tvm
        from torchvision.models import ResNet50_Weights
        a = tvm.resnet50(weights="IMAGENET1K_V2")
        w = ResNet50_Weights.DEFAULT
    """))
    assert [(f.code, f.line) for f in findings] == [("NS201", 3), ("NS201", 4)]


def test_hub_downloads_and_from_pretrained_are_reported():
    findings = run(PRETRAINED, code("m.py", """
        import torch
        from transformers import BertModel as B
        net = torch.hub.load("pytorch/vision", "resnet18")
        bert = B.from_pretrained("bert-base-chinese")
        state = torch.load("https://example.org/resnet18.pth")
        net.load_state_dict(torch.load("resnet18-f37072fd.pth"))
    """))
    assert [f.line for f in findings if f.code == "NS201"] == [3, 4, 5, 6]


def test_own_weights_and_false_flags_are_not_pretrained():
    findings = run(PRETRAINED, code("m.py", """
        import numpy as np
        import random
        import torch
        import torch.nn as nn
        import torchvision
        net = torchvision.models.resnet18(pretrained=False, weights=None)
        emb = nn.Embedding.from_pretrained(glove_matrix, freeze=True)
        avg = np.average(x, weights=w)
        pick = random.choices([1, 2], weights=[0.3, 0.7])
        torch.save(net.state_dict(), f"ckpt/epoch_{epoch}.pth")
        net.load_state_dict(torch.load("ckpt/epoch_9.pth"))
    """))
    assert findings == []


def test_loading_a_checkpoint_the_submission_never_saves_is_a_warning():
    train = code("train.py", "import torch\ntorch.save(model.state_dict(), 'best.pth')\n")
    evaluate = code("eval.py", """
        import torch
        model.load_state_dict(torch.load("best.pth"))
        model.load_state_dict(torch.load("vit_base_patch16.pth"))
    """)
    findings = run(PRETRAINED, train, evaluate)
    assert [(f.code, f.severity, f.line) for f in findings] == [("NS203", "warning", 3)]


def test_model_zoo_use_is_reported_where_the_factory_is_used():
    findings = run(ZOO, code("m.py", """
        from torchvision import models as M
        import timm
        import torch.nn as nn
        a = M.vgg16()
        b = timm.create_model("vit_base_patch16_224", num_classes=10)
        c = nn.Linear(3, 4)
    """))
    assert [(f.code, f.line) for f in findings] == [("NS202", 4), ("NS202", 5)]
    assert "torchvision.models.vgg16 (written M.vgg16)" in findings[0].message


def test_model_zoo_through_a_learner_reexport_is_reported():
    helpers = code("utils/nets.py", "import torchvision.models as tvm\n")
    main = code("main.py", "from utils.nets import tvm\nnet = tvm.resnet34()\n")
    findings = run(ZOO, helpers, main)
    assert [(f.path, f.code) for f in findings] == [("main.py", "NS202")]


def test_learner_modules_named_like_zoo_modules_are_not_zoo_models():
    mine = code("models.py", "import torch.nn as nn\nclass CNN(nn.Module):\n    pass\n")
    main = code("main.py", """
        from models import CNN
        import models
        from torchvision import transforms, datasets
        net = CNN()
        other = models.CNN()
        data = datasets.CIFAR10("data", transform=transforms.ToTensor())
    """)
    assert run(ZOO + PRETRAINED, mine, main) == []


def test_allow_list_exempts_a_zoo_pattern():
    rules = 'forbid_model_zoo = { allow = ["torchvision.models.feature_extraction"] }\n'
    findings = run(rules, code("m.py", """
        from torchvision.models.feature_extraction import create_feature_extractor
        f = create_feature_extractor(net, {"layer4": "out"})
    """))
    assert findings == []


def test_a_local_name_that_shadows_an_import_is_not_the_import():
    findings = run(ZOO, code("m.py", """
        from torchvision import models
        def build(models):
            return models.resnet18()
        def pick(zoo):
            for models in zoo:
                models.vgg16()
        net = models.alexnet()
    """))
    assert [(f.code, f.line) for f in findings] == [("NS202", 7)]
