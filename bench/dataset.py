"""The labelled Python benchmark, generated from public implementations on PyPI.

Originals are real top-level classes and functions from pinned wheels of `d2l`, `vit-pytorch`,
`labml-nn` and `timm` (each written out as a file of its own, with the imports it uses, the way a
learner would paste it). Positives are (original, plagiarised variant) at levels L1..L6
(`bench.obfuscate`). Negatives are independent solutions of the same task: two implementations of
the same model, layer, optimiser or training loop from different packages (different authors),
listed in `TASK_GROUPS` with the reason for each group. Pairs from the same package are never
used as negatives: vit-pytorch, for one, reuses its own Attention/FeedForward code across files.

Nothing here is committed: wheels are downloaded into `bench/data/` and the generated round into
`bench/out/`; the same seed regenerates the same files.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.obfuscate import LEVELS, obfuscate_all

# Pinned, so that a rerun benchmarks the same code. Bump together with RESULTS.md.
PACKAGES: tuple[tuple[str, str], ...] = (
    ("d2l", "1.0.3"),
    ("vit-pytorch", "1.26.11"),
    ("labml-nn", "0.5.1"),
    ("timm", "1.0.31"),
)
# d2l ships the book's code once per framework (mxnet.py, tensorflow.py, jax.py are
# translations of torch.py by the same authors): only the PyTorch one is used.
_SKIPPED_PATHS = ("d2l/mxnet.py", "d2l/tensorflow.py", "d2l/jax.py")

# A unit shorter than this is mostly signature (a 5-line helper matches everything); longer
# than MAX it is a whole framework class (timm's VisionTransformer is 600 lines), not a piece a
# learner hands in.
MIN_UNIT_LINES = 10
MAX_UNIT_LINES = 300

SOLUTION_FILE = "solution.py"  # every learner folder holds one file, as in a single-file task

# Independent implementations of the same task, by package ("pkg:path/in/wheel.py::Name").
# Every cross-package pair inside a group is a negative. Why each group counts as "same task":
GROUP_REASONS: dict[str, str] = {
    "vit_model": "a complete Vision Transformer classifier (patchify, cls token, encoder, head)",
    "multi_head_attention": "multi-head scaled dot-product self-attention layer",
    "feed_forward": "the transformer's position-wise two-layer MLP",
    "patch_embedding": "image to patch-token embedding",
    "positional_encoding": "fixed sinusoidal position encodings",
    "residual_block": "ResNet basic residual block (two 3x3 convs + shortcut)",
    "bottleneck_block": "ResNet/ResNeXt bottleneck block (1x1, 3x3, 1x1 + shortcut)",
    "transformer_block": "one transformer encoder block (attention + MLP with residuals)",
    "cait_model": "CaiT (class-attention image transformer) model",
    "cait_attention": "CaiT's talking-heads self-attention",
    "layer_scale": "LayerScale (learned per-channel residual scaling)",
    "crossvit_model": "CrossViT dual-branch model",
    "crossvit_cross_attention": "CrossViT's cross-attention between branches",
    "levit_model": "LeViT model",
    "levit_attention": "LeViT's attention with attention biases",
    "pit_model": "PiT (pooling-based vision transformer) model",
    "pit_pooling": "PiT's depth-wise conv token pooling",
    "xcit_attention": "XCiT cross-covariance attention",
    "xcit_local_patch_interaction": "XCiT's local patch interaction (depth-wise convs)",
    "xcit_model": "XCiT model",
    "twins_local_attention": "Twins-SVT locally-grouped (windowed) attention",
    "twins_global_attention": "Twins-SVT global sub-sampled attention",
    "twins_model": "Twins model",
    "nest_model": "NesT (nested hierarchical transformer) model",
    "nest_attention": "NesT block-local attention",
    "mobilevit_block": "MobileViT block (local conv + global transformer + fusion)",
    "mbconv_block": "MBConv inverted-residual block with squeeze-excitation (MaxViT)",
    "squeeze_excitation": "squeeze-and-excitation channel attention",
    "conv_mixer_model": "ConvMixer model",
    "mlp_mixer_block": "MLP-Mixer token/channel mixing",
    "gmlp_gating_unit": "gMLP spatial gating unit",
    "gmlp_block": "gMLP block",
    "adam_optimizer": "Adam/AdamW optimiser step",
    "radam_optimizer": "RAdam optimiser step",
    "adabelief_optimizer": "AdaBelief optimiser step",
    "cosine_lr_schedule": "warm-up + cosine learning-rate decay",
    "layer_norm": "layer normalisation",
    "group_norm": "group normalisation",
    "training_loop": "a supervised training loop (epochs, batches, loss, step, metrics)",
    "stochastic_depth": "stochastic depth: randomly dropping residual branches/layers",
}
TASK_GROUPS: dict[str, tuple[str, ...]] = {
    "vit_model": (
        "vit-pytorch:vit_pytorch/vit.py::ViT",
        "vit-pytorch:vit_pytorch/simple_vit.py::SimpleViT",
        "labml-nn:labml_nn/transformers/vit/__init__.py::VisionTransformer",
    ),
    "multi_head_attention": (
        "d2l:d2l/torch.py::MultiHeadAttention",
        "labml-nn:labml_nn/transformers/mha.py::MultiHeadAttention",
        "timm:timm/layers/attention.py::Attention",
        "vit-pytorch:vit_pytorch/vit.py::Attention",
    ),
    "feed_forward": (
        "d2l:d2l/torch.py::PositionWiseFFN",
        "labml-nn:labml_nn/transformers/feed_forward.py::FeedForward",
        "timm:timm/layers/mlp.py::Mlp",
        "vit-pytorch:vit_pytorch/vit.py::FeedForward",
    ),
    "patch_embedding": (
        "labml-nn:labml_nn/transformers/vit/__init__.py::PatchEmbeddings",
        "timm:timm/layers/patch_embed.py::PatchEmbed",
        "vit-pytorch:vit_pytorch/twins_svt.py::PatchEmbedding",
    ),
    "positional_encoding": (
        "d2l:d2l/torch.py::PositionalEncoding",
        "labml-nn:labml_nn/transformers/positional_encoding.py::get_positional_encoding",
        "timm:timm/layers/pos_embed_sincos.py::build_sincos2d_pos_embed",
        "vit-pytorch:vit_pytorch/simple_vit.py::posemb_sincos_2d",
    ),
    "residual_block": (
        "d2l:d2l/torch.py::Residual",
        "labml-nn:labml_nn/resnet/__init__.py::ResidualBlock",
        "timm:timm/models/resnet.py::BasicBlock",
    ),
    "bottleneck_block": (
        "d2l:d2l/torch.py::ResNeXtBlock",
        "labml-nn:labml_nn/resnet/__init__.py::BottleneckResidualBlock",
        "timm:timm/models/resnet.py::Bottleneck",
    ),
    "transformer_block": (
        "d2l:d2l/torch.py::TransformerEncoderBlock",
        "labml-nn:labml_nn/transformers/models.py::TransformerLayer",
        "timm:timm/models/vision_transformer.py::Block",
        "vit-pytorch:vit_pytorch/vit.py::Transformer",
    ),
    "cait_model": ("vit-pytorch:vit_pytorch/cait.py::CaiT", "timm:timm/models/cait.py::Cait"),
    "cait_attention": (
        "vit-pytorch:vit_pytorch/cait.py::Attention",
        "timm:timm/models/cait.py::TalkingHeadAttn",
    ),
    "layer_scale": (
        "vit-pytorch:vit_pytorch/cait.py::LayerScale",
        "timm:timm/layers/layer_scale.py::LayerScale",
    ),
    "crossvit_model": (
        "vit-pytorch:vit_pytorch/cross_vit.py::CrossViT",
        "timm:timm/models/crossvit.py::CrossVit",
    ),
    "crossvit_cross_attention": (
        "vit-pytorch:vit_pytorch/cross_vit.py::CrossTransformer",
        "timm:timm/models/crossvit.py::CrossAttentionBlock",
    ),
    "levit_model": ("vit-pytorch:vit_pytorch/levit.py::LeViT", "timm:timm/models/levit.py::Levit"),
    "levit_attention": (
        "vit-pytorch:vit_pytorch/levit.py::Attention",
        "timm:timm/models/levit.py::Attention",
    ),
    "pit_model": (
        "vit-pytorch:vit_pytorch/pit.py::PiT",
        "timm:timm/models/pit.py::PoolingVisionTransformer",
    ),
    "pit_pooling": ("vit-pytorch:vit_pytorch/pit.py::Pool", "timm:timm/models/pit.py::Pooling"),
    "xcit_attention": (
        "vit-pytorch:vit_pytorch/xcit.py::XCAttention",
        "timm:timm/models/xcit.py::XCA",
    ),
    "xcit_local_patch_interaction": (
        "vit-pytorch:vit_pytorch/xcit.py::LocalPatchInteraction",
        "timm:timm/models/xcit.py::LPI",
    ),
    "xcit_model": ("vit-pytorch:vit_pytorch/xcit.py::XCiT", "timm:timm/models/xcit.py::Xcit"),
    "twins_local_attention": (
        "vit-pytorch:vit_pytorch/twins_svt.py::LocalAttention",
        "timm:timm/models/twins.py::LocallyGroupedAttn",
    ),
    "twins_global_attention": (
        "vit-pytorch:vit_pytorch/twins_svt.py::GlobalAttention",
        "timm:timm/models/twins.py::GlobalSubSampleAttn",
    ),
    "twins_model": (
        "vit-pytorch:vit_pytorch/twins_svt.py::TwinsSVT",
        "timm:timm/models/twins.py::Twins",
    ),
    "nest_model": ("vit-pytorch:vit_pytorch/nest.py::NesT", "timm:timm/models/nest.py::Nest"),
    "nest_attention": (
        "vit-pytorch:vit_pytorch/nest.py::Attention",
        "timm:timm/models/nest.py::Attention",
    ),
    "mobilevit_block": (
        "vit-pytorch:vit_pytorch/mobile_vit.py::MobileViTBlock",
        "timm:timm/models/mobilevit.py::MobileVitBlock",
    ),
    "mbconv_block": (
        "vit-pytorch:vit_pytorch/max_vit.py::MBConv",
        "timm:timm/models/maxxvit.py::MbConvBlock",
    ),
    "squeeze_excitation": (
        "vit-pytorch:vit_pytorch/max_vit.py::SqueezeExcitation",
        "timm:timm/layers/squeeze_excite.py::SEModule",
    ),
    "conv_mixer_model": (
        "labml-nn:labml_nn/conv_mixer/__init__.py::ConvMixer",
        "timm:timm/models/convmixer.py::ConvMixer",
    ),
    "mlp_mixer_block": (
        "labml-nn:labml_nn/transformers/mlp_mixer/__init__.py::MLPMixer",
        "timm:timm/models/mlp_mixer.py::MixerBlock",
    ),
    "gmlp_gating_unit": (
        "labml-nn:labml_nn/transformers/gmlp/__init__.py::SpacialGatingUnit",
        "timm:timm/models/mlp_mixer.py::SpatialGatingUnit",
    ),
    "gmlp_block": (
        "labml-nn:labml_nn/transformers/gmlp/__init__.py::GMLPBlock",
        "timm:timm/models/mlp_mixer.py::SpatialGatingBlock",
    ),
    "adam_optimizer": (
        "labml-nn:labml_nn/optimizers/adam.py::Adam",
        "timm:timm/optim/adamw.py::AdamWLegacy",
    ),
    "radam_optimizer": (
        "labml-nn:labml_nn/optimizers/radam.py::RAdam",
        "timm:timm/optim/radam.py::RAdamLegacy",
    ),
    "adabelief_optimizer": (
        "labml-nn:labml_nn/optimizers/ada_belief.py::AdaBelief",
        "timm:timm/optim/adabelief.py::AdaBelief",
    ),
    "cosine_lr_schedule": (
        "labml-nn:labml_nn/optimizers/adam_warmup_cosine_decay.py::AdamWarmupCosineDecay",
        "timm:timm/scheduler/cosine_lr.py::CosineLRScheduler",
    ),
    "layer_norm": (
        "labml-nn:labml_nn/normalization/layer_norm/__init__.py::LayerNorm",
        "timm:timm/layers/norm.py::LayerNorm",
    ),
    "group_norm": (
        "labml-nn:labml_nn/normalization/group_norm/__init__.py::GroupNorm",
        "timm:timm/layers/norm.py::GroupNorm",
    ),
    "training_loop": (
        "d2l:d2l/torch.py::train_ch6",
        "d2l:d2l/torch.py::train_ch13",
        "d2l:d2l/torch.py::Trainer",
        "labml-nn:labml_nn/helpers/trainer.py::Trainer",
        "labml-nn:labml_nn/helpers/trainer.py::TrainingLoop",
    ),
    "stochastic_depth": (
        "vit-pytorch:vit_pytorch/cait.py::dropout_layers",
        "timm:timm/layers/drop.py::drop_path",
    ),
}
assert set(TASK_GROUPS) == set(GROUP_REASONS), "every task group needs its reason"


@dataclass(frozen=True)
class Unit:
    """One top-level class or function, written out as a learner's file would hold it."""

    key: str  # "package:path/in/wheel.py::Name"
    package: str
    path: str
    name: str
    text: str
    lines: int


