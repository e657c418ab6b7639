"""Drawing charts for the web UI: the browser sends the figures it already read and gets SVG back, drawn by
:mod:`loopml.core.charts` — the code that draws every chart of loopml (notebooks, reports), so nothing is
drawn twice. Nothing is read or written: any role that may read may draw."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from loopml.api._shapes import Body
from loopml.api.auth import Principal, authorize
from loopml.core import charts
from loopml.errors import ValidationError

router = APIRouter(tags=["charts"])
Caller = Annotated[Principal, Depends(authorize)]

Number = Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]
Text = Annotated[str, Field(max_length=300)]
Href = Annotated[str, Field(pattern=r"^#/[A-Za-z0-9_.:@=&?%/\-]{0,500}$", description="A page of the UI.")]
Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Value = Number | Annotated[str, Field(max_length=200)] | bool | None
Unit = Literal["", "s", "ms", "%"]


class SeriesIn(Body):
    name: Text
    points: list[tuple[Number, Number | None]] = Field(max_length=5000)
    color: Color | None = None


class LineChart(Body):
    """Lines over steps, values or time (``x_time``: x is epoch seconds)."""

    kind: Literal["line"]
    title: Text = ""
    series: list[SeriesIn] = Field(max_length=100)
    x_label: Text = ""
    y_label: Text = ""
    x_time: bool = False
    y_unit: Unit = ""
    width: int = Field(560, ge=200, le=1600)
    height: int = Field(220, ge=80, le=800)

    def draw(self) -> str:
        if self.x_time and any(not 0 <= p[0] <= 253402300799 for s in self.series for p in s.points):
            raise ValidationError("with x_time, x values are epoch seconds between 0 and 253402300799")
        series = [charts.Series(s.name, s.points, s.color) for s in self.series]
        return charts.line(series, title=self.title, x_label=self.x_label, y_label=self.y_label, x_time=self.x_time,
                           y_unit=self.y_unit, width=self.width, height=self.height)


class BarIn(Body):
    label: Text
    value: Number
    color: Color | None = None
    href: Href | None = None
    low: Number | None = None
    high: Number | None = None
    note: Text = ""


class BarChart(Body):
    """Horizontal bars (from 0 unless the values are too close to tell apart)."""

    kind: Literal["bars"]
    title: Text = ""
    items: list[BarIn] = Field(max_length=500)
    unit: Unit = ""
    each_color: bool = False
    width: int = Field(560, ge=200, le=1600)

    def draw(self) -> str:
        items = [charts.Bar(**b.model_dump()) for b in self.items]
        return charts.bars(items, title=self.title, unit=self.unit, each_color=self.each_color, width=self.width)


class PointIn(Body):
    x: Value
    y: Value
    label: Text
    group: Text = ""
    href: Href | None = None


class ScatterChart(Body):
    """Points of any two parameters or metrics (numbers or names)."""

    kind: Literal["scatter"]
    title: Text = ""
    points: list[PointIn] = Field(max_length=5000)
    x_label: Text
    y_label: Text
    width: int = Field(560, ge=200, le=1600)

    def draw(self) -> str:
        points = [charts.Point(**p.model_dump()) for p in self.points]
        return charts.scatter(points, x_label=self.x_label, y_label=self.y_label, title=self.title, width=self.width)


class LineIn(Body):
    name: Text
    values: list[Value] = Field(max_length=50)
    href: Href | None = None


class ParallelChart(Body):
    """Parallel coordinates: one axis per parameter or metric, one line per run."""

    kind: Literal["parallel"]
    title: Text = ""
    axes: list[Text] = Field(min_length=1, max_length=50)
    lines: list[LineIn] = Field(max_length=1000)
    width: int = Field(760, ge=200, le=1600)

    def draw(self) -> str:
        lines = [charts.Line(ln.name, ln.values, ln.href) for ln in self.lines]
        return charts.parallel(self.axes, lines, title=self.title, width=self.width)


class NodeIn(Body):
    id: Text
    label: Text
    sub: Text = ""
    fill: Color = "#ffffff"
    href: Href | None = None
    note: Text = ""


class GraphChart(Body):
    """A DAG drawn left to right."""

    kind: Literal["graph"]
    title: Text = ""
    nodes: list[NodeIn] = Field(max_length=300)
    edges: list[tuple[Text, Text]] = Field(max_length=1000)

    def draw(self) -> str:
        return charts.graph([charts.Node(**n.model_dump()) for n in self.nodes], self.edges, title=self.title)


#: Told apart by ``kind`` (a plain union: its OpenAPI ``anyOf`` stays cheap for schema-driven fuzzers).
Chart = LineChart | BarChart | ScatterChart | ParallelChart | GraphChart


class ChartRequest(Body):
    """The charts to draw, in order."""

    charts: list[Chart] = Field(min_length=1, max_length=30)


class Drawn(BaseModel):
    """One ``<svg>`` document per requested chart, in the same order."""

    svgs: list[str]


@router.post("/charts", response_model=Drawn, summary="Draw charts as SVG from the figures sent")
def draw(body: ChartRequest, caller: Caller) -> Drawn:
    return Drawn(svgs=[chart.draw() for chart in body.charts])
