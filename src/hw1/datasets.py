"""The data-set registry: the one place that knows each image data set of the study.

An entry names the data set, its title, its files and how each is verified, its input shape,
its classes, its set sizes, its normalisation and where its files come from (a torchvision
download, or a local folder in torchvision's layout). Every other module — config checks,
model shapes, the workflow's rules, loaders, tables and report — asks this registry, so a
data set of one's own is one :class:`Dataset` entry (README, "How to add a data set").

Torch-free and import-light (the Snakefile reads it at parse time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Formats a loader exists for (hw1.data reads each): gzipped IDX files (MNIST's) and the
# python batch files of CIFAR-10.
FORMATS = ("idx", "cifar")
# The four arrays every prepared data set holds.
ROLES = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DataFile:
    """One file of a data set, and how a copy of it is verified.

    A copy is accepted when the MD5 of the file as stored (``md5``: the one torchvision lists
    for its download) matches, or the SHA-256 of its decompressed content (``sha256``) does —
    a recompressed copy (other gzip bytes, the same data) passes by content.
    """

    name: str
    md5: str
    sha256: str = ""  # of the decompressed content ("" : MD5 only)
    role: str = ""  # which of ROLES it holds (idx); "" for a file of several (cifar batches)


@dataclass(frozen=True)
class Dataset:
    """One image classification data set."""

    name: str  # config name (experiments' `datasets` / `dataset`)
    title: str  # for figures and the report
    format: str  # one of FORMATS
    folder: str  # where its files live under data.root (torchvision's layout)
    files: tuple[DataFile, ...]
    input_shape: tuple[int, int, int]  # channels, height, width
    classes: tuple[str, ...]
    n_train: int
    n_test: int
    mean: tuple[float, ...]  # per channel, of the training images scaled to [0, 1]
    std: tuple[float, ...]
    source: str  # torchvision.datasets class that downloads it ("" : no download)
    about: str = ""  # one sentence: what it is, where the files come from
    archive: str = field(default="")  # the downloaded archive (cifar), for the README

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"data set {self.name!r}: format {self.format!r} not in {FORMATS}")
        if len(self.mean) != self.input_shape[0] or len(self.std) != self.input_shape[0]:
            raise ValueError(
                f"data set {self.name!r}: mean/std need one value per channel "
                f"({self.input_shape[0]})"
            )
        if self.format == "idx" and sorted(f.role for f in self.files) != sorted(ROLES):
            raise ValueError(f"data set {self.name!r}: idx files must cover the roles {ROLES}")

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def file(self, role: str) -> DataFile:
        """The file holding ``role`` (idx data sets)."""
        for f in self.files:
            if f.role == role:
                return f
        raise KeyError(f"data set {self.name!r} has no file for {role!r}")


# The file names torchvision uses for the MNIST-format sets (train images, train labels,
# test images, test labels).
IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _mnist_format(hashes: tuple[tuple[str, str], ...], **fields: Any) -> Dataset:
    """A data set in MNIST's format: the four IDX files of :data:`IDX_NAMES` (``hashes``: MD5
    and SHA-256 of each, in that order), 60,000 training and 10,000 test images of 28x28 grey
    pixels; ``fields``: what else it has."""
    files = tuple(
        DataFile(name, md5, sha, role)
        for name, (md5, sha), role in zip(IDX_NAMES, hashes, ROLES, strict=True)
    )
    shape = {"input_shape": (1, 28, 28), "n_train": 60000, "n_test": 10000}
    return Dataset(format="idx", files=files, **shape, **fields)


MNIST = _mnist_format(
    name="mnist",
    title="MNIST",
    folder="MNIST/raw",
    # MD5s as torchvision lists them (torchvision.datasets.MNIST.resources); SHA-256 of the
    # decompressed official files (computed from ../shared/data/MNIST/raw, whose MD5s match).
    hashes=(
        (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        (
            "d53e105ee54ea40749a09fcbcd1e9432",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        (
            "9fb629c4189551a2d022fa330f9573f3",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        (
            "ec29112dd5afa0611ce80d1b7f02629c",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ),
    classes=tuple(str(d) for d in range(10)),
    mean=(0.1307,),
    std=(0.3081,),
    source="MNIST",
    about="handwritten digits 0-9, 28x28 grey (LeCun et al. 1998)",
)

FASHION_MNIST = _mnist_format(
    name="fashion_mnist",
    title="Fashion-MNIST",
    folder="FashionMNIST/raw",
    # MD5s of torchvision's download (torchvision.datasets.FashionMNIST.resources); SHA-256 of
    # the decompressed files as listed in ../shared/data/FashionMNIST/PROVENANCE.txt (Debian's
    # recompressed copy: other .gz bytes, the same content).
    hashes=(
        (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        (
            "25c81989df183df01b3e8a0aad5dffbe",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        (
            "bef4ecab320f06d8554ea6380940ec79",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        (
            "bb300cfdad3c16e7a12a480ee83cd310",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    ),
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    # training-pixel mean and std as published and checked on the shared copy (PROVENANCE.txt)
    mean=(0.2860,),
    std=(0.3530,),
    source="FashionMNIST",
    about="Zalando clothing images in 10 classes, 28x28 grey (Xiao et al. 2017)",
)

CIFAR10 = Dataset(
    name="cifar10",
    title="CIFAR-10",
    format="cifar",
    folder="cifar-10-batches-py",
    # the python batch files torchvision extracts, with its MD5s (torchvision.datasets.CIFAR10
    # train_list / test_list); no content hashes: no copy was at hand to compute them.
    files=(
        DataFile("data_batch_1", "c99cafc152244af753f735de768cd75f"),
        DataFile("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
        DataFile("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
        DataFile("data_batch_4", "634d18415352ddfa80567beed471001a"),
        DataFile("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
        DataFile("test_batch", "40351d587109b95175f43aff81a1287e"),
    ),
    input_shape=(3, 32, 32),
    classes=(
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    n_train=50000,
    n_test=10000,
    # per-channel training-set statistics in common use (not recomputed here: no copy of the
    # data set is on this machine)
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    source="CIFAR10",
    about="32x32 colour photographs in 10 classes (Krizhevsky 2009); needs a network",
    archive="cifar-10-python.tar.gz (MD5 c58f30108f718f92721af3b95e74349a)",
)

REGISTRY: dict[str, Dataset] = {d.name: d for d in (MNIST, FASHION_MNIST, CIFAR10)}


def names() -> list[str]:
    """Every registered data set, in registry order."""
    return list(REGISTRY)


def is_dataset(name: str) -> bool:
    """True for a registered image data set (anything else a training spec names is a 1-D
    function of the config's ``functions``)."""
    return name in REGISTRY


def get(name: str) -> Dataset:
    """The entry of ``name`` (a KeyError naming the registered sets otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"no data set {name!r} in the registry (hw1.datasets); registered: {names()}"
        ) from None


def title(name: str) -> str:
    """The display title of a data set (the name itself for a 1-D function)."""
    return REGISTRY[name].title if name in REGISTRY else name


def cache_path(name: str) -> str:
    """The prepared (verified, cached) data set the workflow writes."""
    return f"results/data/{name}.pt"


def dataset_of_cache(path: str) -> str:
    """The data set a prepared file holds (:func:`cache_path`'s inverse)."""
    from pathlib import PurePath

    return PurePath(path).stem


def random_labels_path(name: str) -> str:
    """The fixed random training labels of a data set."""
    return f"results/data/{name}{RANDOM_LABELS_SUFFIX}.parquet"


RANDOM_LABELS_SUFFIX = "_random_labels"


def dataset_of_random_labels(path: str) -> str:
    """The data set a random-label file belongs to (:func:`random_labels_path`'s inverse)."""
    from pathlib import PurePath

    stem = PurePath(path).stem
    if not stem.endswith(RANDOM_LABELS_SUFFIX):
        raise ValueError(
            f"{path} is not named like a random-label file "
            f"(<data set>{RANDOM_LABELS_SUFFIX}.parquet)"
        )
    return stem.removesuffix(RANDOM_LABELS_SUFFIX)


def variant_id(data: str, variant: str) -> str:
    """The name of ``variant`` trained on ``data`` (a data set or a 1-D function) in an
    experiment that multiplies its variants with its data: ``<data>-<variant>``."""
    return f"{data}-{variant}"


def base_variant(variant: str, data: str) -> str:
    """The variant's own name: :func:`variant_id`'s inverse (a name without the data prefix
    is returned as it is)."""
    return variant.removeprefix(f"{data}-")


def dataset_of_variant(variant: str) -> str | None:
    """The registered data set a variant name starts with (``<dataset>-<variant>``, from
    :func:`variant_id`), or None."""
    head, sep, _ = variant.partition("-")
    return head if sep and head in REGISTRY else None


def input_shape(data: str) -> tuple[int, ...]:
    """Input shape (no batch dimension): a registered data set's images, or ``(1,)`` for a
    1-D function."""
    return REGISTRY[data].input_shape if data in REGISTRY else (1,)


def n_outputs(data: str) -> int:
    """Classes of a registered data set, or one regression output for a 1-D function."""
    return REGISTRY[data].n_classes if data in REGISTRY else 1


@contextmanager
def registered(entry: Dataset) -> Iterator[Dataset]:
    """``entry`` added to the registry for the duration (tests, and trying out a data set)."""
    if entry.name in REGISTRY:
        raise ValueError(f"data set {entry.name!r} is already registered")
    REGISTRY[entry.name] = entry
    try:
        yield entry
    finally:
        del REGISTRY[entry.name]


def markdown_table() -> str:
    """The README's table of registered data sets (a test keeps the README in step)."""
    lines = [
        "| name | title | input | classes | train / test | files (folder under `data.root`) "
        "| download | what |",
        "|---|---|---|---:|---|---|---|---|",
    ]
    for d in REGISTRY.values():
        shape = "×".join(map(str, d.input_shape))
        check = "MD5 or decompressed SHA-256" if all(f.sha256 for f in d.files) else "MD5"
        lines.append(
            f"| `{d.name}` | {d.title} | {shape} | {d.n_classes} | {d.n_train:,} / {d.n_test:,} "
            f"| {len(d.files)} in `{d.folder}/`, verified by {check} "
            f"| torchvision `{d.source}` | {d.about} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