@dataclass
class LabelledPair:
    left: str  # learner folder names
    right: str
    label: int  # 1 plagiarised, 0 independent
    level: str  # "L1".."L6" for positives, "neg" for negatives
    group: str = ""  # the task group of a negative, or the original's key for a positive


@dataclass
class Benchmark:
    round_dir: Path
    pairs: list[LabelledPair]
    originals: list[str]  # unit keys
    skipped: dict[str, str] = field(default_factory=dict)  # unit key -> reason
    unchanged: dict[str, int] = field(default_factory=dict)  # level -> variants equal to level-1

    def to_json(self) -> dict:
        return {
            "round_dir": str(self.round_dir),
            "pairs": [asdict(p) for p in self.pairs],
            "originals": self.originals,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
        }


# ------------------------------------------------------------------------------------------------
# fetching


def fetch_sources(data_dir: Path) -> dict[str, Path]:
    """Download the pinned wheels (`pip download --no-deps`) and unpack their .py files.

    Returns {package: unpacked root}. Already unpacked packages are not fetched again.
    """
    wheels = data_dir / "wheels"
    roots: dict[str, Path] = {}
    for package, version in PACKAGES:
        root = data_dir / "src" / f"{package}-{version}"
        if not (root / ".complete").exists():
            wheel = _download_wheel(package, version, wheels)
            root.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    if member.endswith(".py") and ".dist-info/" not in member:
                        archive.extract(member, root)
            (root / ".complete").write_text(wheel.name + "\n")
        roots[package] = root
    return roots


