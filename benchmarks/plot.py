"""The bar plot (rows/s, log scale) and the accuracy / speed trade-off of the kernel scorer."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(results: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    svc = results["svc"]
    m = svc["methods"]
    bars: list[tuple[str, float, float, str]] = []  # label, single rows/s, batch rows/s, colour
    shap_c, ours_c = "#9e9e9e", "#1f77b4"
    bars.append(
        (
            "SVC proba: AzureML baseline\n(shap Kernel, 10 centroids, 2108 samples)",
            m["baseline"]["single_rows_per_s"],
            m["baseline"]["batch_rows_per_s"],
            shap_c,
        )
    )
    for k, r in m.items():
        if k.startswith(("kernel_n", "kernel_plain", "kernel_k")):
            bars.append(
                (
                    "SVC proba: " + r["label"].replace("ours kernel, n_coalitions=", "ours kernel, n="),
                    r["single_rows_per_s"],
                    r["batch_rows_per_s"],
                    ours_c,
                )
            )
    for k in ("kernel_machine_bg10", "kernel_machine_bg100"):
        r = m[k]
        bars.append(
            (
                f"SVC margin: ours kernel_machine, {r['background_rows']} bg rows",
                r["single_rows_per_s"],
                r["batch_rows_per_s"],
                "#2ca02c",
            )
        )
    for sec, name in (("tree", "GBC: {} tree"), ("linear", "LR pipeline: {} linear")):
        if sec in results:
            t = results[sec]
            bars.append(
                (name.format("shap"), t["shap"]["single_rows_per_s"], t["shap"]["batch_rows_per_s"], shap_c)
            )
            bars.append(
                (name.format("ours"), t["ours"]["single_rows_per_s"], t["ours"]["batch_rows_per_s"], ours_c)
            )

    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(17, 0.55 * len(bars) + 3), gridspec_kw={"width_ratios": [1.25, 1]}
    )
    y = list(range(len(bars)))[::-1]
    h = 0.38
    ax1.barh(
        [v + h / 2 for v in y],
        [b[1] for b in bars],
        height=h,
        color=[b[3] for b in bars],
        label="one row per call",
    )
    ax1.barh(
        [v - h / 2 for v in y],
        [b[2] for b in bars],
        height=h,
        color=[b[3] for b in bars],
        alpha=0.5,
        hatch="//",
        label="one batch call",
    )
    for v, b in zip(y, bars, strict=True):
        ax1.text(b[1] * 1.1, v + h / 2, f"{b[1]:.3g}", va="center", fontsize=7)
        ax1.text(b[2] * 1.1, v - h / 2, f"{b[2]:.3g}", va="center", fontsize=7)
    ax1.set_yticks(y)
    ax1.set_yticklabels([b[0] for b in bars], fontsize=8)
    ax1.set_xscale("log")
    ax1.set_xlabel(
        "rows explained per second (log scale; grey = shap, blue = ours, green = ours in margin space)"
    )
    ax1.legend(loc="lower right", fontsize=8)
    ax1.set_title("Throughput, same machine, same run")

    # accuracy vs cost: the cost axis is model evaluations per row (hybrid rows), which is what the
    # kernel methods' time is proportional to (ours runs at its floor), and is immune to machine load
    sweep = svc.get("sweep", [])
    colours = {}
    for k, anchored in sorted(
        {(s["background_k"], bool(s.get("anchored"))) for s in sweep}, key=lambda t: (-t[1], t[0])
    ):
        pts = sorted(
            (s for s in sweep if s["background_k"] == k and bool(s.get("anchored")) == anchored),
            key=lambda s: s["n_coalitions"],
        )
        xs = [k * s["n_coalitions"] for s in pts]
        (line,) = ax2.plot(
            xs,
            [s["mae"] for s in pts],
            "o-" if anchored else "o--",
            color=colours.get(k),
            alpha=1.0 if anchored else 0.45,
            label=f"ours kernel, {k} centroids, {'anchored' if anchored else 'plain'} (n_coalitions marked)",
        )
        colours[k] = line.get_color()
        for x, s in zip(xs, pts, strict=True):
            ax2.annotate(
                str(s["n_coalitions"]), (x, s["mae"]), fontsize=6, xytext=(3, 3), textcoords="offset points"
            )
    b = m["baseline"]
    x_base = b["model_evals_per_row"]
    ax2.plot([x_base], [b["mae"]], "*", color="k", markersize=14, label="AzureML baseline (l1_reg='auto')")
    for key, mark in (("baseline_l1_false", "x"), ("baseline_num_features10", "+")):
        ax2.plot([x_base], [m[key]["mae"]], mark, color="k", markersize=10, label=m[key]["label"])
    ax2.axhline(
        svc["background_summary_mae"],
        color="r",
        ls=":",
        lw=1,
        label="error of the 10-centroid summary itself",
    )
    ax2.axvline(x_base / 10, color="grey", ls="--", lw=1, label="10x fewer evaluations than the baseline")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("model evaluations per explained row (background rows x coalitions)")
    ax2.set_ylabel("MAE vs full-background reference (positive class)")
    ax2.set_title("SVC probability space: accuracy vs cost")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
