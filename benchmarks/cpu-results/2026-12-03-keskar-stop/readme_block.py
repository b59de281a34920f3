"""Print the README's Keskar run block from the finished table (numbers computed, not typed)."""

import sys

import pandas as pd

from hw1.summaries import findings as F

t = pd.read_parquet(sys.argv[1]) if sys.argv[1].endswith("parquet") else pd.read_csv(sys.argv[1])
ep = {"mnist": {}, "fashion_mnist": {}}


def g(ds, reg, space, eps, method="L-BFGS-B"):
    return t[
        (t.dataset == ds)
        & (t.regime == reg)
        & (t.space == space)
        & (t.eps == eps)
        & (t.method == method)
    ]


def pm(s, k=1.0, acc=False):
    m, d = s.mean() * k, s.std(ddof=1) * k
    if acc:
        return f"{m:.2f} ± {d:.2f}"
    f = (
        (lambda x: f"{x:.2f}")
        if abs(m) < 10
        else (lambda x: f"{x:.1f}")
        if abs(m) < 100
        else (lambda x: f"{x:.0f}")
    )
    return f"{f(m)} ± {f(d)}"


def m3(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


rows = {}
for ds in ("mnist", "fashion_mnist"):
    c = {}
    one = {r: g(ds, r, "full", 1e-3) for r in ("SB", "LB")}
    lim = int(t["epoch_limit"].iloc[0])
    e = {r: sorted(set(one[r].epochs)) for r in one}
    c["epochs"] = " , ".join(
        f"{r} {e[r][0]}" + (" (limit)" if e[r][0] >= lim else "") for r in ("SB", "LB")
    ).replace(" , ", ", ")
    c["train"] = (
        f"{one['SB'].train_accuracy.mean() * 100:.2f} / {one['LB'].train_accuracy.mean() * 100:.2f}"
    )
    c["test"] = (
        f"{pm(one['SB'].test_accuracy, 100, True)} / {pm(one['LB'].test_accuracy, 100, True)}"
    )
    for space in ("full", "subspace"):
        for eps in (1e-3, 5e-4):
            sb, lb = g(ds, "SB", space, eps).sharpness, g(ds, "LB", space, eps).sharpness
            cell = f"{pm(sb)} / {pm(lb)}"
            if space == "full":
                a_sb, a_lb = (
                    g(ds, "SB", space, eps, "projected ascent").sharpness,
                    g(ds, "LB", space, eps, "projected ascent").sharpness,
                )
                cell += f" (ascent {m3(a_sb.mean())} / {m3(a_lb.mean())})"
            c[(space, eps)] = cell
            c[("ratio", space, eps)] = lb.mean() / sb.mean()
    c["gap"] = (one["SB"].test_accuracy.mean() - one["LB"].test_accuracy.mean()) * 100
    rows[ds] = c
M, FM = rows["mnist"], rows["fashion_mnist"]
print(f"| epochs (stop rule) | – | {M['epochs']} | {FM['epochs']} |")
print(f"| training accuracy SB / LB | 99.66 ± 0.05 / 99.92 ± 0.01 | {M['train']} | {FM['train']} |")
print(f"| test accuracy SB / LB | 98.03 ± 0.07 / 97.81 ± 0.07 | {M['test']} | {FM['test']} |")
paper = {
    ("full", 1e-3): "1.23 ± 0.83 / 205.14 ± 69.52",
    ("full", 5e-4): "0.61 ± 0.27 / 42.90 ± 17.14",
    ("subspace", 1e-3): "0.11 ± 0.00 / 9.22 ± 0.56",
    ("subspace", 5e-4): "0.05 ± 0.00 / 9.17 ± 0.14",
}
for space in ("full", "subspace"):
    for eps in (1e-3, 5e-4):
        lab = "full space" if space == "full" else "subspace (n × 100 A)"
        tab = "Table 3" if space == "full" else "Table 4"
        e = "1e-3" if eps == 1e-3 else "5e-4"
        cells = f"{paper[(space, eps)]} | {M[(space, eps)]} | {FM[(space, eps)]}"
        print(f"| {lab}, ε {e}, SB / LB ({tab}) | {cells} |")
for ds, c in rows.items():
    print(
        ds,
        "ratios",
        {k[1:]: round(v, 1) for k, v in c.items() if isinstance(k, tuple) and k[0] == "ratio"},
        "gap",
        round(c["gap"], 2),
    )
for f in F.keskar_rows({"keskar": t}, {}):
    print("\n#", f.claim, "->", f.verdict)
    print(f.ours)
print(
    t[(t.method == "L-BFGS-B") & (t.space == "full") & (t.eps == 1e-3)][
        ["dataset", "regime", "seed", "epochs", "train_accuracy", "test_accuracy", "sharpness"]
    ].to_string()
)
