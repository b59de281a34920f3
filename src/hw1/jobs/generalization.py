"""Part 1-3 analyses of trained runs: interpolation paths, input sensitivity, sharpness.

These functions glue the tested analysis library (:mod:`hw1.analysis.interpolation`,
:mod:`hw1.analysis.sensitivity`, :mod:`hw1.analysis.sharpness`) to the run files written by
training: they read a run's final weights, rebuild its network exactly as trained and
evaluate it on the (device-resident) data of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from hw1 import datasets
from hw1.analysis.common import load_weights
from hw1.analysis.interpolation import interpolate
from hw1.analysis.sensitivity import mean_sensitivity
from hw1.analysis.sharpness import eps_sharpness, keskar_sharpness, top_hessian_eigenvalue
from hw1.engine import Data, evaluate_flat, model_spec, resolve_device
from hw1.grids import alpha_grid
from hw1.io import read_parquet
from hw1.jobs.train import load_data
from hw1.models import ParamLayout, build_model, flat_loss_fn, unflatten
from hw1.runlog import Progress
from hw1.runs import describe, run_meta, schedule_text, sort_by_dataset, weights_matrix
from hw1.trainspec import TrainSpec

log = logging.getLogger("hw1.jobs.generalization")


def final_thetas(path: str) -> tuple[TrainSpec, ParamLayout, dict[int, Tensor]]:
    """``(spec, layout, {seed: flat final weights})`` of one run's weights file."""

    spec, layout, rows = load_weights(path)
    final = rows[rows["epoch"] == spec.epochs]
    if final.empty:
        raise ValueError(f"{path} holds no weights of the final epoch {spec.epochs}")
    mat = torch.from_numpy(weights_matrix(final))
    return spec, layout, {int(s): mat[i] for i, s in enumerate(final["seed"])}


def run_data(
    spec: TrainSpec, data: str, data_cfg: Mapping[str, Any], device: str | torch.device
) -> Data:
    """The tensors of the image data set ``spec`` was trained on (``data``: its prepared
    file; true labels only)."""

    if spec.labels != "true":
        raise ValueError(
            f"{spec.experiment}/{spec.variant} was trained on {spec.labels} labels; "
            "these analyses expect true labels"
        )
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return load_data(spec, {"data": data}, data_cfg, dev)


def data_files(paths: Sequence[str]) -> dict[str, str]:
    """Prepared data-set files by data-set name (:func:`hw1.datasets.cache_path`)."""
    return {datasets.dataset_of_cache(p): p for p in paths}


def interpolation_path(
    spec: TrainSpec,
    theta1: Tensor,
    theta2: Tensor,
    alphas: Sequence[float],
    data: Data,
    *,
    alpha_batch: int = 8,
) -> pd.DataFrame:
    """Full-set train and test loss and accuracy of ``θ(α) = (1 − α) θ1 + α θ2`` for each α.

    The points of the path are built by :func:`~hw1.analysis.interpolation.interpolate`
    (bit-exact models at α = 0 and 1) and evaluated ``alpha_batch`` at a time as one stacked
    ensemble, in chunks of the spec's ``eval_batch_size`` exactly as during training, so at
    α = 0 and 1 the numbers are the run's own final metrics. Columns: alpha, split, loss,
    accuracy (one row per α × split, α in the given order, train before test).
    """
    if theta1.shape != theta2.shape:
        raise ValueError(f"models differ in size: {theta1.shape[0]} vs {theta2.shape[0]}")
    alphas = [float(a) for a in alphas]
    res: dict[str, tuple[list[float], list[float]]] = {"train": ([], []), "test": ([], [])}
    for start in range(0, len(alphas), alpha_batch):
        group = alphas[start : start + alpha_batch]
        thetas = torch.stack([interpolate(theta1, theta2, a) for a in group])
        for split, x, y in (
            ("train", data.x_train, data.y_train),
            ("test", data.x_test, data.y_test),
        ):
            loss, acc = evaluate_flat(spec, thetas, x, y, chunk=spec.eval_batch_size)
            res[split][0].extend(loss.cpu().tolist())
            res[split][1].extend(acc.cpu().tolist())
    rows = [
        {"alpha": a, "split": split, "loss": res[split][0][i], "accuracy": res[split][1][i]}
        for i, a in enumerate(alphas)
        for split in ("train", "test")
    ]
    return pd.DataFrame(rows, columns=["alpha", "split", "loss", "accuracy"])


