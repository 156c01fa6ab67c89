"""The KPI dashboard's charts (issue 20, part F), drawn on the server by matplotlib as SVG.

Each chart is shown as an image whose text alternative is the data table beside it on the page
(WCAG 2.1 1.1.1): the chart adds nothing the table does not say. The Agg backend is used (no
display); text stays text in the SVG (``svg.fonttype = none``) and is measured with the CJK
font the PDFs use (:func:`tungban.signing.pdf.stamp_font`, ``fonts-wqy-microhei``) so Chinese
labels are laid out right; ``svg.hashsalt`` makes the same figures give the same bytes.
"""

from __future__ import annotations

import functools
import io
import threading

_LOCK = threading.Lock()  # pyplot's state is per process: draw one chart at a time
COLOURS = ("#005ea5", "#b35c00", "#2e7d32", "#8e24aa", "#c62828")


@functools.cache
def _font_family() -> list[str]:
    from matplotlib import font_manager

    from tungban.core.errors import DomainError
    from tungban.signing.pdf import stamp_font

    try:
        path = stamp_font()
    except DomainError:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(path)
    return [font_manager.FontProperties(fname=path).get_name(), "DejaVu Sans"]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(
        {"svg.fonttype": "none", "svg.hashsalt": "tungban", "font.family": _font_family(), "font.size": 10}
    )
    return Figure(figsize=(7.2, 3.6), dpi=100, layout="constrained")


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "tungban"})
    return buffer.getvalue()


def bars(
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float]]],
    *,
    ylabel: str = "",
    stacked=False,
    lines: list[tuple[str, list[float | None]]] = (),
) -> str:
    """A bar chart (grouped, or stacked with ``stacked``) of ``series`` (name, one value per
    label) as an SVG document; ``lines`` (name, one value or ``None`` per label) are drawn over
    the bars as lines with markers (a ``None`` leaves a gap)."""
    with _LOCK:
        fig = _figure()
        ax = fig.add_subplot()
        count = max(len(series), 1)
        width = 0.8 if stacked else 0.8 / count
        bottoms = [0.0] * len(labels)
        for i, (name, values) in enumerate(series):
            if stacked:
                xs = list(range(len(labels)))
                ax.bar(xs, values, width, bottom=bottoms, label=name, color=COLOURS[i % len(COLOURS)])
                bottoms = [b + float(v) for b, v in zip(bottoms, values, strict=True)]
            else:
                xs = [x - 0.4 + width * (i + 0.5) for x in range(len(labels))]
                ax.bar(xs, values, width, label=name, color=COLOURS[i % len(COLOURS)])
        for j, (name, values) in enumerate(lines):
            ys = [float("nan") if v is None else float(v) for v in values]
            ax.plot(
                range(len(labels)),
                ys,
                marker="o",
                linewidth=1.5,
                color="#222222",
                label=name,
                linestyle="-" if j == 0 else "--",
            )
        ax.set_xticks(
            range(len(labels)),
            labels,
            rotation=30 if len(labels) > 6 else 0,
            ha="right" if len(labels) > 6 else "center",
        )
        ax.set_title(title)
        if ylabel:
            ax.set_ylabel(ylabel)
        if len(series) + len(lines) > 1:
            ax.legend(fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)