def _download_wheel(package: str, version: str, wheels: Path) -> Path:
    wheels.mkdir(parents=True, exist_ok=True)
    prefix = package.replace("-", "_").lower() + f"-{version}-"
    found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
    if not found:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--quiet", "--dest", str(wheels), f"{package}=={version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pip download {package}=={version} failed: {done.stderr[-2000:]}")
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
    if not found:
        raise RuntimeError(f"no wheel for {package}=={version} in {wheels}")
    return found[0]


def package_files(roots: dict[str, Path]) -> list[tuple[str, Path]]:
    """(package, file) for every Python file of the pinned packages, in a stable order."""
    out = []
    for package, root in sorted(roots.items()):
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative not in _SKIPPED_PATHS:
                out.append((package, path))
    return out


# ------------------------------------------------------------------------------------------------
# units


def _bound_names(statement: ast.stmt) -> list[str]:
    names = []
    for alias in statement.names:  # type: ignore[attr-defined]
        if alias.name == "*":
            continue
        names.append((alias.asname or alias.name).split(".")[0])
    return names


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def units_of_file(package: str, root: Path, path: Path) -> list[Unit]:
    """Top-level classes/functions of MIN..MAX lines, each prefixed by the imports it uses."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    relative = path.relative_to(root).as_posix()
    units = []
    for node in tree.body:
        if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        count = node.end_lineno - first + 1
        if not MIN_UNIT_LINES <= count <= MAX_UNIT_LINES:
            continue
        used = _used_names(node)
        header = []
        for statement in imports:
            keep = [a for a in statement.names
                    if (a.asname or a.name).split(".")[0] in used and a.name != "*"]
            if keep:
                header.append(ast.unparse(_with_aliases(statement, keep)))
        body = "\n".join(lines[first - 1: node.end_lineno])
        text = ("\n".join(header) + "\n\n\n" if header else "") + body + "\n"
        units.append(Unit(f"{package}:{relative}::{node.name}", package, relative, node.name,
                          text, count))
    return units


def _with_aliases(statement: ast.stmt, aliases: list[ast.alias]) -> ast.stmt:
    if isinstance(statement, ast.ImportFrom):
        return ast.ImportFrom(module=statement.module, names=aliases, level=statement.level)
    return ast.Import(names=aliases)


def all_units(roots: dict[str, Path]) -> dict[str, Unit]:
    """Every unit of every pinned package, exact duplicates (same AST) removed, by key.

    Of a set of duplicates the task-group member is kept (vit-pytorch repeats its Attention
    class verbatim in many files), else the first in path order.
    """
    found = [u for package, path in package_files(roots)
             for u in units_of_file(package, roots[package], path)]
    grouped = {k for keys in TASK_GROUPS.values() for k in keys}
    found.sort(key=lambda u: u.key not in grouped)  # stable: path order otherwise
    out: dict[str, Unit] = {}
    seen: set[str] = set()
    for unit in found:
        fingerprint = hashlib.sha1(_ast_fingerprint(unit.text).encode()).hexdigest()
        if fingerprint in seen or unit.key in out:
            continue
        seen.add(fingerprint)
        out[unit.key] = unit
    return dict(sorted(out.items()))


def _ast_fingerprint(text: str) -> str:
    tree = ast.parse(text)
    body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    return "\n".join(ast.dump(s) for s in body)


# ------------------------------------------------------------------------------------------------
# the benchmark round


def negative_pairs(groups: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(unit a, unit b, group) for every cross-package pair inside every task group."""
    out = []
    for group, keys in groups.items():
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if a.split(":", 1)[0] != b.split(":", 1)[0]:
                    out.append((a, b, group))
    return out


def choose_originals(
    units: dict[str, Unit], n_originals: int, n_groups: int | None, seed: int
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Every unit of the first `n_groups` task groups, then random units, package-balanced."""
    groups = dict(list(TASK_GROUPS.items())[:n_groups] if n_groups else TASK_GROUPS.items())
    missing = [k for keys in groups.values() for k in keys if k not in units]
    if missing:
        raise RuntimeError(
            "task-group units not found in the pinned wheels (renamed, resized past "
            f"MIN/MAX_UNIT_LINES, or deduplicated): {missing}"
        )
    chosen = list(dict.fromkeys(k for keys in groups.values() for k in keys))
    rng = random.Random(f"{seed}/originals")
    by_package: dict[str, list[str]] = {}
    for key in sorted(units):
        if key not in chosen:
            by_package.setdefault(units[key].package, []).append(key)
    for keys in by_package.values():
        rng.shuffle(keys)
    packages = sorted(by_package)
    turn = 0
    while len(chosen) < n_originals and any(by_package.values()):
        pool = by_package[packages[turn % len(packages)]]
        if pool:
            chosen.append(pool.pop())
        turn += 1
    return chosen, groups


def build_benchmark(
    units: dict[str, Unit],
    out_dir: Path,
    n_originals: int,
    seed: int,
    n_groups: int | None = None,
) -> Benchmark:
    """Write the round (one learner folder per file) and return its labelled pairs."""
    originals, groups = choose_originals(units, n_originals, n_groups, seed)
    round_dir = out_dir / "round"
    round_dir.mkdir(parents=True, exist_ok=True)
    learner_of: dict[str, str] = {}
    pairs: list[LabelledPair] = []
    skipped: dict[str, str] = {}
    unchanged = {f"L{k}": 0 for k in LEVELS}
    for index, key in enumerate(originals):
        unit = units[key]
        try:
            variants = obfuscate_all(unit.text, seed=seed + index)
            for text in variants.values():
                compile(text, key, "exec")  # never ship a variant that is not Python
        except Exception as error:  # noqa: BLE001 - one bad original must not stop the bench
            skipped[key] = f"{type(error).__name__}: {str(error)[:200]}"
            continue
        learner = f"o{index:03d}"
        learner_of[key] = learner
        _write(round_dir / learner / SOLUTION_FILE, unit.text)
        previous = unit.text
        for level, text in variants.items():
            variant = f"{learner}-L{level}"
            _write(round_dir / variant / SOLUTION_FILE, text)
            pairs.append(LabelledPair(learner, variant, 1, f"L{level}", key))
            if text == previous:
                unchanged[f"L{level}"] += 1
            previous = text
    for a, b, group in negative_pairs(groups):
        if a in learner_of and b in learner_of:
            pairs.append(LabelledPair(learner_of[a], learner_of[b], 0, "neg", group))
    benchmark = Benchmark(round_dir, pairs, [k for k in originals if k in learner_of],
                          skipped, unchanged)
    (out_dir / "labels.json").write_text(json.dumps(benchmark.to_json(), indent=1))
    return benchmark


# Variants of one unit are made afresh (another seed) once every unit has been used: the four
# wheels hold 616 files and 2,910 units, about 21,000 files with their six variants each, and the
# 30,000-file speed round needs more. A pass adds the six variants only (a second copy of the
# original would be an exact duplicate, which no learner round holds in thousands).
SPEED_MAX_PASSES = 8
# Units obfuscated per task handed to a worker (each takes ~30 ms): large enough to keep the pipe
# quiet, small enough that few are done past the size asked for.
_SPEED_CHUNK = 16


def speed_pool(roots: dict[str, Path], units: dict[str, Unit], size: int,
               seed: int, jobs: int = 1) -> list[tuple[str, str]]:
    """(file name, text) for a speed corpus: every real package file plus generated variants.

    Returned in a seeded order, so that the first N of it is the corpus for size N and the
    corpora for growing N are nested (the growth curve measures N, not a change of mix). Up to
    about 21,000 files the pool is the one earlier runs used (same names, texts and order); past
    that, further passes over the units add variants made with other seeds. `jobs` > 1 obfuscates
    in that many forked processes; the result does not depend on it.
    """
    files: list[tuple[str, str]] = []
    for package, path in package_files(roots):
        text = path.read_text(encoding="utf-8", errors="replace")
        files.append((f"{package}_{path.stem}.py", text))
    rng = random.Random(f"{seed}/speed")
    keys = sorted(units)
    rng.shuffle(keys)
    for p in range(SPEED_MAX_PASSES):
        if len(files) >= size:
            break
        offset = 10_000 + 100_000 * p  # pass 0: the seeds earlier runs used
        jobs_in = ((units[key].text, seed + offset + index) for index, key in enumerate(keys))
        for index, variants in enumerate(_obfuscated(jobs_in, jobs)):
            if len(files) >= size:
                break
            if variants is None:  # what the generator cannot handle is skipped
                continue
            if p == 0:
                files.append((f"unit{index}.py", units[keys[index]].text))
            tag = f"unit{index}" if p == 0 else f"unit{index}_p{p}"
            files.extend((f"{tag}_L{level}.py", text) for level, text in variants.items())
    rng.shuffle(files)
    return files[:size]


def _obfuscate_job(job: tuple[str, int]) -> dict[int, str] | None:
    try:
        return obfuscate_all(job[0], seed=job[1])
    except Exception:  # noqa: BLE001 - one unit the generator cannot handle is skipped
        return None


def _obfuscated(jobs_in, jobs: int):
    """obfuscate_all over (text, seed) in order, in `jobs` forked processes (lazily: the caller
    stops when it has enough)."""
    if jobs <= 1:
        yield from map(_obfuscate_job, jobs_in)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_obfuscate_job, jobs_in, chunksize=_SPEED_CHUNK)


def cached_speed_pool(data_dir: Path, roots: dict[str, Path], units: dict[str, Unit], size: int,
                      seed: int, jobs: int = 1) -> tuple[list[tuple[str, str]], bool]:
    """speed_pool(), kept in DATA_DIR/speed-pools/ (ignored by git) under a key of everything it
    depends on: the seed, the size, the units and package files it draws from, its own source
    and the obfuscator's. Returns (pool, True when it came from the cache)."""
    import inspect

    digest = hashlib.sha256(repr((seed, size, SPEED_MAX_PASSES)).encode())
    digest.update(inspect.getsource(speed_pool).encode())
    digest.update((Path(__file__).parent / "obfuscate.py").read_bytes())
    for package, path in package_files(roots):
        digest.update(f"{package}/{path.name}\0".encode() + path.read_bytes())
    for key in sorted(units):
        digest.update(f"{key}\0{units[key].text}\0".encode())
    path = data_dir / "speed-pools" / f"seed{seed}-n{size}-{digest.hexdigest()[:16]}.json.gz"
    if path.exists():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return [(name, text) for name, text in json.load(handle)], True
        except (OSError, ValueError, EOFError):
            path.unlink(missing_ok=True)  # a torn or stale file: made again below
    pool = speed_pool(roots, units, size, seed, jobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"seed{seed}-n{size}-*.json.gz"):  # made by older generators
        stale.unlink(missing_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=3) as handle:
        json.dump(pool, handle)
    os.replace(partial, path)
    return pool, False


def write_round(files: list[tuple[str, str]], round_dir: Path) -> list[Path]:
    """One learner folder per file (so every pair is comparable); returns the file paths."""
    paths = []
    for index, (name, text) in enumerate(files):
        path = round_dir / f"s{index:04d}" / name
        _write(path, text)
        paths.append(path)
    return paths


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