def interpolation_pairs(
    pairs: Mapping[str, Sequence[str]],
    weights: Sequence[str],
    data: Sequence[str],
    data_cfg: Mapping[str, Any],
    *,
    seed: int,
    alpha: Mapping[str, Any],
    alpha_batch: int,
    device: str = "cpu",
) -> pd.DataFrame:
    """Interpolation table of every pair ``name -> [variant at α=0, variant at α=1]`` on
    every data set the weights were trained on (``data``: the prepared data-set files).

    Columns: dataset, pair, model1, model2, alpha, split, loss, accuracy, seed, epochs.
    """
    alphas = alpha_grid(alpha["start"], alpha["stop"], alpha["steps"])
    files = data_files(data)
    by_variant: dict[str, dict[str, str]] = {}
    for p in weights:
        spec = run_meta(p)["spec"]
        ds = spec["dataset"]
        by_variant.setdefault(ds, {})[datasets.base_variant(spec["variant"], ds)] = p
    frames = []
    progress = Progress("interpolation paths", len(by_variant) * len(pairs))
    for ds, runs in by_variant.items():
        tensors: Data | None = None
        for name, (v1, v2) in pairs.items():
            missing = [v for v in (v1, v2) if v not in runs]
            if missing:
                raise KeyError(f"pair {name!r} on {ds}: no weights file of variant(s) {missing}")
            s1, l1, th1 = final_thetas(runs[v1])
            s2, l2, th2 = final_thetas(runs[v2])
            if l1 != l2 or dict(s1.model) != dict(s2.model):
                raise ValueError(f"pair {name!r}: {v1} and {v2} are different architectures")
            if s1.epochs != s2.epochs:
                raise ValueError(
                    f"pair {name!r}: {v1} trained {s1.epochs} epochs, {v2} {s2.epochs}; "
                    "the comparison needs an equal budget"
                )
            for v, th in ((v1, th1), (v2, th2)):
                if seed not in th:
                    raise KeyError(
                        f"pair {name!r}: variant {v} has no seed {seed} (has {sorted(th)})"
                    )
            if tensors is None:
                tensors = run_data(s1, files[ds], data_cfg, device)
            log.info(
                "interpolating pair %s on %s: %s -> %s, %d alphas", name, ds, v1, v2, len(alphas)
            )
            df = interpolation_path(
                s1, th1[seed], th2[seed], alphas, tensors, alpha_batch=alpha_batch
            )
            progress.update(len(frames) + 1, f"{ds} {name}")
            df.insert(0, "dataset", ds)
            df.insert(1, "pair", name)
            df.insert(2, "model1", v1)
            df.insert(3, "model2", v2)
            df["seed"] = seed
            df["epochs"] = s1.epochs
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def network_at(spec: TrainSpec, layout: ParamLayout, theta: Tensor, data: Data) -> nn.Module:
    """The trained network of ``spec`` with flat parameters ``theta``, in eval mode."""
    net = build_model(model_spec(spec, data.input_shape))
    if ParamLayout.of(net) != layout:
        raise ValueError(f"{spec.experiment}/{spec.variant}: stored layout differs from the model")
    net.load_state_dict({k: v.clone() for k, v in unflatten(theta, layout).items()})
    if len(data.input_shape) == 3:  # conv nets: channels-last weights, as the inputs
        net = net.to(memory_format=torch.channels_last)
    return net.to(data.x_test.device).eval()


