"""Metric 2.1 by 10 L-BFGS-B iterations (the scaled objective of 1ac8819) at every MNIST
minimum of the keskar overlay run, full space, eps 1e-3 and 5e-4, full training set."""

import sys
import time

import pandas as pd
import torch

from hw1.analysis.sharpness import keskar_sharpness
from hw1.jobs.generalization import final_thetas, network_at, run_data
from hw1.models import flat_loss_fn

torch.set_num_threads(2)
rows = []
for run in ["mnist-small_batch", "mnist-large_batch"]:
    spec, layout, thetas = final_thetas(f"results/runs/keskar/{run}/weights.parquet")
    data = run_data(spec, "results/data/mnist.pt", {"train_size": None, "test_size": None}, "cpu")
    x, y = data.x_train, data.y_train
    for seed, theta in thetas.items():
        f = flat_loss_fn(network_at(spec, layout, theta, data))
        gen = torch.Generator().manual_seed(1000 + seed)
        for eps in (1e-3, 5e-4):
            t0 = time.time()
            v = keskar_sharpness(
                lambda t, f=f, x=x, y=y: f(t, x, y), theta, eps, iterations=10, generator=gen
            )
            rows.append({"run": run, "seed": seed, "eps": eps, "sharpness": v})
            print(run, seed, eps, v, f"{time.time() - t0:.1f}s", flush=True)
df = pd.DataFrame(rows)
df.to_csv(sys.argv[1], index=False)
print(df.groupby(["run", "eps"])["sharpness"].agg(["mean", "std"]))
