"""The rule catalogue: every stable rule code with its title, default severity and documentation.

Codes are stable strings: reports, SARIF files and `[rules.severity]` tables refer to them, so a
code is never renumbered or reused. `checker rules` prints this table; `docs/task-file.md` shows
each rule with a full task-file example.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class RuleDoc:
    code: str
    title: str  # short kebab-case name, also the SARIF rule name
    severity: str  # default; a task file may change it in [rules.severity]
    doc: str  # what is checked and why, in words a mentor can read out
    example: str  # a task-file line and code that triggers the rule
    key: str = ""  # the [rules] key that enables it ("" = always on)

    def to_dict(self) -> dict:
        return asdict(self)


_DOCS = (
    RuleDoc(
        "NS000", "unparsable", "warning",
        "A code file (or a notebook's code cells) that libCST cannot parse: Python 2, a syntax "
        "error, a half-saved file. No other rule can look inside it, so a mentor should open it. "
        "Notebook magics (`%matplotlib`, `!pip`) are blanked before giving up.",
        "print \"hello\"   # Python 2",
    ),
    RuleDoc(
        "NS101", "forbidden-import", "error",
        "An import of a module the task forbids, under any alias or spelling: `import d2l`, "
        "`from d2l import torch as d2l`, `import timm.models as tm`, the dynamic forms "
        "`__import__(\"timm\")` and `importlib.import_module(\"timm\")`, and an import of a "
        "learner module that re-exports the forbidden one (`from utils import d2l`).",
        'forbid_imports = ["d2l", "timm"]\n---\nfrom d2l import torch as d2l',
        "forbid_imports",
    ),
    RuleDoc(
        "NS102", "forbidden-module-use", "error",
        "Use of a forbidden module through an allowed parent import: with `torchvision.models` "
        "forbidden, `import torchvision` is fine but `torchvision.models.resnet18()` is not.",
        'forbid_imports = ["torchvision.models"]\n---\nimport torchvision\nnet = torchvision.models.vgg11()',
        "forbid_imports",
    ),
    RuleDoc(
        "NS103", "forbidden-call", "error",
        "A call of a forbidden function or class, resolved through aliases (`from os import "
        "system as run; run(...)` is `os.system`). Builtins are named bare (`eval`).",
        'forbid_calls = ["eval", "numpy.vectorize"]\n---\nimport numpy as np\nf = np.vectorize(g)',
        "forbid_calls",
    ),
    RuleDoc(
        "NS201", "pretrained-weights", "error",
        "Pretrained weights: `pretrained=True` (or a truthy literal) in any call, a non-literal "
        "`pretrained=`/`weights=` argument or a non-None `weights=` given to a model-zoo factory, "
        "a torchvision `*_Weights` enum, `.from_pretrained(...)` (except `nn.Embedding` / "
        "`nn.EmbeddingBag.from_pretrained`, which take a tensor the learner built), "
        "`torch.hub.load`, `load_state_dict_from_url`, Hugging Face hub downloads, and "
        "`torch.load` of a URL or of a published weights file (`resnet18-f37072fd.pth`).",
        'forbid_pretrained = true\n---\nnet = torchvision.models.resnet18(pretrained=True)',
        "forbid_pretrained",
    ),
    RuleDoc(
        "NS202", "model-zoo", "error",
        "A ready-made architecture from a model zoo instead of the learner's own network: "
        "torchvision.models (classification, detection, segmentation), timm.create_model, "
        "torch.hub, transformers / Hugging Face model classes, keras.applications, "
        "segmentation_models_pytorch, ultralytics YOLO and others (defaults.MODEL_ZOO_PATTERNS). "
        "Reported where the factory is used, not where it is imported.",
        'forbid_model_zoo = true\n---\nfrom torchvision import models as M\nnet = M.resnet18()',
        "forbid_model_zoo",
    ),
    RuleDoc(
        "NS203", "foreign-checkpoint", "warning",
        "`torch.load` of a literal path this submission never writes (no `torch.save` to a file of "
        "that name) in a file that calls `load_state_dict`: the weights may have been downloaded "
        "rather than trained. A warning, because the file may be the learner's own earlier run.",
        'forbid_pretrained = true\n---\nnet.load_state_dict(torch.load("best_vit.pth"))',
        "forbid_pretrained",
    ),
    RuleDoc(
        "NS301", "explicit-loop", "error",
        "An explicit `for` or `while` loop (also `async for`) where the task asks for vectorised "
        "code, limited to the files and functions named in `forbid_loops`.",
        'forbid_loops = { files = ["**/broadcast*/**"] }\n---\nfor i in range(5):\n    d[i] = np.sqrt(((a[i] - b) ** 2).sum(1))',
        "forbid_loops",
    ),
    RuleDoc(
        "NS302", "hidden-loop", "warning",
        "A Python-level loop in another form: a list/set/dict comprehension, a generator "
        "expression, `numpy.vectorize`, `numpy.frompyfunc` or `numpy.apply_along_axis`. A warning: "
        "some tasks forbid only `for`/`while` statements. `comprehensions = false` turns it off.",
        'forbid_loops = true\n---\nd = np.array([np.linalg.norm(a - p) for p in b])',
        "forbid_loops",
    ),
    RuleDoc(
        "NS401", "required-layer-missing", "error",
        "No code file uses any of the required layers: a call or reference whose last name "
        "part is one of the alternatives (`nn.LSTM`, `torch.nn.GRU`, `keras.layers.LSTM`) or a "
        "class the learner wrote with that name. Reported once per requirement, for the "
        "submission as a whole.",
        'require_layers = ["LSTM|GRU"]\n---\n(a submission whose models are all CNNs)',
        "require_layers",
    ),
    RuleDoc(
        "NS501", "param-budget-static", "error",
        "A model class whose static parameter estimate exceeds `max_params`. The estimate sums "
        "torch.nn layer constructors in `__init__` (Linear, Conv*, BatchNorm*, LSTM/GRU/RNN, "
        "Embedding, MultiheadAttention, Transformer layers, nn.Parameter) whose shapes are "
        "literals, constants, defaults or arguments of a literal instantiation; layers it cannot "
        "size are left out, so the estimate is a lower bound and only an over-budget lower bound "
        "is reported.",
        'max_params = 20_000_000\n---\nself.fc = nn.Linear(65536, 4096)',
        "max_params",
    ),
    RuleDoc(
        "NS502", "param-budget-checkpoint", "error",
        "A submitted checkpoint (`.pt`, `.pth`, `.ckpt`, `.safetensors`) whose parameter tensors "
        "add up to more than `max_params` (exact; BatchNorm running statistics and optimizer "
        "state are not parameters). Loaded with `torch.load(weights_only=True)`, never unpickling "
        "learner objects.",
        'max_params = "20M"\n---\n(model.pth holding 25,000,000 parameters)',
        "max_params",
    ),
    RuleDoc(
        "NS503", "param-count", "info",
        "The parameter count found for each model class (static estimate, with how many layers "
        "could not be sized) and each checkpoint, so a mentor sees the figure even when it is "
        "within budget.",
        'max_params = 20_000_000\n---\nclass Net(nn.Module): ...',
        "max_params",
    ),
    RuleDoc(
        "NS504", "checkpoint-unreadable", "warning",
        "A checkpoint that cannot be counted safely: a pickled whole model (needs the learner's "
        "classes, which the checker never imports), a corrupt or oversized file.",
        'max_params = 20_000_000\n---\ntorch.save(model, "model.pth")   # whole object, not a state_dict',
        "max_params",
    ),
    RuleDoc(
        "NS601", "missing-type-hints", "warning",
        "A function whose parameters (other than self/cls) or return value carry no annotation "
        "where the task asks for type hints. A file with no hints at all gets one finding "
        "instead of one per function.",
        'require_type_hints = true\n---\ndef attack(self, target):\n    ...',
        "require_type_hints",
    ),
    RuleDoc(
        "NS701", "required-file-missing", "error",
        "None of the alternative globs of a required file matches in the learner folder: a "
        "notes folder, plots of the training curves, a README.",
        'require_files = [{ glob = "**/*.md|**/*.ipynb", description = "learning notes" }]\n---\n(no notes)',
        "require_files",
    ),
    RuleDoc(
        "NS702", "forbidden-file-present", "warning",
        "A file the task says must not be handed in (virtual environments, IDE folders, "
        "downloaded datasets) is present.",
        'forbid_files = [".idea/|venv/|.venv/"]\n---\n(.idea/workspace.xml present)',
        "forbid_files",
    ),
    RuleDoc(
        "NS801", "attributed-code", "info",
        "Code the learner marked as taken from an LLM or another source (`# reference from "
        "ChatGPT`, `# 来自 DeepSeek`, a URL after 'reference'): shown so that matches against "
        "it read as attributed, not hidden.",
        'require_attribution = true\n---\n# reference from ChatGPT\ndef softmax(x): ...',
        "require_attribution",
    ),
    RuleDoc(
        "NS802", "llm-use-unattributed", "warning",
        "The notes (or a file name, or a comment) say an LLM helped write the work, yet no code "
        "file carries an attribution comment. The programme asks learners to mark LLM-generated "
        "code with a reference comment.",
        'require_attribution = true\n---\nnotes.md: "这部分代码是让 ChatGPT 帮我写的" and no "# reference from ChatGPT" anywhere',
        "require_attribution",
    ),
)

RULES: dict[str, RuleDoc] = {d.code: d for d in _DOCS}