def flatness_measures(
    spec: TrainSpec,
    layout: ParamLayout,
    theta: Tensor,
    data: Data,
    *,
    sensitivity: Mapping[str, Any],
    sharpness: Mapping[str, Any] | None,
) -> dict[str, float]:
    """Sensitivity (mean over the first ``test_examples`` test examples of the Frobenius norm
    of d softmax / d input), Keskar ε-sharpness and top Hessian eigenvalue of the training
    loss over the first ``train_examples`` training examples, of one trained model."""
    net = network_at(spec, layout, theta, data)
    n_te = sensitivity["test_examples"] or data.x_test.shape[0]
    out = {
        "sensitivity": mean_sensitivity(net, data.x_test[:n_te], chunk=int(sensitivity["chunk"]))
    }
    if sharpness is None:
        return out
    n_tr = sharpness["train_examples"] or data.x_train.shape[0]
    x, y = data.x_train[:n_tr], data.y_train[:n_tr]
    if x.dim() == 4:  # channels-last images: faster convolutions on the CPU
        x = x.contiguous(memory_format=torch.channels_last)
    f = flat_loss_fn(net)
    th = theta.to(x.device)

    def loss_fn(t: Tensor) -> Tensor:
        return f(t, x, y)

    seed = int(sharpness["seed"])
    out["sharpness"] = eps_sharpness(
        loss_fn,
        th,
        float(sharpness["eps"]),
        steps=int(sharpness["steps"]),
        lr=float(sharpness["step_lr"]),
        init="random",
        generator=torch.Generator().manual_seed(seed),
    )
    out["top_eigenvalue"] = top_hessian_eigenvalue(
        loss_fn,
        th,
        iters=int(sharpness["hessian_iters"]),
        tol=float(sharpness["hessian_tol"]),
        generator=torch.Generator().manual_seed(seed + 1),
    )
    return out


