"""The dataset -> table -> gold graph of the report: nodes, edges with each edge's last
batch and rows (from ``ops.batch_log``), drawn as one inline SVG (no script).

Pure: the batch log rows come in as plain values (:func:`lakehouse.lineage.section` reads
them). An edge's last batch is the newest batch of the dataset whose ``versions_written``
names the edge's target table; its rows are the rows that batch promoted (``rows_out``),
or quarantined (``rows_quarantined``) for an edge into a quarantine table.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lakehouse.platform import Platform

__all__ = ["Edge", "Node", "lineage_edges", "lineage_nodes", "lineage_svg"]

COLUMN_W, NODE_W, NODE_H, GAP, PAD = 250, 180, 28, 16, 20
LAYERS = ("source", "bronze", "silver", "gold")


@dataclass(frozen=True)
class Node:
    name: str  # a table's catalog name, or "source:<dataset>"
    label: str
    layer: str  # one of LAYERS
    dataset: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    job: str | None = None
    batch_id: int | None = None
    rows: int | None = None
    finished_ts: datetime | None = None

    @property
    def label(self) -> str:
        if self.batch_id is None:
            return "no batch yet"
        return f"batch {self.batch_id} · {self.rows} rows"


def lineage_nodes(platform: Platform) -> list[Node]:
    """Every dataset's source and tables, in declaration order."""
    nodes = []
    for name, t in platform.datasets.items():
        nodes += [
            Node(f"source:{name}", f"{name} (source)", "source", name),
            Node(t.bronze.name, t.bronze.name, "bronze", name),
            Node(t.silver.name, t.silver.name, "silver", name),
            Node(t.quarantine.name, t.quarantine.name, "silver", name),
            *(Node(g.name, g.name, "gold", name) for _, g, _ in t.gold),
        ]
    return nodes


def _job_of(job: str, layer: str) -> bool:
    """Whether ``job`` is the stream job of ``layer`` (``silver``, or ``bronze-<source>``),
    not a command that changed the table (``sql:...``, erasure, retention)."""
    return job == layer or job.startswith(f"{layer}-")


def lineage_edges(platform: Platform, batches: Iterable[Mapping[str, Any]]) -> list[Edge]:
    """The edges of every dataset with their last batch; ``batches`` are batch log rows
    (``dataset``, ``job``, ``batch_id``, ``finished_ts``, ``rows_out``,
    ``rows_quarantined``, ``versions_written``). An edge into a layer counts the batches of
    that layer's stream job only."""
    edges = []
    for name, t in platform.datasets.items():
        pairs = [
            (f"source:{name}", t.bronze.name, "bronze"),
            (t.bronze.name, t.silver.name, "silver"),
            (t.bronze.name, t.quarantine.name, "silver"),
            *((t.silver.name, g.name, "gold") for _, g, _ in t.gold),
        ]
        for source, target, layer in pairs:
            wrote = [
                b
                for b in batches
                if b["dataset"] == name
                and _job_of(b["job"], layer)
                and target in (b.get("versions_written") or {})
            ]
            if not wrote:
                edges.append(Edge(source, target))
                continue
            hit = max(wrote, key=lambda b: (b["finished_ts"], b["batch_id"]))
            column = "rows_quarantined" if target == t.quarantine.name else "rows_out"
            edges.append(
                Edge(source, target, hit["job"], hit["batch_id"], hit[column], hit["finished_ts"])
            )
    return edges


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _positions(nodes: Sequence[Node]) -> tuple[dict[str, tuple[float, float]], float]:
    """The top-left corner of each node: a column per layer, a band per dataset."""
    where: dict[str, tuple[float, float]] = {}
    top = float(PAD + 16)
    for dataset in dict.fromkeys(n.dataset for n in nodes):
        band = [n for n in nodes if n.dataset == dataset]
        tallest = 0
        for column, layer in enumerate(LAYERS):
            stacked = [n for n in band if n.layer == layer]
            for i, n in enumerate(stacked):
                where[n.name] = (PAD + column * COLUMN_W, top + i * (NODE_H + GAP))
            tallest = max(tallest, len(stacked))
        top += tallest * (NODE_H + GAP) + GAP
    return where, top


def lineage_svg(nodes: Sequence[Node], edges: Sequence[Edge]) -> str:
    """The graph as one ``<svg>`` element: ``g.node`` (``data-node``) and ``g.edge``
    (``data-source``, ``data-target``, ``data-batch``, ``data-rows``) with text labels."""
    where, height = _positions(nodes)
    width = PAD * 2 + (len(LAYERS) - 1) * COLUMN_W + NODE_W
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" data-chart="lineage" '
        f'viewBox="0 0 {width} {height:.0f}" width="{width}" height="{height:.0f}" role="img" '
        'aria-label="Lineage: dataset to tables to gold"><title>Lineage</title>',
        *(
            f'<text x="{PAD + i * COLUMN_W}" y="{PAD}" class="ctitle">{layer}</text>'
            for i, layer in enumerate(LAYERS)
        ),
    ]
    for e in edges:
        if e.source not in where or e.target not in where:
            continue
        (x1, y1), (x2, y2) = where[e.source], where[e.target]
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H / 2, y2 + NODE_H / 2
        batch = "" if e.batch_id is None else f' data-batch="{e.batch_id}" data-rows="{e.rows}"'
        out.append(
            f'<g class="edge" data-source="{_e(e.source)}" data-target="{_e(e.target)}"{batch}>'
            f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="#888"/>'
            f'<text x="{(x1 + x2) / 2:.0f}" y="{(y1 + y2) / 2 - 4:.0f}" class="axis" '
            f'text-anchor="middle">{_e(e.label)}</text></g>'
        )
    for n in nodes:
        x, y = where[n.name]
        out.append(
            f'<g class="node" data-node="{_e(n.name)}" data-layer="{n.layer}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="4" '
            'fill="#f3f6fb" stroke="#1f77b4"/>'
            f'<text x="{x + 8:.0f}" y="{y + 18:.0f}" class="axis">{_e(n.label)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)
