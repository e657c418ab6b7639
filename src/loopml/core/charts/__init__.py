"""Charts drawn as SVG on the server: the one implementation every part of loopml draws with.

The web UI asks the control plane to draw (``POST /api/v1/charts``), notebooks show them through the
objects' ``_repr_html_``, and HTML reports inline them, so a chart looks the same everywhere. Each function
returns a standalone ``<svg>`` string: text from data is escaped, colours are presentation attributes (no
stylesheet needed), legend colours are distinct, both axes carry ticks, and bars start at 0 unless the
values are too close to tell apart.

Example:
    >>> from loopml.core import charts
    >>> svg = charts.bars([charts.Bar("v1", 0.8544), charts.Bar("v2", 0.8564)], title="auc")
    >>> svg.startswith("<svg")
    True
"""

from loopml.core.charts._palette import colors
from loopml.core.charts._scale import fmt_duration, fmt_number
from loopml.core.charts.bars import Bar, bars
from loopml.core.charts.graph import Node, graph
from loopml.core.charts.heatmap import heatmap
from loopml.core.charts.line import Series, line
from loopml.core.charts.parallel import Line, parallel
from loopml.core.charts.scatter import Point, scatter

__all__ = ["Bar", "Line", "Node", "Point", "Series", "bars", "colors", "fmt_duration", "fmt_number", "graph",
           "heatmap", "line", "parallel", "scatter"]