def flatness_table(
    metrics: Sequence[str],
    weights: Sequence[str],
    data: Sequence[str],
    data_cfg: Mapping[str, Any],
    *,
    sensitivity: Mapping[str, Any],
    sharpness: Mapping[str, Any] | None,
    device: str = "cpu",
) -> pd.DataFrame:
    """One row per run (data set x variant x seed) x split: final loss and accuracy (from the
    run's metrics), batch size, and the run's sensitivity, sharpness and top eigenvalue (the
    same on both split rows). Also the settings the caption states. ``data``: the prepared
    data-set files the runs were trained on."""
    files = data_files(data)
    finals = {}
    for p in metrics:
        meta = run_meta(p)
        df = read_parquet(p)
        finals[meta["spec"]["variant"]] = df[df["epoch"] == meta["spec"]["epochs"]]
    rows = []
    tensors: dict[str, Data] = {}
    n_models = sum(len(run_meta(p)["spec"]["seeds"]) for p in weights)
    progress = Progress("flatness: models measured", n_models, interval=30.0)
    for p in weights:
        spec, layout, thetas = final_thetas(p)
        if spec.variant not in finals:
            raise KeyError(f"no metrics file of variant {spec.variant!r} (weights {p})")
        if spec.dataset not in tensors:
            tensors = {spec.dataset: run_data(spec, files[spec.dataset], data_cfg, device)}
        data = tensors[spec.dataset]
        n_te = min(sensitivity["test_examples"] or data.x_test.shape[0], data.x_test.shape[0])
        n_tr = min(
            (sharpness["train_examples"] if sharpness else None) or data.x_train.shape[0],
            data.x_train.shape[0],
        )
        fin = finals[spec.variant]
        for seed, theta in thetas.items():
            log.info("flatness of %s seed %d", spec.variant, seed)
            meas = flatness_measures(
                spec, layout, theta, data, sensitivity=sensitivity, sharpness=sharpness
            )
            progress.update(len(rows) // 2 + 1, f"{spec.variant} seed {seed}")
            for split in ("train", "test"):
                r = fin[(fin["seed"] == seed) & (fin["split"] == split)]
                if len(r) != 1:
                    raise ValueError(f"{spec.variant}: no final {split} metrics of seed {seed}")
                rows.append(
                    {
                        "dataset": spec.dataset,
                        "variant": datasets.base_variant(spec.variant, spec.dataset),
                        "batch_size": spec.batch_size,
                        "seed": seed,
                        "split": split,
                        "loss": float(r["loss"].iloc[0]),
                        "accuracy": float(r["accuracy"].iloc[0]),
                        "diverged": bool(r["diverged"].iloc[0]),
                        "sensitivity": meas["sensitivity"],
                        "sharpness": meas.get("sharpness", np.nan),
                        "top_eigenvalue": meas.get("top_eigenvalue", np.nan),
                        "model": describe(spec.to_dict()),
                        "params": layout.n_params,
                        "optimizer": spec.optimizer,
                        "lr": spec.lr,
                        "epochs": spec.epochs,
                        "sensitivity_examples": n_te,
                        "test_size": data.x_test.shape[0],
                        "sharpness_examples": n_tr,
                        "train_size": data.x_train.shape[0],
                        "eps": float(sharpness["eps"]) if sharpness else np.nan,
                    }
                )
    return sort_by_dataset(pd.DataFrame(rows), ["batch_size", "seed", "split"])


def interpolation_job(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss and accuracy along θ(α) between the two models of every configured pair on every
    data set (``inputs``: weights, data; ``params``: pairs, seed, alpha, alpha_batch,
    data_cfg, device). Columns: dataset, pair, model1, model2, alpha, split, loss, accuracy,
    seed, epochs, label1, label2 (the two models' training settings), model."""
    df = interpolation_pairs(
        params["pairs"],
        inputs["weights"],
        inputs["data"],
        params["data_cfg"],
        seed=int(params["seed"]),
        alpha=params["alpha"],
        alpha_batch=int(params["alpha_batch"]),
        device=params["device"],
    )
    labels = {}
    for p in inputs["weights"]:
        spec = run_meta(p)["spec"]
        key = (spec["dataset"], datasets.base_variant(spec["variant"], spec["dataset"]))
        labels[key] = f"batch {spec['batch_size']}, {schedule_text(spec)}"
    for col in ("1", "2"):
        df["label" + col] = [labels[k] for k in zip(df["dataset"], df["model" + col], strict=True)]
    df["model"] = describe(run_meta(inputs["weights"][0])["spec"])
    return df


def flatness_job(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`flatness_table` of a job's inputs (metrics, weights, data) and params
    (sensitivity, sharpness, data_cfg, device)."""
    return flatness_table(
        inputs["metrics"],
        inputs["weights"],
        inputs["data"],
        params["data_cfg"],
        sensitivity=params["sensitivity"],
        sharpness=params["sharpness"],
        device=params["device"],
    )


def keskar_job(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Keskar et al.'s Metric 2.1 at every final minimum of the ``keskar`` runs (``inputs``:
    metrics, weights, data; ``params``: ``sharpness`` — eps list, subspace, iterations,
    train_examples, ascent_steps, ascent_lr, seed — data_cfg, device): per model and ε, the
    L-BFGS-B maximum in the full space and in a random subspace, and our projected ascent in
    the full space, all of the same training loss. One row per dataset x variant x seed x
    ε x (method, space); the model's final metrics and epochs trained on every row."""
    cfg = params["sharpness"]
    files = data_files(inputs["data"])
    finals = {}
    for p in inputs["metrics"]:
        spec = run_meta(p)["spec"]
        df = read_parquet(p)
        finals[spec["variant"]] = df[df["epoch"] == spec["epochs"]].set_index(["seed", "split"])
    rows = []
    tensors: dict[str, Data] = {}
    n_models = sum(len(f.index.unique("seed")) for f in finals.values())
    progress = Progress("keskar sharpness: models measured", n_models, interval=30.0)
    done = 0
    for p in inputs["weights"]:
        spec, layout, thetas = final_thetas(p)
        if spec.dataset not in tensors:
            tensors = {spec.dataset: run_data(spec, files[spec.dataset], params["data_cfg"],
                                              params["device"])}  # fmt: skip
        data = tensors[spec.dataset]
        n_tr = min(cfg["train_examples"] or data.x_train.shape[0], data.x_train.shape[0])
        x, y = data.x_train[:n_tr], data.y_train[:n_tr]
        fin = finals[spec.variant]
        for seed, theta in thetas.items():
            f = flat_loss_fn(network_at(spec, layout, theta, data))
            th = theta.to(x.device)

            def loss_fn(t: Tensor, f=f, x=x, y=y) -> Tensor:
                return f(t, x, y)

            gen = torch.Generator().manual_seed(int(cfg["seed"]) + 7919 * seed)
            for eps in cfg["eps"]:
                values = {
                    ("L-BFGS-B", "full"): keskar_sharpness(
                        loss_fn, th, eps, iterations=cfg["iterations"], generator=gen
                    ),
                    ("L-BFGS-B", "subspace"): keskar_sharpness(
                        loss_fn, th, eps, subspace=cfg["subspace"],
                        iterations=cfg["iterations"], generator=gen,
                    ),
                    ("projected ascent", "full"): eps_sharpness(
                        loss_fn, th, eps, steps=cfg["ascent_steps"], lr=cfg["ascent_lr"],
                        init="random", generator=gen,
                    ),
                }  # fmt: skip
                for (method, space), value in values.items():
                    rows.append(
                        {
                            "dataset": spec.dataset,
                            "variant": datasets.base_variant(spec.variant, spec.dataset),
                            "batch_size": spec.batch_size,
                            "seed": seed,
                            "epochs": spec.epochs,
                            "train_loss": float(fin.loc[(seed, "train"), "loss"]),
                            "train_accuracy": float(fin.loc[(seed, "train"), "accuracy"]),
                            "test_loss": float(fin.loc[(seed, "test"), "loss"]),
                            "test_accuracy": float(fin.loc[(seed, "test"), "accuracy"]),
                            "eps": float(eps),
                            "method": method,
                            "space": space,
                            "sharpness": float(value),
                            "model": describe(spec.to_dict()),
                            "params": layout.n_params,
                            "train_size": int(data.x_train.shape[0]),
                            "sharpness_examples": int(n_tr),
                            "subspace": int(cfg["subspace"]),
                            "iterations": int(cfg["iterations"]),
                            "epoch_limit": int((spec.stop or {}).get("epoch_limit", spec.epochs)),
                            "patience": int((spec.stop or {}).get("patience", 0)),
                            "rel_tol": float((spec.stop or {}).get("rel_tol", 0.0)),
                            "abs_tol": float((spec.stop or {}).get("abs_tol", 0.0)),
                        }
                    )
            done += 1
            progress.update(done, f"{spec.variant} seed {seed}")
    return sort_by_dataset(pd.DataFrame(rows), ["batch_size", "seed", "eps"])


def model_measures(
    metrics: Sequence[str],
    weights: Sequence[str],
    data: Sequence[str],
    random_labels: Sequence[str],
    data_cfg: Mapping[str, Any],
    *,
    sensitivity: Mapping[str, Any],
    sharpness: Mapping[str, Any],
    device: str = "cpu",
) -> pd.DataFrame:
    """One row per trained classifier (experiment x variant x seed of every weights file):
    its final full-set loss and accuracy on the training set it was trained on (with the
    labels it was trained on) and on the test set, the gaps (test − train loss, train − test
    accuracy), and the measures of :func:`flatness_measures` (sensitivity, ε-sharpness, top
    Hessian eigenvalue, with the same settings for every model), the parameter norm ‖θ‖₂
    and count. ``data`` / ``random_labels``: the prepared data-set files and the random-label
    files the runs were trained on."""
    files = data_files(data)
    label_files = {datasets.dataset_of_random_labels(p): p for p in random_labels}
    finals = {}
    for p in metrics:
        spec = run_meta(p)["spec"]
        df = read_parquet(p)
        key = (spec["experiment"], spec["variant"])
        finals[key] = df[df["epoch"] == spec["epochs"]].set_index(["seed", "split"])
    n_models = sum(len(run_meta(p)["spec"]["seeds"]) for p in weights)
    progress = Progress("generalization measures: models measured", n_models, interval=30.0)
    rows: list[dict[str, Any]] = []
    loaded: tuple[tuple[Any, ...], Data] | None = None

    def data_key(path: str) -> tuple[str, str, int]:
        sp = run_meta(path)["spec"]
        return sp["dataset"], sp["labels"], sp.get("train_examples") or 0

    for p in sorted(weights, key=data_key):  # each data set, labels and subset loaded once
        spec, layout, thetas = final_thetas(p)
        key = (spec.experiment, spec.variant)
        if key not in finals:
            raise KeyError(f"no metrics file of {spec.experiment}/{spec.variant} (weights {p})")
        inputs = {"data": files[spec.dataset]}
        if spec.labels == "random":
            if spec.dataset not in label_files:
                raise KeyError(f"no random-label file of {spec.dataset} among {random_labels}")
            inputs["random_labels"] = label_files[spec.dataset]
        want = (spec.dataset, spec.labels, spec.train_examples)
        if loaded is None or loaded[0] != want:
            dev = resolve_device(device)
            loaded = (want, load_data(spec, inputs, data_cfg, dev))
        tensors = loaded[1]
        fin = finals[key]
        for seed, theta in thetas.items():
            meas = flatness_measures(
                spec, layout, theta, tensors, sensitivity=sensitivity, sharpness=sharpness
            )
            train, test = fin.loc[(seed, "train")], fin.loc[(seed, "test")]
            rows.append(
                {
                    "dataset": spec.dataset,
                    "experiment": spec.experiment,
                    "variant": datasets.base_variant(spec.variant, spec.dataset),
                    "seed": int(seed),
                    "labels": spec.labels,
                    "model": describe(spec.to_dict()),
                    "batch_size": int(spec.batch_size),
                    "lr": float(spec.lr),
                    "epochs": int(spec.epochs),
                    "train_examples": int(tensors.x_train.shape[0]),
                    "train_loss": float(train["loss"]),
                    "test_loss": float(test["loss"]),
                    "train_accuracy": float(train["accuracy"]),
                    "test_accuracy": float(test["accuracy"]),
                    "loss_gap": float(test["loss"] - train["loss"]),
                    "accuracy_gap": float(train["accuracy"] - test["accuracy"]),
                    "sensitivity": meas["sensitivity"],
                    "sharpness": meas["sharpness"],
                    "top_eigenvalue": meas["top_eigenvalue"],
                    "param_norm": float(torch.linalg.vector_norm(theta.double()).item()),
                    "params": int(layout.n_params),
                }
            )
            progress.update(len(rows), f"{spec.experiment}/{spec.variant} seed {seed}")
    df = pd.DataFrame(rows)
    n_tr = int(sharpness["train_examples"] or 0)
    df.attrs = {
        "sensitivity_examples": sensitivity["test_examples"],
        "sharpness_examples": n_tr or None,
        "eps": float(sharpness["eps"]),
        "ascent_steps": int(sharpness["steps"]),
        "hessian_iters": int(sharpness["hessian_iters"]),
    }
    return df


# the row order of the measures table within each data set, whole or joined from its parts
MEASURES_ORDER = ["experiment", "variant", "seed"]


def measures_job(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`model_measures` of a job's inputs (metrics, weights, data, random_labels) and
    params (sensitivity, sharpness, data_cfg, device)."""
    df = model_measures(
        inputs["metrics"],
        inputs["weights"],
        inputs["data"],
        inputs.get("random_labels", []),
        params["data_cfg"],
        sensitivity=params["sensitivity"],
        sharpness=params["sharpness"],
        device=params["device"],
    )
    return sort_by_dataset(df, MEASURES_ORDER)


def gather_measures(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The per-experiment parts of the measures (:func:`measures_job` of each experiment's
    runs) as one table, in the order :func:`measures_job` gives all runs at once."""
    return sort_by_dataset(pd.concat(list(parts), ignore_index=True), MEASURES_ORDER)
